"""The host's checks on what plugins hand it: a model object, its predictions, a task's data.

One copy of each rule: the runner applies them to every job, and the plugin authors' test kit
(:mod:`zoo.testing`) applies the same functions, so a plugin that passes its tests is accepted.
Errors name the plugin to blame and the fix.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo import ALPHABET, Split, TaskData, ZooError

MIN_SCORED = 3  # rows a valid or test split needs for a rank correlation to mean anything
_LETTERS = frozenset(ALPHABET)


def check_model_object(model: Any, who: str) -> Any:
    """The object a factory returned has ``fit``, ``predict`` and ``params`` (the Model protocol)."""
    missing = [m for m in ("fit", "predict") if not callable(getattr(model, m, None))]
    if not isinstance(getattr(model, "params", None), dict):
        missing.append("params (a dict, may be empty)")
    if missing:
        raise ZooError(
            f"{who}: the factory returned {type(model).__name__}, which lacks {', '.join(missing)}. "
            f"Fix the plugin's factory: a model has fit(train, valid), predict(sequences) and params."
        )
    return model


def check_predictions(pred: Any, n: int, who: str) -> np.ndarray:
    """A real, finite numpy array of shape (n,), returned as float64."""
    if not isinstance(pred, np.ndarray):
        raise ZooError(
            f"{who}: predict() returned {type(pred).__name__}, not a numpy array. "
            f"Fix the plugin's predict(): return np.asarray(...)."
        )
    if not (np.issubdtype(pred.dtype, np.floating) or np.issubdtype(pred.dtype, np.integer)):
        raise ZooError(f"{who}: predict() returned dtype {pred.dtype}, not real numbers. Fix the plugin's predict().")
    if pred.shape != (n,):
        raise ZooError(
            f"{who}: predict() returned shape {pred.shape} for {n} sequences; expected ({n},). "
            f"Fix the plugin's predict()."
        )
    arr = pred.astype(np.float64)
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise ZooError(
            f"{who}: predict() returned {bad} NaN or infinite values. Fix the plugin (diverged "
            f"training? an option out of range?)."
        )
    return arr


def check_task_data(data: Any, who: str) -> TaskData:
    """Every split present, non-empty, finite, of the 20 amino acids; valid and test scoreable.

    Returns the data with host notes added (sequences the models may see cut)."""
    if not isinstance(data, TaskData):
        raise ZooError(f"{who}: the factory returned {type(data).__name__}, not zoo.TaskData. Fix the task plugin.")
    for name in ("train", "valid", "test"):
        split = getattr(data, name)
        if not isinstance(split, Split) or len(split) == 0:
            raise ZooError(f"{who}: the {name} split is empty. Fix the task's data: every split needs rows.")
        if not np.isfinite(split.targets).all():
            count = int((~np.isfinite(split.targets)).sum())
            raise ZooError(
                f"{who}: {count} {name} targets are NaN or infinite. Fix the task's data (drop or "
                f"correct those rows); models are not to blame."
            )
        for i, seq in enumerate(split.sequences):
            if not isinstance(seq, str) or not seq or not _LETTERS.issuperset(seq):
                raise ZooError(
                    f"{who}: {name} sequence {i} ({str(seq)[:30]!r}) is empty or has letters outside "
                    f"the 20 standard amino acids {ALPHABET}. Fix the task's data."
                )
        if name != "train" and (len(split) < MIN_SCORED or np.ptp(split.targets) == 0):
            raise ZooError(
                f"{who}: the {name} split has {len(split)} rows with "
                f"{len(np.unique(split.targets))} distinct targets; it needs at least {MIN_SCORED} rows "
                f"and differing targets to be scored by Spearman. Fix the task's data."
            )
    notes = list(data.notes) + length_notes(data)
    return TaskData(data.train, data.valid, data.test, files=dict(data.files), notes=notes)


def length_notes(data: TaskData) -> list[str]:
    """Say when valid or test holds sequences longer than every train sequence: a model that pads
    to the training length (linear's one-hot) sees only their first positions."""
    longest = max(map(len, data.train.sequences))
    notes = []
    for name in ("valid", "test"):
        split: Split = getattr(data, name)
        longer = sum(len(s) > longest for s in split.sequences)
        if longer:
            notes.append(
                f"{longer} {name} sequences are longer than the longest train sequence ({longest}); "
                f"fixed-length models (linear) use only their first {longest} positions"
            )
    return notes
