"""Faults: a real `zoo eval` killed with SIGKILL at random moments, then rerun until done."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from zoo import leaderboard
from zoo.tracking import Tracker


def test_sigkill_then_rerun_loses_nothing_and_counts_nothing_twice(subset_dir, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, ZOO_DATA_DIR=str(subset_dir), ZOO_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "zoo.cli", "eval", "--model", "linear", "--model", "cnn", "--task", "stability",
               "--task", "fluorescence", "--seeds", "2", "-o", "filters=8", "-o", "epochs=3"]
    rng = random.Random(7)
    kills = 0
    for _ in range(4):  # kill at a random moment: start-up, data loading, training, logging
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(4, 12))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    assert kills >= 2

    runs = Tracker(uri).job_runs()
    finished = [r for r in runs if r["status"] == "FINISHED" and r.get("tags.outcome") == "ok"]
    per_job: dict[str, int] = {}
    for r in finished:
        per_job[r["tags.job_key"]] = per_job.get(r["tags.job_key"], 0) + 1
    assert len(per_job) == 6  # linear x 2 tasks + cnn x 2 tasks x 2 seeds
    assert set(per_job.values()) == {1}, per_job  # resume never ran a finished job again
    text = leaderboard.render(runs)
    cnn_rows = [line for line in text.splitlines() if line.startswith("| cnn |")]
    assert len(cnn_rows) == 2 and all("| 2 | default |" in line for line in cnn_rows)
