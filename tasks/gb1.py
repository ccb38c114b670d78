"""GB1 four-site landscape (Wu et al. 2016) with FLIP's official splits (Dallago et al. 2021).

Data is read from ``<data_dir>/gb1/gb1_<split>.csv.gz`` (the zoo's layout), or, without a data
directory, FLIP's ``splits.zip`` is downloaded once, checked against its sha256 and converted:
FLIP's ``set`` becomes ``split`` and train rows with ``validation == True`` become ``valid``.
"""

from __future__ import annotations

import zipfile
from functools import partial
from pathlib import Path

from zoo_tasks import download, readers

from zoo import TaskData, ZooError, hookimpl
from zoo.cache import cache_dir, file_digest

FLIP_URL = "https://github.com/J-SNACKKB/FLIP/raw/main/splits/gb1/splits.zip"
FLIP_SHA256 = "00a3c3d5be56ce35adfbec838db8ff549be369525e151a6978133da34b9fd86f"
SPLITS = {
    "one_vs_rest": "train on single mutants only (low-N: 25 train sequences)",
    "two_vs_rest": "train on single and double mutants (381 train sequences)",
    "three_vs_rest": "train on up to triple mutants",
    "low_vs_high": "train on low-fitness variants, test on high-fitness ones",
    "sampled": "random 80/20 split",
}


@hookimpl
def register_tasks(register):
    for split, description in SPLITS.items():
        register(
            f"gb1_{split}",
            partial(load, split),
            description=f"GB1 binding fitness, FLIP {split}: {description}",
            source="FLIP, Dallago et al. 2021 (data: Wu et al. 2016)",
            url=FLIP_URL,
            # FLIP's splits/gb1/README.md: `sampled` is not to be used for performance comparisons
            caveat="FLIP advises against this split" if split == "sampled" else "",
        )


def load(split: str, *, data_dir: str | None = None) -> TaskData:
    folder = Path(data_dir) / "gb1" if data_dir is not None else cache_dir() / "flip-gb1"
    path = folder / f"gb1_{split}.csv.gz"
    if not path.exists():
        if data_dir is not None:
            raise readers.DataError(
                f"no data for task 'gb1_{split}': {path} does not exist. Fix: point ZOO_DATA_DIR "
                f"(or --data-dir) at the folder that holds gb1/, or unset "
                f"it to download FLIP's splits."
            )
        fetch_flip(folder)
    splits = readers.read_csv(path)
    return TaskData(
        splits["train"],
        splits["valid"],
        splits["test"],
        files={str(path): file_digest(path)},
        notes=readers.overlap_notes(splits),
    )


def fetch_flip(folder: Path) -> None:
    """Download FLIP's splits.zip, verify it, and write one zoo-layout CSV per split."""
    import pandas as pd

    archive = download.fetch(FLIP_URL, folder / "splits.zip")
    found = file_digest(archive)
    if found != FLIP_SHA256:
        archive.unlink()
        raise ZooError(
            f"{FLIP_URL} has sha256 {found}, expected {FLIP_SHA256}. Fix: run again; if it persists, "
            f"FLIP changed the file and this task must be updated."
        )
    with zipfile.ZipFile(archive) as zf:
        names = {Path(n).name: n for n in zf.namelist() if n.endswith(".csv")}
        for split in SPLITS:
            if f"{split}.csv" not in names:
                raise ZooError(f"{archive} has no {split}.csv (found {', '.join(sorted(names))}).")
            with zf.open(names[f"{split}.csv"]) as fh:  # read in memory: no path from the zip touches disk
                frame = pd.read_csv(fh)
            frame["split"] = frame["set"].where(~frame["validation"].fillna(False).astype(bool), "valid")
            tmp = folder / f".gb1_{split}.csv.gz"
            frame[["sequence", "target", "split"]].to_csv(tmp, index=False)
            tmp.replace(folder / f"gb1_{split}.csv.gz")
    archive.unlink()
