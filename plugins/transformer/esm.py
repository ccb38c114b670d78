"""ESM protein language models (fair-esm): frozen embeddings + ridge, and fine-tuned.

Weights are looked for, in order: ``-o weights=PATH`` (a fair-esm ``.pt`` checkpoint),
``$ZOO_ESM_DIR/<name>.pt``, torch hub's checkpoint folder (where fair-esm keeps its downloads),
and finally fair-esm's official download URL. When none works the job ends "unavailable" with
the reason; nothing crashes.
"""

from __future__ import annotations

import os
from functools import lru_cache, partial
from pathlib import Path

from zoo import Unavailable, ZooError, hookimpl

from ..shared.variants import register_pair

URL = "https://dl.fbaipublicfiles.com/fair-esm/models/{name}.pt"
# official name -> (parameters, layers, the zoo's model name); parameter counts are those of
# fair-esm's own architectures, contact head included (tests/test_pretrained.py recounts two)
MODELS = {
    "esm2_t6_8M_UR50D": (7_512_474, 6, "esm2-8m"),
    "esm2_t12_35M_UR50D": (33_501_394, 12, "esm2-35m"),
    "esm2_t30_150M_UR50D": (148_140_154, 30, "esm2-150m"),
    "esm2_t33_650M_UR50D": (651_043_254, 33, "esm2-650m"),
    "esm1b_t33_650M_UR50S": (652_359_094, 33, "esm1b-650m"),
}


def _torch_load(path: Path):
    import argparse

    import torch

    # fair-esm checkpoints pickle their config as an argparse.Namespace; allow exactly that
    torch.serialization.add_safe_globals([argparse.Namespace])
    return torch.load(str(path), map_location="cpu", weights_only=True)


def hub_checkpoint(name: str) -> Path:
    """Where fair-esm's downloads land: torch hub's checkpoints folder, found as torch finds it
    ($TORCH_HOME/hub, default ~/.cache/torch/hub) without importing torch."""
    home = os.environ.get("TORCH_HOME") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "torch"
    return Path(home) / "hub" / "checkpoints" / f"{name}.pt"


def local_candidates(name: str) -> list[Path]:
    found = [Path(os.environ["ZOO_ESM_DIR"]) / f"{name}.pt"] if os.environ.get("ZOO_ESM_DIR") else []
    return found + [hub_checkpoint(name)]


def availability(name: str) -> str:
    local = next((p for p in local_candidates(name) if p.exists()), None)
    return f"ready ({local})" if local else f"downloads {URL.format(name=name)} on first use (needs network)"


def locate(name: str, options: dict) -> Path:
    """The checkpoint file for ``name``, downloading it if it is nowhere local."""
    if options.get("weights"):  # a file the user named: missing is their error to fix, not "unavailable"
        path = Path(options["weights"])
        if not path.is_file():
            raise ZooError(
                f"-o weights={path}: no such file. Fix: give the path of a fair-esm {name}.pt "
                f"checkpoint, or drop the option to use $ZOO_ESM_DIR or the download."
            )
        return path
    try:
        import esm  # noqa: F401
        import torch
    except ImportError:
        raise Unavailable("fair-esm is not installed: pip install fair-esm") from None
    candidates = local_candidates(name)
    for path in candidates:
        if path.exists():
            return path
    hub = candidates[-1]
    url = URL.format(name=name)
    try:
        hub.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(hub), progress=True)
    except Exception as exc:  # offline, DNS, HTTP errors: all mean the same to the user
        hub.unlink(missing_ok=True)
        raise Unavailable(
            f"weights unavailable: {name} is not in {', '.join(map(str, candidates))} and downloading {url} failed "
            f"({type(exc).__name__}: {str(exc)[:120]}). Put {name}.pt in $ZOO_ESM_DIR or pass -o weights=PATH."
        ) from None
    return hub


def load_model(name: str, path: Path, explicit: bool = False):
    """A fair-esm model and alphabet from a local checkpoint, without the contact-regression file
    that ``load_model_and_alphabet_local`` insists on (contacts are not used here). A file the user
    named (``explicit``) that cannot be used is an error; a cached one is "unavailable"."""
    import esm

    try:
        data = _torch_load(path)
        return esm.pretrained.load_model_and_alphabet_core(name, data, None)
    except Exception as exc:
        why = f"{path} is not a loadable {name} checkpoint ({type(exc).__name__}: {str(exc)[:160]})"
        if explicit:
            raise ZooError(f"-o weights: {why}. Fix: give a fair-esm checkpoint saved with weights only.") from None
        raise Unavailable(f"weights unavailable: {why}") from None


@lru_cache(maxsize=8)
def identity(name: str, path: Path) -> str:
    from zoo.cache import file_digest

    return f"{name}-{file_digest(path)[:16]}"


def make_frozen(name: str, *, task, seed, profile, options, progress=None):
    from ..shared.frozen import frozen_model

    path = locate(name, options)

    def make_backbone():
        from .esm_net import ESMBackbone

        return ESMBackbone(*load_model(name, path, bool(options.get("weights"))))

    return frozen_model(identity(name, path), make_backbone, options, progress)


def make_finetuned(name: str, *, task, seed, profile, options, progress=None):
    from ..shared.variants import finetuned

    path = locate(name, options)
    load_model(name, path, bool(options.get("weights")))  # fail now, as unavailable, rather than inside fit()

    def make_backbone():
        from .esm_net import ESMBackbone

        return ESMBackbone(*load_model(name, path, bool(options.get("weights"))))

    return finetuned(make_backbone, seed=seed, profile=profile, options=options, progress=progress)


@hookimpl
def register_models(register):
    for name, (parameters, layers, short) in MODELS.items():
        register_pair(
            register,
            short,
            partial(make_frozen, name),
            partial(make_finetuned, name),
            batch_size=16,
            parameters=parameters,
            availability=partial(availability, name),
            frozen_description=f"ESM {name} frozen mean embedding (last of {layers} layers) + ridge head",
            finetune_description=f"ESM {name} fine-tuned end to end (CPU profile: bounded steps)",
        )
