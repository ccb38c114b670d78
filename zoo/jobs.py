"""What a job is: (model, task, seed, train size) with its resume key, its outcome, and the train and
selection subsets a job at a training size sees."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import Split

MIN_SELECTION = 8  # valid rows a low-N job may use for model selection, at least


@dataclass(frozen=True)
class Job:
    model: str
    task: str
    seed: int
    profile: str
    clip: bool
    options: tuple[tuple[str, Any], ...] = ()
    train_size: int | None = None  # None: the whole train split
    plugin: str = ""
    plugin_version: str = ""
    source: str = ""  # the name the user gave when a plugin resolved it (hf:org/model); not part of the key
    revision: int = 0  # of the recipe the profile resolves to on the task (ModelSpec.revisions)

    @property
    def name(self) -> str:
        size = f"/n{self.train_size}" if self.train_size is not None else ""
        return f"{self.model}/{self.task}/seed{self.seed}{size}"

    def key(self, data_fingerprint: str) -> str:
        """Identity for resume: the same plugin's model, configuration and data files mean the same result."""
        parts = [
            self.model,
            self.task,
            self.seed,
            self.profile,
            self.clip,
            self.options,
            data_fingerprint,
            self.train_size,
            self.plugin,
            self.plugin_version,
        ]
        if self.revision:  # appended only when raised: the keys of unrevised recipes stay as they were
            parts.append(self.revision)
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def nested_subset(split: Split, n: int, seed: int = 0) -> Split:
    """The first ``n`` of one seeded permutation: smaller training sets are subsets of larger ones,
    and every model sees the same sequences at each size."""
    return split.subset(_first(len(split), n, seed))


def _first(length: int, n: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).permutation(length)[:n])


def selection_rows(valid_rows: int, train_size: int | None, seed: int) -> np.ndarray:
    """Which valid rows a job may use to choose hyperparameters, epochs or alpha.

    On the full train split: all of valid. At a training size N: a seeded subset of about N/4 rows
    (at least MIN_SELECTION), the same for every model, so thousands of labels never choose the
    hyperparameters of a model trained on N = 24 (docs/models.md, "Selection budget")."""
    if train_size is None:
        return np.arange(valid_rows)
    size = min(valid_rows, max(MIN_SELECTION, math.ceil(train_size / 4)))
    return _first(valid_rows, size, seed + 1_000_003)  # another stream than the training subset's


def selection_split(valid: Split, train_size: int | None, seed: int) -> Split:
    """The selection split itself (:func:`selection_rows`)."""
    return valid if train_size is None else valid.subset(selection_rows(len(valid), train_size, seed))


@dataclass
class Outcome:
    job: Job
    status: str  # ok | failed | unavailable | skipped
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    run_id: str | None = None
