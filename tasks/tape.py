"""TAPE's fluorescence and stability tasks (Rao et al. 2019).

Data is looked up, in order: a data directory (``ZOO_DATA_DIR`` / ``--data-dir``)
holding ``<task>/<task>.csv.gz`` (the zoo's layout), TAPE's LMDB files
(``<task>/<task>_<split>.lmdb``) or TAPE's JSON files (``<task>/<task>_<split>.json``);
without a data directory, TAPE's tarball is downloaded once into the cache.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

from zoo_tasks import download, readers

from zoo import TaskData, ZooError, hookimpl
from zoo.cache import cache_dir, file_digest

TAPE_URL = "http://s3.amazonaws.com/songlabdata/proteindata/data_pytorch/{task}.tar.gz"

TASKS: dict[str, dict[str, Any]] = {
    "fluorescence": {
        "target": "log_fluorescence",
        "counts": {"train": 21446, "valid": 5362, "test": 27217},
        "description": "GFP log-fluorescence (Sarkisyan 2016); test = variants with 4+ mutations",
    },
    "stability": {
        "target": "stability_score",
        "counts": {"train": 53614, "valid": 2512, "test": 12851},
        "description": "designed mini-protein stability score (Rocklin 2017); test = 17 held-out designs",
    },
}


@hookimpl
def register_tasks(register):
    for name, spec in TASKS.items():
        register(
            name,
            partial(load, name),
            description=spec["description"],
            source="TAPE, Rao et al. 2019",
            url=TAPE_URL.format(task=name),
        )


def load(name: str, *, data_dir: str | None = None) -> TaskData:
    spec = TASKS[name]
    if data_dir is not None:
        splits, files = read_local(Path(data_dir) / name, name, spec["target"])
        strict = False
    else:
        root = cache_dir() / "tape"
        if not _lmdb_paths(root / name, name)["train"].exists():
            archive = download.fetch(TAPE_URL.format(task=name), root / f"{name}.tar.gz")
            _unpack(archive, root, name)
        splits, files = read_local(root / name, name, spec["target"])
        strict = True
    notes = count_notes(splits, spec["counts"], strict=strict) + readers.overlap_notes(splits)
    return TaskData(splits["train"], splits["valid"], splits["test"], files=files, notes=notes)


def _unpack(archive: Path, root: Path, name: str) -> None:
    # TAPE's tarball holds a top-level <task>/ folder: unpack to a staging folder, then move it in
    staging = root / f".{name}.unpacked"
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    try:
        download.safe_extract(archive, staging)
    except ZooError:
        archive.unlink(missing_ok=True)  # a bad archive is fetched afresh next time, not unpacked again
        raise
    if not (staging / name).is_dir():
        found = sorted(p.name for p in staging.iterdir())
        shutil.rmtree(staging, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise readers.DataError(
            f"{archive} has no top-level {name}/ folder (it holds: {', '.join(found) or 'nothing'}), "
            f"so it is not TAPE's {name} tarball. It was deleted. Fix: run again to download it "
            f"afresh, or point ZOO_DATA_DIR at a local copy of the data."
        )
    shutil.rmtree(root / name, ignore_errors=True)  # what is there did not hold the task, or we would not be here
    (staging / name).replace(root / name)
    shutil.rmtree(staging, ignore_errors=True)
    archive.unlink()


def _lmdb_paths(folder: Path, name: str) -> dict[str, Path]:
    return {s: folder / f"{name}_{s}.lmdb" for s in readers.SPLITS}


def read_local(folder: Path, name: str, target: str) -> tuple[dict, dict[str, str]]:
    for csv in (folder / f"{name}.csv.gz", folder / f"{name}.csv"):
        if csv.exists():
            return readers.read_csv(csv), {str(csv): file_digest(csv)}
    lmdbs = _lmdb_paths(folder, name)
    if all(p.exists() for p in lmdbs.values()):
        splits = {s: readers.read_lmdb(p, target) for s, p in lmdbs.items()}
        return splits, {str(p): file_digest(p / "data.mdb" if p.is_dir() else p) for p in lmdbs.values()}
    jsons = {s: folder / f"{name}_{s}.json" for s in readers.SPLITS}
    if all(p.exists() for p in jsons.values()):
        splits = {s: readers.read_json(p, target) for s, p in jsons.items()}
        return splits, {str(p): file_digest(p) for p in jsons.values()}
    raise readers.DataError(
        f"no data for task {name!r} in {folder}: looked for {name}.csv.gz, {name}_<split>.lmdb and "
        f"{name}_<split>.json. Fix: point ZOO_DATA_DIR (or --data-dir) at the folder that holds {name}/, "
        f"or unset it to download TAPE's data."
    )


def count_notes(splits: dict, expected: dict[str, int], *, strict: bool) -> list[str]:
    found = {s: len(splits[s]) for s in readers.SPLITS}
    if found == expected:
        return []
    text = (
        f"split sizes {found['train']}/{found['valid']}/{found['test']} differ from TAPE's "
        f"{expected['train']}/{expected['valid']}/{expected['test']}"
    )
    if strict:
        raise readers.DataError(
            f"{text}. Fix: the download is incomplete or not TAPE's; delete the cache "
            f"folder ({cache_dir()}) and run again."
        )
    return [text + ": results are not comparable with the published benchmark"]
