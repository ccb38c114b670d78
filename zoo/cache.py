"""The user cache directory and the shared embedding cache (numpy only).

Embeddings are keyed by the model's identity (its name plus a hash of its weights) and each
sequence's hash. They live in shards of ``.npz`` files under
``<cache>/embeddings/<identity>/``. Each shard is written to a temporary name and renamed into
place, so a killed writer never leaves a shard half written. Each shard carries a checksum of
its values, so a damaged one is detected, deleted and recomputed.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def cache_dir() -> Path:
    """``ZOO_CACHE_DIR``, or the platform's user cache directory (platformdirs)."""
    override = os.environ.get("ZOO_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("protein-zoo"))


def check_folder(folder: Path, variable: str) -> None:
    """Before any compute: ``folder`` (where ``variable`` points, or its default) can be made and written
    in. Otherwise a job would fail only when it first saves there, after minutes of training."""
    import tempfile

    from zoo import ZooError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        where = f"{variable}={folder}" if os.environ.get(variable) else f"{folder} (the default; {variable} is unset)"
        reason = "it is a file" if folder.is_file() else exc.strerror or str(exc)
        raise ZooError(
            f"{where}: cannot make that folder or write in it ({reason}). "
            f"Fix: point {variable} at a folder you can write to."
        ) from exc


def sequence_key(sequence: str) -> str:
    return hashlib.blake2b(sequence.encode(), digest_size=16).hexdigest()


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum(values: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).hexdigest()


class EmbeddingCache:
    def __init__(self, identity: str, root: str | Path | None = None):
        self.identity = identity
        self.folder = Path(root or cache_dir() / "embeddings") / identity
        self.corrupt: list[str] = []  # shards found damaged (and deleted) while loading
        self._known: dict[str, np.ndarray] | None = None  # shards read once per cache object

    def _load(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for shard in sorted(self.folder.glob("shard-*.npz")):
            try:
                with np.load(shard, allow_pickle=False) as z:
                    keys, values, check = z["keys"], z["values"], str(z["checksum"])
                if len(keys) != len(values) or _checksum(values) != check:
                    raise ValueError("checksum mismatch")
            except Exception as exc:  # truncated, garbled or tampered: recompute its rows
                warnings.warn(
                    f"embedding cache shard {shard} is damaged ({exc}); deleting it, its rows are recomputed",
                    stacklevel=2,
                )
                self.corrupt.append(shard.name)
                shard.unlink(missing_ok=True)
                continue
            found.update(zip(keys.tolist(), values))
        return found

    def _write(self, keys: list[str], values: np.ndarray) -> None:
        import uuid

        from zoo.files import atomic_path

        with atomic_path(self.folder / f"shard-{uuid.uuid4().hex[:12]}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys), values=values, checksum=np.array(_checksum(values)))

    def put(self, sequences: Sequence[str], values: np.ndarray) -> None:
        """Store values computed elsewhere (a second output of the same forward pass); known rows are kept."""
        if self._known is None:
            self._known = self._load()
        fresh = {}
        for seq, value in zip(sequences, np.asarray(values, dtype=np.float32)):
            key = sequence_key(seq)
            if key not in self._known:
                fresh[key] = value
        if fresh:
            self._write(list(fresh), np.stack(list(fresh.values())))
            self._known.update(fresh)

    def get(
        self,
        sequences: Sequence[str],
        compute: Callable[[list[str]], np.ndarray],
        shard_size: int = 1024,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embeddings of ``sequences`` in order; only the ones not cached are computed, in
        chunks of ``shard_size`` that are each saved as soon as they are done.
        ``progress(done, total)`` counts the sequences computed."""
        keys = [sequence_key(s) for s in sequences]
        if self._known is None:
            self._known = self._load()
        known = self._known
        missing: dict[str, str] = {}
        for key, seq in zip(keys, sequences):
            if key not in known:
                missing.setdefault(key, seq)
        todo = sorted(missing.items(), key=lambda kv: len(kv[1]))  # similar lengths share a shard
        self.computed = len(todo)
        for start in range(0, len(todo), shard_size):
            chunk = todo[start : start + shard_size]
            values = np.asarray(compute([seq for _, seq in chunk]), dtype=np.float32)
            self._write([k for k, _ in chunk], values)
            known.update(zip((k for k, _ in chunk), values))
            if progress:
                progress(start + len(chunk), len(todo))
        return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)
