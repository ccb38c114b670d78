"""What a running job offers a training loop: a checkpoint place keyed by the job, and per-epoch metrics.

The runner opens a :class:`JobContext` around ``fit()``; a plugin reaches it with :func:`current`
(None outside ``zoo eval``, e.g. under the test kit, where nothing is saved). A training loop
saves its state at every epoch boundary with :meth:`JobContext.save`, and at the start of
``fit()`` takes it back with :meth:`JobContext.load`: a job that was killed or stopped resumes from
its last finished epoch when ``zoo eval`` is run again. The checkpoint is deleted once the run is
recorded as ok (or unavailable); after a failure it is kept, so a rerun resumes.

Finished training outlives its job (:func:`finished_path`): a model trained with the same recipe and
seed on the same data by another job (a standalone ``cnn`` run and the same net as an ensemble's
member) is taken instead of trained again. ``zoo eval --force`` trains afresh.

torch-free: the state is whatever the plugin hands over; plugins/shared/checkpoint.py saves torch state.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from zoo import Split

_CURRENT: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("zoo_job", default=None)


@dataclass
class JobContext:
    key: str  # the job key: the same configuration on the same data
    folder: Path  # <checkpoint root>/<key>/ (checkpoint_root)
    log: Callable[[dict[str, float], int], None]  # metrics at a step (epoch), shown as curves by MLflow
    part: str = ""  # a model trained inside the job (an ensemble's member): its own checkpoint and metrics
    reuse: bool = True  # finished training stored by other jobs may stand in (not under --force)
    # each part's epochs logged so far (shared with the parts' contexts): a checkpoint keeps them, so a
    # resumed job's run draws the whole training curve, not only the epochs after the resume
    history: dict[str, list[tuple[int, dict[str, float]]]] = field(default_factory=dict)
    saved_at: float = field(default_factory=time.monotonic)  # the last checkpoint (or the job's start)
    checkpoint_every: float = field(default_factory=lambda: checkpoint_seconds())  # read once a job, not each step

    @property
    def checkpoint(self) -> Path:
        return self.folder / (f"checkpoint-{self.part}.pt" if self.part else "checkpoint.pt")

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Per-epoch metrics (e.g. ``train_loss``, ``valid_spearman``), logged while the job runs."""
        self.history.setdefault(self.part, []).append((epoch, metrics))
        self.log({f"{self.part}_{k}" if self.part else k: v for k, v in metrics.items()}, epoch)


def current() -> JobContext | None:
    """The job being fitted in this process, or None (no checkpoints, no per-epoch metrics)."""
    return _CURRENT.get()


CHECKPOINT_DIR = "ZOO_CHECKPOINT_DIR"  # where epoch checkpoints go when they must outlive the cache
CHECKPOINT_SECONDS = "ZOO_CHECKPOINT_SECONDS"  # how often a long epoch is checkpointed inside itself
DEFAULT_CHECKPOINT_SECONDS = 600.0


def checkpoint_seconds() -> float:
    """``ZOO_CHECKPOINT_SECONDS`` (default 600): a training loop that can save inside an epoch does so
    when that long has passed since its last checkpoint, so a stop loses at most that much of an
    epoch that takes 16-26 minutes (UniRep-256 on stability and fluorescence, one CPU core) or hours."""
    from zoo import ZooError

    raw = os.environ.get(CHECKPOINT_SECONDS, "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_CHECKPOINT_SECONDS
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ZooError(
            f"{CHECKPOINT_SECONDS}={raw!r} is not a number of seconds. Fix: set it to 0 or more "
            f"(e.g. {CHECKPOINT_SECONDS}=600), or unset it for the default, {DEFAULT_CHECKPOINT_SECONDS:.0f}."
        )
    return value


def checkpoint_root() -> Path:
    """``ZOO_CHECKPOINT_DIR``, or ``<cache>/checkpoints``. A separate place because a long training may
    outlive its machine: the checkpoints (not the cache's embeddings and trained nets) can then be kept in
    a repository or on a durable volume, and the job resumes wherever that folder is found again."""
    from zoo.cache import cache_dir

    override = os.environ.get(CHECKPOINT_DIR)
    return Path(override) if override else cache_dir() / "checkpoints"


def checkpoint_folder(key: str) -> Path:
    return checkpoint_root() / key


def finished_path(recipe: str, splits: Sequence[Split]) -> Path:
    """Where a finished training of ``recipe`` (which names the seed) on exactly these splits is kept:
    ``<cache>/trained/<digest of the recipe, the sequences and the targets>.pt``."""
    from zoo.cache import cache_dir

    digest = hashlib.sha256(recipe.encode())
    for split in splits:
        digest.update("\n".join(split.sequences).encode())
        digest.update(np.ascontiguousarray(split.targets, dtype=np.float64).tobytes())
    return cache_dir() / "trained" / f"{digest.hexdigest()[:32]}.pt"


@contextlib.contextmanager
def job(key: str, log: Callable[[dict[str, float], int], Any], reuse: bool = True) -> Iterator[JobContext]:
    """Make ``key`` the current job for the block (the runner wraps ``fit()`` in it); ``reuse=False``
    (``--force``) trains even where another job's finished training is stored."""
    context = JobContext(key, checkpoint_folder(key), log, reuse=reuse)
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def part(name: str) -> Iterator[None]:
    """Inside the block, checkpoints and per-epoch metrics belong to the part ``name`` of the current job
    (``checkpoint-<name>.pt``, ``<name>_epoch_valid_spearman``): an ensemble resumes member by member."""
    parent = current()
    if parent is None:
        yield
        return
    token = _CURRENT.set(dataclasses.replace(parent, part=name))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def discard(key: str) -> None:
    """Delete a job's checkpoints (its run is recorded)."""
    shutil.rmtree(checkpoint_folder(key), ignore_errors=True)
