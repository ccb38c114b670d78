"""Read task data in TAPE's LMDB and JSON formats (the zoo's CSV layout is :mod:`zoo.taskfile`).

Every reader validates what it returns: an error names the file, the row and
the fix, because a silent NaN or a stray character would poison a benchmark.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

from zoo import Split
from zoo.taskfile import SPLITS, DataError, check_records, read_csv

__all__ = ["SPLITS", "DataError", "check_records", "read_csv", "read_lmdb", "read_json", "overlap_notes"]


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """TAPE's LMDB records are pickled dicts of str, int and numpy arrays; allow nothing else."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return super().find_class(module, name)


def _unpickle(blob: bytes) -> Any:
    return _NumpyOnlyUnpickler(io.BytesIO(blob)).load()


def read_lmdb(path: str | Path, target_key: str) -> Split:
    """One TAPE LMDB split (``data_pytorch/<task>/<task>_<split>.lmdb``)."""
    import lmdb

    path = Path(path)
    data_file = path / "data.mdb" if path.is_dir() else path
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=path.is_dir())
    except lmdb.Error as exc:
        raise DataError(
            f"{path}: cannot be opened as an LMDB database ({exc}). "
            f"Fix: delete it so it is downloaded again, or restore it."
        ) from exc
    # LMDB maps the file: reading a page past the end of a truncated file kills the process with
    # SIGBUS, which no except clause catches. The header says how many pages the data uses.
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    if os.path.getsize(data_file) < needed:
        env.close()
        raise DataError(
            f"{data_file}: truncated: {os.path.getsize(data_file):,} bytes, but its header says the "
            f"data uses {needed:,}. Fix: delete it so it is downloaded again, or restore it."
        )
    try:
        with env.begin() as txn:
            header = txn.get(b"num_examples")
            if header is None:
                raise DataError(
                    f"{path}: has no 'num_examples' record, so it is not one of TAPE's LMDB splits. "
                    f"Fix: point the task at TAPE's <task>_<split>.lmdb files."
                )
            count = _unpickle(header)

            def records():
                for i in range(count):
                    blob = txn.get(str(i).encode())
                    if blob is None:
                        raise DataError(
                            f"{path}: record {i} of {count} is missing. Fix: the database is "
                            f"incomplete; delete it so it is downloaded again."
                        )
                    item = _unpickle(blob)
                    if target_key not in item or "primary" not in item:
                        raise DataError(
                            f"{path}: record {i} has keys {sorted(item)}, expected 'primary' and "
                            f"{target_key!r}. Fix: this is not the file for this task."
                        )
                    yield f"record {i}", item["primary"], item[target_key]

            return check_records(records(), str(path))
    except (pickle.UnpicklingError, TypeError, EOFError, lmdb.Error) as exc:
        raise DataError(
            f"{path}: a record cannot be decoded ({exc}). Fix: the database is damaged; "
            f"delete it so it is downloaded again."
        ) from exc
    finally:
        env.close()


def read_json(path: str | Path, target_key: str) -> Split:
    """One TAPE JSON split (``data_raw_pytorch/<task>/<task>_<split>.json``): a list of records."""
    path = Path(path)
    try:
        items = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as JSON ({exc}). Fix: restore the file from its source.") from exc
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a JSON list of records, found {type(items).__name__}.")
    records = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or target_key not in item or "primary" not in item:
            raise DataError(
                f"{path}: record {i} lacks 'primary' or {target_key!r}. Fix: this is not the file for this task."
            )
        records.append((f"record {i}", item["primary"], item[target_key]))
    return check_records(records, str(path))


def overlap_notes(splits: dict[str, Split]) -> list[str]:
    """Report duplicates inside train and sequences shared across splits; never drop them silently."""
    notes = []
    train = splits["train"].sequences
    dupes = len(train) - len(set(train))
    if dupes:
        notes.append(f"train has {dupes} duplicate sequences (kept as in the source)")
    seen = set(train)
    for other in ("valid", "test"):
        shared = len(seen.intersection(splits[other].sequences))
        if shared:
            notes.append(f"{shared} train sequences also appear in {other} (kept as in the source)")
    return notes
