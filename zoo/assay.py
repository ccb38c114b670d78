"""An assay file is a task: ``zoo eval --task path/to/assay.csv`` and ``ZOO_TASKS_DIR``.

Accepted columns (a header is required; ``.csv`` or ``.csv.gz``):

- ``sequence,target[,split]``: full sequences;
- ``mutant,target[,split]``: mutation codes such as ``A42G`` or ``A42G:L50P`` (1-based positions)
  applied to a wild type, given by ``--wild-type FASTA`` (or ``<name>.fasta`` beside a file in
  ``ZOO_TASKS_DIR``), or by a row whose ``mutant`` is ``WT`` or empty and whose ``sequence`` holds
  it. Every mutation is checked against the wild-type residue at its position.

Without a ``split`` column the rows are split 80/10/10 at random (seed 0), or with
``--split positions`` by mutated position: positions are drawn into train, valid and test, and a
variant with any test position is tested, so no test position is ever seen in training (the
harder, more honest split for single-mutant scans). The split rule is part of the data digest, so
changing it, or editing the file, reruns the file's jobs.

Every error names the file, the line and the fix. The task is named after the file.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from zoo import ALPHABET, TaskData, ZooError, hookimpl
from zoo.taskfile import SPLITS, DataError, check_records

ACCEPTED = ("sequence", "mutant", "target", "split")
# other names for the same columns, as DMS files (ProteinGym's among them) spell them
SCORES = ("target", "DMS_score", "score", "fitness")
SEQUENCES = ("sequence", "mutated_sequence")
IGNORED = ("DMS_score_bin",)  # ProteinGym's binarised score: not a second target
FOLDS = re.compile(r"fold_\w+")  # ProteinGym's cross-validation fold columns: not used by a single split
SPLIT_RULES = ("random", "positions")
PLUGIN = "assay-files"
MUTATION = re.compile(r"([A-Z])(\d+)([A-Z*])")
ENV_FOLDER = "ZOO_TASKS_DIR"


def is_assay_path(text: str) -> bool:
    return text.endswith((".csv", ".csv.gz")) and Path(text).is_file()


def task_name(path: Path) -> str:
    stem = path.name.removesuffix(".gz").removesuffix(".csv").lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", stem).strip("-._")[:64] or "assay"


def read_fasta(path: str | Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: the wild-type FASTA does not exist. Fix: give the path of a FASTA file.")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    records = sum(line.startswith(">") for line in lines)
    if records > 1:  # joining them would make one long, wrong wild type
        raise DataError(
            f"{path}: the wild-type FASTA holds {records} records; a wild type is one sequence. "
            f"Fix: keep the wild type's record only."
        )
    sequence = "".join(line for line in lines if not line.startswith(">")).upper()
    if not sequence or set(sequence) - set(ALPHABET):
        raise DataError(f"{path}: not one protein sequence of the 20 standard amino acids. Fix: one FASTA record.")
    return sequence


def apply(wild_type: str, code: str, where: str) -> tuple[str, list[int]]:
    """The variant for ``A42G:L50P`` and its mutated (0-based) positions; errors name ``where``."""
    sequence = list(wild_type)
    positions = []
    for part in code.replace(";", ":").split(":"):
        match = MUTATION.fullmatch(part.strip())
        if not match:
            raise DataError(
                f"{where}: mutation {part!r} is not like A42G (wild-type residue, 1-based position, "
                f"new residue). Fix: write the codes as A42G or A42G:L50P."
            )
        old, pos, new = match.group(1), int(match.group(2)), match.group(3)
        if not 1 <= pos <= len(wild_type):
            raise DataError(
                f"{where}: position {pos} in {part!r} is outside the wild type (length {len(wild_type)}). "
                f"Fix: positions are 1-based and must fit the wild type."
            )
        if wild_type[pos - 1] != old:
            raise DataError(
                f"{where}: {part!r} says position {pos} is {old}, but the wild type has "
                f"{wild_type[pos - 1]} there. Fix: check the wild type (--wild-type) and the numbering."
            )
        if new not in ALPHABET:
            what = "a stop codon" if new == "*" else f"{new!r}, not one of the 20 amino acids"
            raise DataError(
                f"{where}: {part!r} introduces {what}, which no model here can read. Fix: drop that "
                f"row (nonsense variants are usually filtered before modelling)."
            )
        if pos - 1 in positions:  # the later code would silently win
            raise DataError(
                f"{where}: {code!r} mutates position {pos} twice. Fix: give each position at most one "
                f"mutation per variant."
            )
        sequence[pos - 1] = new
        positions.append(pos - 1)
    return "".join(sequence), positions


def load(
    path: str | Path, *, wild_type: str | None = None, split: str | None = None, data_dir: str | None = None
) -> TaskData:
    """Read, check and split one assay file (``split``: None for the file's split column, else random)."""
    import pandas as pd

    path = Path(path)
    if split is not None and split not in SPLIT_RULES:
        raise ZooError(f"--split {split}: choose one of {', '.join(SPLIT_RULES)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file. Fix: give the path of the assay CSV.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise DataError(f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc}). Fix: save it as CSV.") from exc
    columns = [c.strip() for c in frame.columns]
    frame.columns = columns
    frame = _canonical(frame, path)
    columns = list(frame.columns)
    unknown = [c for c in columns if c not in ACCEPTED]
    if unknown or "target" not in columns or not ({"sequence", "mutant"} & set(columns)):
        raise DataError(
            f"{path}: columns {', '.join(columns)}; "
            + (f"unknown: {', '.join(unknown)}. " if unknown else "")
            + "Fix: use sequence,target[,split] or mutant,target[,split] (with --wild-type FASTA or a WT row); "
            "the score may be called target, DMS_score, score or fitness, and the sequence mutated_sequence."
        )
    sequences, positions = _sequences(frame, path, wild_type)
    targets = []
    for i, value in enumerate(frame["target"]):
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            raise DataError(
                f"{path}: line {i + 2}: target {value!r} is not a finite number. Fix: correct or drop the row."
            )
        targets.append(number)
    seen: dict[str, int] = {}
    for i, seq in enumerate(sequences):
        if seq in seen:
            raise DataError(
                f"{path}: line {i + 2} repeats the variant of line {seen[seq] + 2}. Fix: keep one row per "
                f"variant (average replicates first)."
            )
        seen[seq] = i
    labels, rule = _labels(frame, path, split, positions)
    parts = {}
    for name in SPLITS:
        index = [i for i, label in enumerate(labels) if label == name]
        parts[name] = check_records(((f"line {i + 2}", sequences[i], targets[i]) for i in index), str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    files = {str(path): digest, f"split:{rule}": hashlib.sha256(rule.encode()).hexdigest()}
    if wild_type is not None:
        files[f"wild type {wild_type}"] = hashlib.sha256(read_fasta(wild_type).encode()).hexdigest()
    return TaskData(parts["train"], parts["valid"], parts["test"], files=files, notes=[f"split: {rule}"])


def _canonical(frame, path: Path):
    """The file's columns under the zoo's names: its score column as ``target``, ``mutated_sequence`` as
    ``sequence``; ProteinGym's binarised score and fold columns set aside. Two columns for one role are
    refused: which one to use is the user's to say."""
    renames = {}
    for role, names in (("target", SCORES), ("sequence", SEQUENCES)):
        found = [c for c in names if c in frame.columns]
        if len(found) > 1:
            raise DataError(f"{path}: columns {' and '.join(found)} would both be the {role}. Fix: keep one of them.")
        if found and found[0] != role:
            renames[found[0]] = role
    kept = [c for c in frame.columns if c not in IGNORED and not FOLDS.fullmatch(c)]
    return frame[kept].rename(columns=renames)


def _implied_wild_type(codes: list[str], given: list[str], path: Path) -> str:
    """The wild type that every row's codes and full sequence imply (each code reverted in its sequence);
    a row whose code its sequence contradicts, or that implies another wild type, is refused."""
    wild_type = ""
    first = 0
    for i, (code, sequence) in enumerate(zip(codes, given)):
        reverted = list(sequence)
        for part in code.replace(";", ":").split(":"):
            match = MUTATION.fullmatch(part.strip())
            if not match:
                raise DataError(f"{path}: line {i + 2}: mutation {part!r} is not like A42G. Fix: write it as A42G.")
            old, pos, new = match.group(1), int(match.group(2)), match.group(3)
            if not 1 <= pos <= len(sequence) or sequence[pos - 1] != new:
                found = sequence[pos - 1] if 1 <= pos <= len(sequence) else "nothing"
                raise DataError(
                    f"{path}: line {i + 2}: {part!r} puts {new} at position {pos}, but its sequence has {found} "
                    f"there. Fix: correct the code or the sequence."
                )
            reverted[pos - 1] = old
        implied = "".join(reverted)
        if not wild_type:
            wild_type, first = implied, i
        elif implied != wild_type:
            at = next(
                (k + 1 for k, (a, b) in enumerate(zip(implied, wild_type)) if a != b), min(len(implied), len(wild_type))
            )
            raise DataError(
                f"{path}: line {i + 2}: its code and sequence imply a wild type that differs from line "
                f"{first + 2}'s at position {at}. Fix: correct the row, or give --wild-type FASTA."
            )
    return wild_type


def _sequences(frame, path: Path, wild_type: str | None) -> tuple[list[str], list[list[int]]]:
    if "mutant" not in frame.columns:
        return [str(s).strip() for s in frame["sequence"]], [[] for _ in range(len(frame))]
    codes = [str(c).strip() for c in frame["mutant"]]
    wt_rows = [i for i, c in enumerate(codes) if c.upper() in ("", "WT")]
    given = [str(s).strip().upper() for s in frame["sequence"]] if "sequence" in frame.columns else [""] * len(codes)
    if wild_type is not None:
        wt = read_fasta(wild_type)
        for i in wt_rows:
            if given[i] and given[i] != wt:
                raise DataError(
                    f"{path}: line {i + 2}: the WT row's sequence ({len(given[i])} residues) differs from "
                    f"--wild-type {wild_type}. Fix: make them agree, or drop the sequence from the WT row."
                )
    elif wt_rows and "sequence" in frame.columns and str(frame["sequence"].iloc[wt_rows[0]]).strip():
        wt = str(frame["sequence"].iloc[wt_rows[0]]).strip().upper()
    elif given and all(given) and not wt_rows:  # full sequences beside their codes (ProteinGym's layout)
        wt = _implied_wild_type(codes, given, path)
    else:
        raise DataError(
            f"{path}: mutation codes need a wild type. Fix: pass --wild-type FASTA, or add a row whose "
            f"mutant is WT with the wild-type sequence in a sequence column."
        )
    out: list[str] = []
    positions: list[list[int]] = []
    for i, code in enumerate(codes):
        if i in wt_rows:
            out.append(wt)
            positions.append([])
        else:
            variant, where = apply(wt, code, f"{path}: line {i + 2}")
            if given[i] and given[i] != variant:
                raise DataError(
                    f"{path}: line {i + 2}: the sequence column holds {_short(given[i])}, but {code!r} gives "
                    f"{_short(variant)}. Fix: correct the code or the sequence (or leave the sequence empty)."
                )
            out.append(variant)
            positions.append(where)
    return out, positions


def _short(sequence: str) -> str:
    return sequence if len(sequence) <= 24 else f"{sequence[:10]}…{sequence[-10:]} ({len(sequence)} residues)"


def _labels(frame, path: Path, split: str | None, positions: list[list[int]]) -> tuple[list[str], str]:
    if "split" in frame.columns and split is not None:
        raise DataError(
            f"{path} has a split column, so --split {split} would be ignored. Fix: drop the split column, "
            f"or drop --split."
        )
    if "split" in frame.columns:
        labels = [str(s) for s in frame["split"]]
        unknown = sorted(set(labels) - set(SPLITS))
        if unknown:
            raise DataError(
                f"{path}: split labels {', '.join(map(repr, unknown))} are not train, valid or test. "
                f"Fix: label every row train, valid or test, or drop the split column."
            )
        return labels, "the file's split column"
    rng = np.random.default_rng(0)
    if split in (None, "random"):
        draw = rng.random(len(frame))
        return ["train" if d < 0.8 else "valid" if d < 0.9 else "test" for d in draw], "random 80/10/10 (seed 0)"
    mutated = sorted({p for ps in positions for p in ps})
    if len(mutated) < 10:
        raise DataError(
            f"{path}: --split positions needs mutation codes at 10 or more positions; found "
            f"{len(mutated)}. Fix: use --split random."
        )
    shuffled = rng.permutation(mutated)
    cut_test, cut_valid = max(1, round(0.1 * len(shuffled))), max(1, round(0.1 * len(shuffled)))
    test, valid = set(shuffled[:cut_test].tolist()), set(shuffled[cut_test : cut_test + cut_valid].tolist())
    labels = []
    for ps in positions:
        labels.append("test" if test & set(ps) else "valid" if valid & set(ps) else "train")
    return labels, "held-out positions 80/10/10 (seed 0): no test position in train"


def register(registry: Any, path: str | Path, *, wild_type: str | None = None, split: str | None = None) -> str:
    """Make the file a task of ``registry`` (anything with ``tasks`` and ``registrar``); returns its name."""
    from zoo import __version__

    name = task_name(Path(path))
    if name in registry.tasks and registry.tasks[name].plugin != PLUGIN:
        raise ZooError(
            f"the assay file {Path(path).resolve()} would be task {name!r}, which plugin "
            f"{registry.tasks[name].plugin!r} already provides. Fix: rename the file."
        )
    if name in registry.tasks and registry.tasks[name].spec.url != str(Path(path).resolve()):
        raise ZooError(
            f"{registry.tasks[name].spec.url} and {Path(path).resolve()} would both be task {name!r} (a task is "
            f"named after its file). Fix: rename one of them."
        )
    return _add(registry.registrar(PLUGIN, __version__, "task"), path, wild_type=wild_type, split=split)


def _add(register: Callable[..., None], path: str | Path, *, wild_type: str | None, split: str | None = None) -> str:
    path = Path(path).resolve()
    name = task_name(path)
    register(
        name,
        partial(load, path, wild_type=wild_type, split=split),
        description=f"assay file {path.name}",
        source="a user's assay file",
        url=str(path),
    )
    return name


@hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    """``ZOO_TASKS_DIR``: every ``*.csv`` / ``*.csv.gz`` in that folder is a task (a ``<name>.fasta`` beside
    one is its wild type)."""
    folder = os.environ.get("ZOO_TASKS_DIR")
    if not folder:
        return
    if not Path(folder).is_dir():
        raise ZooError(f"ZOO_TASKS_DIR={folder} is not a folder. Fix: point it at a folder of assay CSV files.")
    for path in sorted(Path(folder).glob("*.csv*")):
        if path.name.endswith((".csv", ".csv.gz")):
            fasta = path.with_name(task_name(path) + ".fasta")
            _add(register, path, wild_type=str(fasta) if fasta.exists() else None)
