"""Saving and restoring a torch training loop at epoch boundaries, through the running job's
checkpoint place (zoo.training): one mechanism for the CNN and the fine-tuned pretrained models.
A loop whose epochs are long also saves inside an epoch when :func:`due` says so.

A checkpoint holds the network, the optimizer, both random generators, the epoch, the step count,
the best-on-valid state, the epochs' logged metrics (logged again into the resuming run, so it has
the whole curve) and a fingerprint of the recipe; a checkpoint of another recipe is ignored. Every file
ends with the SHA-256 of what it saves: one that fails it (a damaged disk, a copy cut short, bytes
overwritten) is discarded with a one-line warning and training starts over, rather than resuming from
weights that are not the ones saved. Loaded with ``weights_only=True``.

A finished training is kept too (:func:`save_finished`), keyed by recipe, seed and data, so that
another job training the same thing takes it (:func:`load_finished`) instead of training again.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from zoo import Split, training
from zoo.files import atomic_path


def fingerprint(recipe: dict[str, Any]) -> str:
    return json.dumps(recipe, sort_keys=True, default=str)


# ``best_state`` when the best epoch is the last one: those weights are already in the checkpoint, and a
# checkpoint carried from machine to machine (ZOO_CHECKPOINT_DIR) is then a quarter smaller
BEST_IS_LAST = "the weights saved with this epoch"


def save(state: dict[str, Any], rng: np.random.Generator, weights: str = "model") -> None:
    """Save ``state`` (tensors, numbers, strings) plus both random generators; no-op outside zoo eval.
    ``state[weights]`` holds the network's weights; a state saved inside an epoch has ``position``."""
    context = training.current()
    if context is None:
        return
    at_epoch_end = "position" not in state  # saved inside an epoch, the weights have moved past the best's
    if at_epoch_end and state.get("best_state") is not None and state.get("best_epoch") == state.get("epoch"):
        state = {**state, "best_state": BEST_IS_LAST}
    full = {
        **state,
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "torch_rng": torch.get_rng_state(),
        "epoch_metrics": json.dumps(context.history.get(context.part, [])),
    }
    write(full, context.checkpoint)
    context.saved_at = time.monotonic()


SEAL = b"\nzoo-sha256:"  # then the hex digest of everything before the seal


def write(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` of ``state``, sealed with its SHA-256, written atomically (a kill mid-save leaves
    the previous file whole)."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload + SEAL + hashlib.sha256(payload).hexdigest().encode())


def read(path: Path, what: str) -> dict[str, Any] | None:
    """What :func:`write` saved at ``path``, or None, with one line on stderr, when the file is damaged."""
    try:
        data = path.read_bytes()
        payload, seal, digest = data.rpartition(SEAL)
        if not seal:
            raise ValueError("it has no checksum (written by another version, or cut short)")
        if hashlib.sha256(payload).hexdigest().encode() != digest:
            raise ValueError("its checksum does not match what it holds")
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged: train from the start rather than fail the job or resume wrongly
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        print(f"zoo: warning: {what} {path} is damaged ({reason}); discarded, {_AGAIN[what]}", file=sys.stderr)
        path.unlink(missing_ok=True)
        return None


_AGAIN = {"checkpoint": "training starts over", "stored training": "training again"}


def due() -> bool:
    """Whether a loop that can save inside an epoch should do so now: ZOO_CHECKPOINT_SECONDS have passed
    since the job's last checkpoint (or its start). Always False outside zoo eval."""
    context = training.current()
    return context is not None and time.monotonic() - context.saved_at >= context.checkpoint_every


def load(recipe: str, rng: np.random.Generator, weights: str = "model") -> dict[str, Any] | None:
    """The saved state for this recipe, with both random generators restored; None to start afresh."""
    context = training.current()
    if context is None or not context.checkpoint.exists():
        return None
    state = read(context.checkpoint, "checkpoint")
    if state is None or state.get("recipe") != recipe:
        return None
    if isinstance(state.get("best_state"), str):  # BEST_IS_LAST
        state["best_state"] = copy.deepcopy(state[weights])
    rng.bit_generator.state = json.loads(state["numpy_rng"])
    torch.set_rng_state(state["torch_rng"])
    for epoch, metrics in json.loads(state.get("epoch_metrics", "[]")):  # none in checkpoints made before
        context.log_epoch(epoch, metrics)
    return state


def log_epoch(epoch: int, metrics: dict[str, float]) -> None:
    context = training.current()
    if context is not None:
        context.log_epoch(epoch, {k: float(v) for k, v in metrics.items() if np.isfinite(v)})


def load_finished(recipe: str, train: Split, valid: Split) -> dict[str, Any] | None:
    """What :func:`save_finished` stored for this recipe and data (another job trained it), or None."""
    context = training.current()
    if context is None or not context.reuse:
        return None
    path = training.finished_path(recipe, (train, valid))
    if not path.exists():
        return None
    state = read(path, "stored training")
    return state if state is not None and state.get("recipe") == recipe else None


def save_finished(recipe: str, train: Split, valid: Split, state: dict[str, Any]) -> None:
    """Keep a finished training (the final weights and what it reports) for other jobs; no-op outside zoo eval."""
    if training.current() is None:
        return
    path = training.finished_path(recipe, (train, valid))
    write({**state, "recipe": recipe}, path)
