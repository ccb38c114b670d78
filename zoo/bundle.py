"""The results bundle: the leaderboard's runs as files in the repository (``leaderboard/runs/``).

Layout (documented for readers in the bundle's own README.md):

- ``runs.jsonl``: one run per line, sorted by run id, keys sorted: ``run_id``, ``run_name``,
  ``status``, ``start_time``, ``end_time``, ``tags``, ``params``, ``metrics``, ``datasets``
  (MLflow dataset inputs), ``testset`` (a test-set id, for runs with predictions), ``histories``
  (for a run that trained by epochs: each per-epoch metric as ``[step, value]`` pairs).
- ``testsets/<id>.npz``: ``sequences`` and float64 ``targets`` of one test split, shared by every
  run tested on it.
- ``predictions/<run_id>.npz``: one float32 ``prediction`` per test sequence, in test-set order.
- ``MANIFEST.json``: the run count and the SHA-256 of every other file, written last. Reading a bundle
  verifies it, so a hand-edited metric, a deleted line or a damaged file is refused, not believed. A
  bundle without one (made by an older zoo) is read with a notice.

Written by ``zoo export``, loaded into any MLflow store by ``zoo import`` (idempotently: a run
already there, by its original id, is skipped), and read without any store by
``zoo leaderboard --from``.
"""

from __future__ import annotations

import hashlib
import json
import operator
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from zoo import ZooError, names
from zoo.files import write_atomic

RUNS = "runs.jsonl"
MANIFEST = "MANIFEST.json"
README = """# Results bundle

The MLflow runs behind the leaderboard beside this folder, written by `zoo export` (format:
`zoo/bundle.py`). Nothing here is typed by hand.

- `runs.jsonl`: one run per line, sorted by run id, keys sorted: `run_id`, `run_name`, `status`,
  `start_time` and `end_time` (ms since the epoch), `tags`, `params`, `metrics` (as MLflow holds
  them: `job_key`, `model`, `task`, `seed`, `options`, `test_spearman`, ...), `datasets` (the
  MLflow dataset inputs: name, digest, source, context train/valid/test), for a run with
  predictions, `testset`, and for a run that trained by epochs, `histories`: each per-epoch metric
  (`epoch_train_loss`, `epoch_valid_spearman`, ...) as `[step, value]` pairs, its training curve.
- `testsets/<testset>.npz`: `sequences` and float64 `targets` of one test split, named by a digest of
  both, so each distinct test set is stored once (a copy of a split whose targets a machine parsed one
  unit in the last place apart is a distinct test set).
- `predictions/<run_id>.npz`: `prediction`, one float32 per test sequence, in test-set order.
- `MANIFEST.json`: the run count and the SHA-256 of every other file; `zoo import` and
  `zoo leaderboard --from` verify it and refuse a bundle that does not match.

Use it:

    zoo import leaderboard/runs && zoo ui          # browse the runs in the MLflow UI
    zoo leaderboard --from leaderboard/runs        # the leaderboard page, from these files alone
"""
IMPORTED_FROM = "imported_run_id"  # tag on an imported run: the run id in the store it was exported from


def _csv_float(value: float) -> str:
    """A float as pandas' ``to_csv`` writes it: the shortest repr, and an empty field for NaN."""
    return "" if value != value else repr(value)


def as_float32(values: Any) -> np.ndarray:
    """Predictions as the bundle keeps them. The leaderboard ranks these from a store too, so a page
    made from the bundle equals the page made from the store."""
    return np.asarray(values, dtype=np.float32).astype(np.float64)


def _nest(run: dict) -> dict:
    out: dict[str, Any] = {"tags": {}, "params": {}, "metrics": {}}
    for key, value in run.items():
        prefix, _, name = key.partition(".")
        if prefix in ("tags", "params", "metrics") and name:
            out[prefix][name] = value
        elif key != "n":
            out[key] = value
    return out


def _flatten(record: dict) -> dict:
    flat = {k: v for k, v in record.items() if k not in ("tags", "params", "metrics")}
    for prefix in ("tags", "params", "metrics"):
        flat.update({f"{prefix}.{k}": v for k, v in record.get(prefix, {}).items()})
    return flat


def _testset_id(sequences: list[str], targets: np.ndarray) -> str:
    digest = hashlib.sha256("\n".join(sequences).encode())
    digest.update(np.asarray(targets, np.float64).tobytes())
    return digest.hexdigest()[:16]


def export(
    runs: Iterable[dict],
    predictions: Callable[[str], Any],
    folder: str | Path,
    progress: Callable[[int, int], None] | None = None,
    histories: Callable[[str, list[str]], dict[str, list]] | None = None,
) -> dict[str, int]:
    """Write ``runs`` (flat run dicts) and the test predictions of the successful ones to ``folder``;
    ``histories(run_id, keys)`` gives the per-epoch metrics' curves. Files of runs no longer exported
    are removed, so the folder is exactly the bundle."""
    folder = Path(folder)
    check_export_folder(folder)
    (folder / "predictions").mkdir(parents=True, exist_ok=True)
    (folder / "testsets").mkdir(exist_ok=True)
    runs = sorted(runs, key=lambda r: r["run_id"])
    lines, kept_predictions, kept_testsets = [], set(), set()
    for i, run in enumerate(runs):
        record = _nest(run)
        curves = [k for k in record["metrics"] if names.per_epoch(k)]
        if histories and curves:
            # epochs count from 1: a curve of step 0 alone is a run imported before curves were exported
            kept = {k: points for k, points in histories(run["run_id"], curves).items() if points[-1][0] >= 1}
            if kept:
                record["histories"] = kept
        if run.get(f"tags.{names.OUTCOME}") == "ok":
            frame = predictions(run["run_id"])
            sequences, targets = list(frame["sequence"]), frame["target"].to_numpy(np.float64)
            testset = _testset_id(sequences, targets)
            if testset not in kept_testsets and not (folder / "testsets" / f"{testset}.npz").exists():
                _save_npz(folder / "testsets" / f"{testset}.npz", sequences=np.array(sequences), targets=targets)
            kept_testsets.add(testset)
            name = f"{run['run_id']}.npz"
            _save_npz(folder / "predictions" / name, prediction=frame["prediction"].to_numpy(np.float32))
            kept_predictions.add(name)
            record["testset"] = testset
        lines.append(json.dumps(record, sort_keys=True, default=str))
        if progress:
            progress(i + 1, len(runs))
    for sub, keep in (("predictions", kept_predictions), ("testsets", {f"{t}.npz" for t in kept_testsets})):
        for stale in (folder / sub).glob("*.npz"):
            if stale.name not in keep:
                stale.unlink()
    write_atomic(folder / RUNS, "\n".join(lines) + "\n")
    write_atomic(folder / "README.md", README)
    write_manifest(folder)
    return {"runs": len(lines), "predictions": len(kept_predictions), "testsets": len(kept_testsets)}


def check_export_folder(folder: Path) -> None:
    """``zoo export`` writes only into a new or empty folder, or over a bundle (it owns every file there)."""
    if folder.exists() and not folder.is_dir():
        raise ZooError(f"zoo export {folder}: that is a file. Fix: give a folder, new or empty, e.g. leaderboard/runs.")
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    readme = folder / "README.md"
    older = (folder / RUNS).is_file() and readme.is_file() and readme.read_text().startswith("# Results bundle")
    if not (folder / MANIFEST).is_file() and not older:
        raise ZooError(
            f"zoo export {folder}: the folder holds files that are not a results bundle (it would overwrite "
            f"{', '.join(sorted(p.name for p in folder.iterdir())[:3])}). Fix: give a new or empty folder."
        )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: str | Path) -> None:
    """The run count and every file's SHA-256, written last: a bundle is whole when its manifest matches."""
    from zoo.cache import file_digest

    folder = Path(folder)
    runs = sum(1 for line in (folder / RUNS).read_text().splitlines() if line.strip())
    files = {p.relative_to(folder).as_posix(): file_digest(p) for p in _files(folder)}
    write_atomic(folder / MANIFEST, json.dumps({"format": 1, "runs": runs, "files": files}, indent=1, sort_keys=True))


def verify(folder: Path, records: int) -> str | None:
    """What is wrong with the bundle against its manifest (None: it matches); a notice for a bundle without one."""
    from zoo.cache import file_digest

    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        listed: dict[str, str] = dict(manifest["files"])
        expected = int(manifest["runs"])
    except (ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST} cannot be read ({type(exc).__name__})"
    if records != expected:
        return f"{RUNS} holds {records} runs, its manifest says {expected} (lines deleted or added)"
    present = {p.relative_to(folder).as_posix(): p for p in _files(folder)}
    missing = sorted(set(listed) - set(present))
    if missing:
        return f"{len(missing)} listed file(s) are missing, e.g. {missing[0]}"
    changed = [name for name, digest in sorted(listed.items()) if file_digest(present[name]) != digest]
    if changed:
        return f"{len(changed)} file(s) differ from the manifest, e.g. {changed[0]} (edited or damaged)"
    return None


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    write_atomic(path, buffer.getvalue())


class Bundle:
    """A bundle read back: its runs as flat dicts (as ``Tracker.job_runs`` gives them) and predictions."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        path = self.folder / RUNS
        if not path.is_file():
            raise ZooError(
                f"{self.folder} is not a results bundle: {RUNS} is missing. Fix: give the folder "
                f"`zoo export` wrote, e.g. leaderboard/runs."
            )
        self.records = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise ZooError(f"{path}, line {number}: not JSON ({exc}). Fix: restore the file from git.") from exc
                if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
                    raise ZooError(
                        f"{path}, line {number}: not a run (a JSON object with a run_id). Fix: restore the file "
                        f"from git, or export the bundle again."
                    )
                self.records.append(record)
        problem = verify(self.folder, len(self.records))
        if problem:
            raise ZooError(
                f"{self.folder} is damaged: {problem}. Fix: restore the bundle from git, or export it again "
                f"with `zoo export`."
            )
        if not (self.folder / MANIFEST).is_file():
            print(
                f"zoo: notice: {self.folder} has no {MANIFEST} (made by an older zoo): its files cannot be verified. "
                f"`zoo export` writes one.",
                file=sys.stderr,
            )
        self._testsets: dict[str, tuple[list[str], np.ndarray]] = {}
        self._csv_rows: dict[str, list[str]] = {}
        self._by_id = {r["run_id"]: r for r in self.records}

    def runs(self) -> list[dict]:
        return [_flatten(r) for r in self.records]

    def testset(self, testset: str) -> tuple[list[str], np.ndarray]:
        if testset not in self._testsets:
            data = self._npz(self.folder / "testsets" / f"{testset}.npz", "sequences", "targets")
            self._testsets[testset] = (data["sequences"].tolist(), data["targets"])
        return self._testsets[testset]

    def _npz(self, path: Path, *keys: str) -> dict[str, np.ndarray]:
        """The arrays ``keys`` of one bundle file; a missing or damaged file is one line naming it."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in keys}
        except FileNotFoundError:
            problem = "is missing"
        except Exception as exc:  # not an npz, pickled data, a missing array: all mean a damaged bundle
            problem = f"cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
        raise ZooError(f"{path} {problem}. Fix: restore the bundle from git, or export it again with `zoo export`.")

    def predictions(self, run_id: str):
        """The run's test predictions as a DataFrame (sequence, target, prediction)."""
        import pandas as pd

        sequences, targets, prediction = self._prediction_columns(run_id)
        return pd.DataFrame({"sequence": sequences, "target": targets, "prediction": prediction})

    def predictions_csv(self, run_id: str) -> str:
        """The run's ``test_predictions.csv`` as ``zoo eval`` logs it (pandas' ``to_csv``), byte for byte.
        Each test set's ``sequence,target`` half is formatted once, so an import writes a run's file in
        milliseconds instead of pandas' tens of milliseconds."""
        record = self._record(run_id)
        testset = record.get("testset", "")
        if testset not in self._csv_rows:
            sequences, targets = self.testset(testset)
            if any(set(s) & set(',"\n\r') for s in sequences):  # would need quoting: pandas' own path
                return self.predictions(run_id).to_csv(index=False)
            self._csv_rows[testset] = [f"{s},{_csv_float(t)}," for s, t in zip(sequences, targets.tolist())]
        _, _, prediction = self._prediction_columns(run_id)
        values = prediction.tolist()
        texts = [_csv_float(v) for v in values] if np.isnan(prediction).any() else list(map(repr, values))
        return "sequence,target,prediction\n" + "\n".join(map(operator.add, self._csv_rows[testset], texts)) + "\n"

    def _record_any(self, run_id: str) -> dict:
        return self._by_id[run_id]

    def _record(self, run_id: str) -> dict:
        record = self._by_id.get(run_id)
        if record is None or "testset" not in record:
            raise ZooError(f"run {run_id} has no predictions in {self.folder}")
        return record

    def _prediction_columns(self, run_id: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        sequences, targets = self.testset(self._record(run_id)["testset"])
        path = self.folder / "predictions" / f"{run_id}.npz"
        prediction = as_float32(self._npz(path, "prediction")["prediction"])
        if prediction.shape != (len(sequences),):
            raise ZooError(
                f"{path} holds {prediction.size} predictions for a test set of {len(sequences)}. Fix: restore the "
                f"bundle from git, or export it again with `zoo export`."
            )
        return sequences, targets, prediction

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
