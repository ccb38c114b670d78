"""The fine-tuned variant's options and factory, shared by every pretrained plugin (torch-free)."""

from __future__ import annotations

from typing import Callable

FINETUNE_OPTIONS = {"weights": None, "epochs": 1, "max_steps": 100, "max_seconds": 600}


def finetuned(make_backbone: Callable, *, seed: int, profile: str, options: dict, progress=None):
    """Under ``paper`` the full ``epochs``; otherwise (the CPU profile) bounded by steps and seconds."""
    from zoo_plugins.backbone import FineTuned

    bounded = profile != "paper"
    return FineTuned(make_backbone, seed=seed, lr=1e-5, head_lr=1e-3, batch_size=8, epochs=int(options["epochs"]),
                     max_steps=int(options["max_steps"]) if bounded else None,
                     max_seconds=float(options["max_seconds"]) if bounded else None, progress=progress)
