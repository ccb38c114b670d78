"""Read task data from the zoo's CSV layout and TAPE's LMDB and JSON formats.

Every reader validates what it returns: an error names the file, the row and
the fix, because a silent NaN or a stray character would poison a benchmark.
"""

from __future__ import annotations

import io
import json
import math
import pickle
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from zoo import Split, ZooError

SPLITS = ("train", "valid", "test")
AMINO_ACIDS = frozenset("ACDEFGHIKLMNPQRSTVWY")


class DataError(ZooError):
    pass


def check_records(records: Iterable[tuple[str, Any, Any]], source: str) -> Split:
    """Validate ``(row label, sequence, target)`` triples and build a Split."""
    sequences: list[str] = []
    targets: list[float] = []
    for row, seq, target in records:
        where = f"{source}: {row}"
        if not isinstance(seq, str) or not seq:
            raise DataError(f"{where}: the sequence is missing or empty. Fix: drop the row or fill in the sequence.")
        bad = next((i for i, c in enumerate(seq) if c not in AMINO_ACIDS), None)
        if bad is not None:
            raise DataError(
                f"{where}: sequence has {seq[bad]!r} at position {bad + 1}, outside the 20 standard "
                f"amino acids (uppercase, no gaps, stops or whitespace). Fix: correct or drop that row."
            )
        try:
            value = float(np.asarray(target, dtype=np.float64).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"{where}: target is {target}, not a finite number. Fix: correct or drop that row.")
        sequences.append(seq)
        targets.append(value)
    if not sequences:
        raise DataError(f"{source}: the split is empty. Fix: point the task at the full data file.")
    return Split(sequences, np.asarray(targets))


def read_csv(path: str | Path) -> dict[str, Split]:
    """The zoo's layout: one (optionally gzipped) CSV with ``sequence,target,split``."""
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"sequence": str, "split": str}, keep_default_na=True)
    except Exception as exc:  # pandas raises many types for truncated or garbled files
        raise DataError(f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc}). "
                        f"Fix: the file is damaged or truncated; restore it from its source.") from exc
    missing = [c for c in ("sequence", "target", "split") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}. "
                        f"Fix: the file needs the header sequence,target,split.")
    out = {}
    for split in SPLITS:
        rows = frame.index[frame["split"] == split]
        # row numbers as a person sees them in the file: line 1 is the header
        records = ((f"line {i + 2}", frame.at[i, "sequence"], frame.at[i, "target"]) for i in rows)
        if len(rows) == 0:
            raise DataError(f"{path}: split {split!r} is empty (splits found: "
                            f"{', '.join(sorted(map(str, frame['split'].dropna().unique())))}). "
                            f"Fix: the split column must use train, valid and test.")
        out[split] = check_records(records, str(path))
    return out


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """TAPE's LMDB records are pickled dicts of str, int and numpy arrays; allow nothing else."""

    ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
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
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, subdir=path.is_dir())
    except lmdb.Error as exc:
        raise DataError(f"{path}: cannot be opened as an LMDB database ({exc}). "
                        f"Fix: delete it so it is downloaded again, or restore it.") from exc
    try:
        with env.begin() as txn:
            count = _unpickle(txn.get(b"num_examples"))

            def records():
                for i in range(count):
                    blob = txn.get(str(i).encode())
                    if blob is None:
                        raise DataError(f"{path}: record {i} of {count} is missing. Fix: the database is "
                                        f"incomplete; delete it so it is downloaded again.")
                    item = _unpickle(blob)
                    if target_key not in item or "primary" not in item:
                        raise DataError(f"{path}: record {i} has keys {sorted(item)}, expected 'primary' and "
                                        f"{target_key!r}. Fix: this is not the file for this task.")
                    yield f"record {i}", item["primary"], item[target_key]

            return check_records(records(), str(path))
    except (pickle.UnpicklingError, TypeError, lmdb.Error) as exc:
        raise DataError(f"{path}: a record cannot be decoded ({exc}). Fix: the database is damaged; "
                        f"delete it so it is downloaded again.") from exc
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
            raise DataError(f"{path}: record {i} lacks 'primary' or {target_key!r}. Fix: this is not the "
                            f"file for this task.")
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
