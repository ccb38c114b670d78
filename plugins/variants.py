"""What every pretrained plugin shares (torch-free): the fine-tuned variant's options and factory,
and the registration of a frozen + fine-tuned pair."""

from __future__ import annotations

from typing import Callable

from zoo_plugins.device import GPU_JOB

FINETUNE_OPTIONS = {"weights": None, "epochs": 1, "max_steps": 100, "max_seconds": 600}


def register_pair(register: Callable, name: str, make_frozen: Callable, make_finetuned: Callable, *,
                  batch_size: int, frozen_description: str, finetune_description: str, **meta) -> None:
    """``name`` (frozen embeddings + ridge head) and ``name-finetune``, with the same metadata
    (``parameters``, ``availability``, ...)."""
    register(name, make_frozen, pretrained=True, resources=GPU_JOB, deterministic=True,
             trainable_parameters="head only", description=frozen_description,
             options={"weights": None, "batch_size": batch_size}, **meta)
    register(f"{name}-finetune", make_finetuned, pretrained=True, resources=GPU_JOB,
             description=finetune_description, options=FINETUNE_OPTIONS, **meta)


def finetuned(make_backbone: Callable, *, seed: int, profile: str, options: dict, progress=None):
    """Under ``paper`` the full ``epochs``; otherwise (the CPU profile) bounded by steps and seconds."""
    from zoo_plugins.backbone import FineTuned

    bounded = profile != "paper"
    return FineTuned(make_backbone, seed=seed, lr=1e-5, head_lr=1e-3, batch_size=8, epochs=int(options["epochs"]),
                     max_steps=int(options["max_steps"]) if bounded else None,
                     max_seconds=float(options["max_seconds"]) if bounded else None, progress=progress)
