"""The test-set bootstrap of Spearman that the leaderboard computes for every run, against the
obvious ways to write it, in the same process, on real runs from the published results bundle.

For each of a task's first runs: 1,000 resamples of its test predictions (the zoo's resamples)
scored by (a) scipy's ``spearmanr`` on each resample, (b) scipy's ``rankdata`` over a block of
resamples at once and a row-wise Pearson, and (c) ``zoo.metrics.resampled_spearman``, which
prepares the test set's resamples once and then ranks each run's predictions once. The three must
agree; the ratio is (a) and (b) per run against (c) per run, (c)'s one-off preparation reported
beside it.

    python bench/bootstrap.py [--task fluorescence] [--runs 4] [--out bench/results/bootstrap.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy import stats

from zoo import metrics, provenance
from zoo.bundle import Bundle


def with_scipy_loop(y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.array([stats.spearmanr(y[i], p[i]).statistic for i in idx])


def with_rankdata(y: np.ndarray, p: np.ndarray, idx: np.ndarray, block: int = 100) -> np.ndarray:
    out = []
    for i in np.array_split(idx, max(1, len(idx) // block)):
        rt, rp = stats.rankdata(y[i], axis=1), stats.rankdata(p[i], axis=1)
        rt -= rt.mean(axis=1, keepdims=True)
        rp -= rp.mean(axis=1, keepdims=True)
        out.append((rt * rp).sum(axis=1) / np.sqrt((rt**2).sum(axis=1) * (rp**2).sum(axis=1)))
    return np.concatenate(out)


METHODS = {
    "scipy_loop": with_scipy_loop,
    "rankdata": with_rankdata,
    "zoo": lambda y, p, idx: metrics.resampled_spearman(y, p),  # the same resamples, drawn by the zoo
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", default="leaderboard/runs")
    parser.add_argument("--task", default="fluorescence")
    parser.add_argument("--runs", type=int, default=4, help="runs on the task's test set to score")
    parser.add_argument("--out", default="bench/results/bootstrap.json")
    args = parser.parse_args()

    bundle = Bundle(args.bundle)
    ok = [r for r in bundle.runs() if r.get("tags.task") == args.task and r.get("tags.outcome") == "ok"]
    frames = [bundle.predictions(r["run_id"]) for r in ok[: args.runs]]
    y = frames[0]["target"].to_numpy(np.float64)
    idx = metrics._resamples(len(y), metrics.RESAMPLES, 0)
    seconds = dict.fromkeys(METHODS, 0.0)
    start = time.perf_counter()
    metrics._prepared(y.tobytes(), metrics.RESAMPLES, 0)
    prepare = time.perf_counter() - start
    agree = 0.0
    for f in frames:
        p = f["prediction"].to_numpy(np.float64)
        results = {}
        for name, score in METHODS.items():
            start = time.perf_counter()
            results[name] = score(y, p, idx)
            seconds[name] += time.perf_counter() - start
        agree = max(agree, *(float(np.nanmax(np.abs(results[k] - results["zoo"]))) for k in ("scipy_loop", "rankdata")))
    per_run = {k: v / len(frames) for k, v in seconds.items()}
    report = {
        "machine": provenance.machine(),
        "task": args.task,
        "test_items": len(y),
        "resamples": metrics.RESAMPLES,
        "runs": len(frames),
        "seconds_per_run": per_run,
        "zoo_prepare_seconds_once_per_test_set": prepare,
        "ratio_scipy_loop_to_zoo": per_run["scipy_loop"] / per_run["zoo"],
        "ratio_rankdata_to_zoo": per_run["rankdata"] / per_run["zoo"],
        "max_abs_difference": agree,
    }
    print(json.dumps(report))
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
