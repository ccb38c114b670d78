"""``zoo import``'s write path against the per-call path it replaced, on the same slice of the published
bundle, each into a fresh sqlite store, in one process: the new path (params and metrics in one batch,
``test_predictions.csv`` formatted from each test set once) against params, metrics and a pandas
``to_csv`` per run. Then the imported stores are compared run by run. Prints one JSON line.

    python bench/import_speed.py --runs 200 --full
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from zoo import names, provenance
from zoo.bundle import IMPORTED_FROM, Bundle
from zoo.tracking import Tracker

ROOT = Path(__file__).resolve().parent.parent


def per_call_import(tracker: Tracker, bundle: Bundle, record: dict) -> None:
    """The path before: params and metrics as separate batches, the predictions written by pandas."""
    tags = {k: str(v) for k, v in record.get("tags", {}).items() if k != "mlflow.parentRunId"}
    run = tracker.client.create_run(
        tracker.experiment_id,
        start_time=record.get("start_time"),
        tags={**tags, IMPORTED_FROM: record["run_id"]},
        run_name=record.get("run_name"),
    )
    run_id = run.info.run_id
    tracker.log_params(run_id, record.get("params", {}))
    stamp = int(record.get("end_time") or record.get("start_time") or time.time() * 1000)
    curves = record.get("histories", {})
    metrics = [(k, float(v), stamp, 0) for k, v in sorted(record.get("metrics", {}).items()) if k not in curves]
    metrics += [(k, float(v), stamp, int(step)) for k, points in sorted(curves.items()) for step, v in points]
    for start in range(0, len(metrics), 1000):
        tracker._write("log_batch", run=run_id, metrics=metrics[start : start + 1000])
    if record.get("datasets"):
        tracker._write("log_inputs", run=run_id, datasets=record["datasets"])
    if "testset" in record:
        tracker.log_table(run_id, bundle.predictions(record["run_id"]), names.PREDICTIONS)
    tracker.client.set_terminated(run_id, record.get("status", "FINISHED"), end_time=record.get("end_time"))


def snapshot(tracker: Tracker) -> dict:
    out = {}
    for run in tracker.job_runs():
        key = run.pop("run_id")
        del key
        out[run[f"tags.{IMPORTED_FROM}"]] = run
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(ROOT / "leaderboard" / "runs"))
    parser.add_argument("--runs", type=int, default=200, help="every k-th run of the bundle, this many")
    parser.add_argument("--full", action="store_true", help="then time `zoo import` of the whole bundle (2 workers)")
    args = parser.parse_args()
    bundle = Bundle(args.bundle)
    step = max(1, len(bundle.records) // args.runs)
    chosen = bundle.records[::step][: args.runs]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ZOO_CACHE_DIR"] = str(Path(tmp) / "cache")
        old, new = Tracker(f"sqlite:///{tmp}/old/mlflow.db"), Tracker(f"sqlite:///{tmp}/new/mlflow.db")
        seconds = {"per_call": 0.0, "batched": 0.0}
        for record in chosen:  # the two paths take turns, so both see the same machine load
            start = time.perf_counter()
            per_call_import(old, bundle, record)
            seconds["per_call"] += time.perf_counter() - start
            start = time.perf_counter()
            new.import_run(
                record,
                bundle.predictions_csv(record["run_id"]) if "testset" in record else None,
                {IMPORTED_FROM: record["run_id"]},
            )
            seconds["batched"] += time.perf_counter() - start
        a, b = snapshot(old), snapshot(new)
        same_runs = all(
            {k: v for k, v in a[r].items() if k != "start_time" or v} == {k: v for k, v in b[r].items()} for r in a
        )
        files_same = all(
            Path(old.client.download_artifacts(ra, names.PREDICTIONS)).read_bytes()
            == Path(new.client.download_artifacts(rb, names.PREDICTIONS)).read_bytes()
            for ra, rb in (
                (
                    next(x["run_id"] for x in old.job_runs() if x[f"tags.{IMPORTED_FROM}"] == r["run_id"]),
                    next(x["run_id"] for x in new.job_runs() if x[f"tags.{IMPORTED_FROM}"] == r["run_id"]),
                )
                for r in chosen[:20]
                if "testset" in r
            )
        )
    full = {}
    if args.full:
        from zoo.bundle import import_into

        with tempfile.TemporaryDirectory() as tmp:
            os.environ["ZOO_CACHE_DIR"] = str(Path(tmp) / "cache")
            start = time.perf_counter()
            counts = import_into(bundle, Tracker(f"sqlite:///{tmp}/full/mlflow.db"))
            full = {"full_import_runs": counts["created"], "full_import_s": round(time.perf_counter() - start, 1)}
    print(
        json.dumps(
            {
                **full,
                "runs": len(chosen),
                "per_call_s": round(seconds["per_call"], 2),
                "batched_s": round(seconds["batched"], 2),
                "ratio": round(seconds["per_call"] / seconds["batched"], 2),
                "per_run_ms": {k: round(1000 * v / len(chosen), 1) for k, v in seconds.items()},
                "stores_identical": same_runs,
                "prediction_files_identical": files_same,
                "machine": provenance.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
