"""The zoo's task file: one (optionally gzipped) CSV with ``sequence,target,split``.

A public helper for task plugins (``from zoo.taskfile import read_csv``): it reads the file and
validates every row, and an error names the file, the line and the fix, because a silent NaN, a
stray character or a mislabelled split would poison a benchmark.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from zoo import ALPHABET, Split, ZooError

SPLITS = ("train", "valid", "test")
AMINO_ACIDS = frozenset(ALPHABET)


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
        # one number: a scalar or a one-element array (TAPE's LMDB keeps targets so); never the first of
        # several values, and never a boolean read as 1.0
        items = np.asarray(target, dtype=object).reshape(-1)
        try:
            value = math.nan if items.size != 1 or isinstance(items[0], (bool, np.bool_)) else float(items[0])
        except (TypeError, ValueError):
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
    if not path.is_file():  # a FIFO or a device would block read_csv forever
        raise DataError(f"{path}: not a regular file. Fix: point the task at the CSV file itself.")
    try:
        frame = pd.read_csv(path, dtype={"sequence": str, "split": str}, keep_default_na=True)
    except Exception as exc:  # pandas raises many types for truncated or garbled files
        raise DataError(
            f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc}). "
            f"Fix: the file is damaged or truncated; restore it from its source."
        ) from exc
    missing = [c for c in ("sequence", "target", "split") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}. "
            f"Fix: the file needs the header sequence,target,split."
        )
    labels = frame["split"].fillna("(empty)").astype(str)
    unknown = sorted(set(labels) - set(SPLITS))
    if unknown:
        first = int(np.flatnonzero(~labels.isin(SPLITS))[0]) + 2
        raise DataError(
            f"{path}: split labels {', '.join(map(repr, unknown))} (first on line {first}) are not "
            f"train, valid or test; rows with them would be left out. Fix: label every row train, "
            f"valid or test (lowercase, no spaces)."
        )
    out = {}
    for split in SPLITS:
        rows = frame.index[frame["split"] == split]
        # row numbers as a person sees them in the file: line 1 is the header
        records = ((f"line {i + 2}", frame.at[i, "sequence"], frame.at[i, "target"]) for i in rows)
        if len(rows) == 0:
            raise DataError(
                f"{path}: split {split!r} is empty (splits found: "
                f"{', '.join(sorted(map(str, frame['split'].dropna().unique())))}). "
                f"Fix: the split column must use train, valid and test."
            )
        out[split] = check_records(records, str(path))
    return out
