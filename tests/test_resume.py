"""Issue 13: a long job resumes mid-training from its last epoch checkpoint, with the same result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from zoo.tracking import Tracker

RECIPE = ["-o", "filters=48", "-o", "epochs=6", "-o", "batch_size=16"]


def _eval(tmp: Path, subset_dir: Path, name: str) -> tuple[subprocess.Popen, dict]:
    env = dict(
        os.environ,
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp / name / 'mlflow.db'}",
        ZOO_CACHE_DIR=str(tmp / name / "cache"),
        ZOO_DATA_DIR=str(subset_dir),
    )
    (tmp / name).mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "zoo.cli", "eval", "--model", "cnn", "--task", "stability", "--seeds", "1", *RECIPE]
    return subprocess.Popen(
        cmd, env=env, cwd=tmp / name, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ), env


def _predictions(env: dict) -> tuple[pd.DataFrame, dict]:
    tracker = Tracker(env["MLFLOW_TRACKING_URI"])
    [run] = [r for r in tracker.job_runs() if r.get("tags.outcome") == "ok"]
    return tracker.predictions(run["run_id"]), run


def test_a_killed_training_job_resumes_from_its_last_epoch_with_the_same_result(tmp_path, subset_dir):
    straight, env = _eval(tmp_path, subset_dir, "straight")
    assert straight.wait(timeout=600) == 0, straight.stdout.read()
    expected, run = _predictions(env)
    history = Tracker(env["MLFLOW_TRACKING_URI"]).client.get_metric_history(run["run_id"], "epoch_valid_spearman")
    assert [m.step for m in history] == [1, 2, 3, 4, 5, 6]  # a training curve the UI can draw
    assert not list((tmp_path / "straight" / "cache" / "checkpoints").glob("*/checkpoint.pt"))  # deleted when done

    killed, env = _eval(tmp_path, subset_dir, "killed")
    checkpoints = tmp_path / "killed" / "cache" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and not list(checkpoints.glob("*/checkpoint.pt")) and killed.poll() is None:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert list(checkpoints.glob("*/checkpoint.pt")), "the kill must land after the first epoch's checkpoint"

    again, env = _eval(tmp_path, subset_dir, "killed")
    out = again.communicate(timeout=600)[0]
    assert again.returncode == 0, out
    resumed, run = _predictions(env)
    assert int(run["params.hp.resumed_from_epoch"]) >= 1 and run["params.hp.epochs_done"] == "6"
    assert np.allclose(resumed["prediction"], expected["prediction"], atol=1e-5)
    assert not list(checkpoints.glob("*/checkpoint.pt"))
    statuses = sorted(r["status"] for r in Tracker(env["MLFLOW_TRACKING_URI"]).job_runs())
    assert statuses == ["FINISHED", "KILLED"]  # the killed attempt is marked, not left RUNNING
