"""What every pretrained plugin shares (torch-free): the fine-tuned variant's options and factory,
and the registration of a frozen + fine-tuned pair."""

from __future__ import annotations

from typing import Callable

from zoo.contract import Option

from .device import GPU_JOB
from .precision import OPTION as PRECISION

WEIGHTS = Option(None, str, help="weights file or folder; a path named here that cannot be used is an error")
FINETUNE_OPTIONS = {
    "weights": WEIGHTS,
    "epochs": Option(20, int, minimum=1, help="at most this many whole epochs (paper profile)"),
    "patience": Option(3, int, minimum=1, help="stop after this many epochs without a better valid Spearman"),
    "max_steps": Option(100, int, minimum=1),
    "max_seconds": Option(600.0, float, above=0),
    "precision": PRECISION,
}
PROFILES = {"profiles": ("default", "paper"), "clip_profiles": ("paper",)}


def register_pair(
    register: Callable,
    name: str,
    make_frozen: Callable,
    make_finetuned: Callable,
    *,
    batch_size: int,
    frozen_description: str,
    finetune_description: str,
    **meta,
) -> None:
    """``name`` (frozen embeddings + ridge head) and ``name-finetune``, with the same metadata
    (``parameters``, ``availability``, ...)."""
    register(
        name,
        make_frozen,
        pretrained=True,
        resources=GPU_JOB,
        deterministic=True,
        approach="frozen",
        description=frozen_description,
        options={"weights": WEIGHTS, "batch_size": Option(batch_size, int, minimum=1)},
        **PROFILES,
        **meta,
    )
    register(
        f"{name}-finetune",
        make_finetuned,
        pretrained=True,
        resources=GPU_JOB,
        approach="fine-tuned",
        description=finetune_description,
        options=FINETUNE_OPTIONS,
        **PROFILES,
        **meta,
    )


def finetuned(make_backbone: Callable, *, seed: int, profile: str, options: dict, progress=None, lr: float = 1e-5):
    """Under ``paper`` whole epochs to convergence (early stopping on valid: at most ``epochs``, stopped
    after ``patience`` epochs without a better valid Spearman); otherwise (the CPU profile) bounded by
    steps and seconds."""
    from .backbone import FineTuned

    bounded = profile != "paper"
    return FineTuned(
        make_backbone,
        seed=seed,
        lr=lr,
        head_lr=1e-3,
        batch_size=8,
        epochs=int(options["epochs"]),
        patience=int(options.get("patience") or 3),
        max_steps=int(options["max_steps"]) if bounded else None,
        max_seconds=float(options["max_seconds"]) if bounded else None,
        progress=progress,
        precision=str(options.get("precision") or "fp32"),
    )
