"""protein-zoo: the plugin host.

The host knows no model and no dataset. Plugins register them through the
hooks in :mod:`zoo.hookspecs`; only numpy arrays and plain Python cross the
boundary (:class:`Split`, :class:`TaskData`, :class:`Model`). Importing this
package must stay cheap: no torch, no mlflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence, runtime_checkable

import numpy as np
import pluggy

__version__ = "0.1.0"

PROJECT = "protein_zoo"
ALPHABET = "ACDEFGHIKLMNPQRSTVWY"  # the 20 standard amino acids: the one copy every module uses
hookimpl = pluggy.HookimplMarker(PROJECT)


class ZooError(Exception):
    """An error the user can act on: the message names the problem and the fix."""


class Unavailable(ZooError):
    """Raised by a model factory when the model cannot run here (no weights, no GPU).

    The runner records the job as ``unavailable`` with this message as the reason.
    """


@dataclass(frozen=True)
class Split:
    """One split of a task: sequences and their float targets."""

    sequences: list[str]
    targets: np.ndarray

    def __post_init__(self) -> None:
        targets = np.asarray(self.targets, dtype=np.float64)
        if targets.shape != (len(self.sequences),):
            raise ValueError(f"Split has {len(self.sequences)} sequences but targets of shape {targets.shape}")
        object.__setattr__(self, "targets", targets)

    def __len__(self) -> int:
        return len(self.sequences)

    def subset(self, index: Sequence[int] | np.ndarray) -> "Split":
        index = np.asarray(index, dtype=int)
        return Split([self.sequences[i] for i in index], self.targets[index])


@dataclass(frozen=True)
class TaskData:
    """What a task factory returns: three splits plus provenance.

    ``files`` maps each file read to its sha256; ``notes`` carries data-quality
    remarks (duplicates, count mismatches) that the leaderboard must show.
    """

    train: Split
    valid: Split
    test: Split
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class Model(Protocol):
    """What a model factory returns."""

    params: dict  # hyperparameters and choices to record (as ``hp.*`` params); may be empty

    def fit(self, train: Split, valid: Split) -> None: ...

    def predict(self, sequences: Sequence[str]) -> np.ndarray: ...


__all__ = [
    "ALPHABET",
    "PROJECT",
    "Model",
    "Split",
    "TaskData",
    "Unavailable",
    "ZooError",
    "hookimpl",
]
