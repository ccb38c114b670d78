"""Write-then-rename, the one copy: a reader (or a rerun after a kill) never sees half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a unique temporary name beside ``path``; once the block succeeds it is renamed to ``path``
    (readable by all: ``mode``). On an error the temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    if path.is_dir():
        from zoo import ZooError

        raise ZooError(f"{path} is a folder. Fix: give a file name, e.g. {path / 'README.md'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix + ".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


def clean_leftovers(folder: str | Path, pattern: str = ".*.part") -> int:
    """Remove temporary files a killed writer left behind; returns how many."""
    removed = 0
    for leftover in Path(folder).glob(pattern):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed
