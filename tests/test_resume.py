"""Issue 13: a long job resumes mid-training from its last epoch checkpoint, with the same result."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
    # the finished run draws the whole training curve, the epochs before the kill included
    curve = Tracker(env["MLFLOW_TRACKING_URI"]).client.get_metric_history(run["run_id"], "epoch_valid_spearman")
    assert [m.step for m in sorted(curve, key=lambda m: m.step)] == [1, 2, 3, 4, 5, 6]
    assert np.allclose([m.value for m in sorted(curve, key=lambda m: m.step)], [m.value for m in history], atol=1e-5)
    assert not list(checkpoints.glob("*/checkpoint.pt"))
    statuses = sorted(r["status"] for r in Tracker(env["MLFLOW_TRACKING_URI"]).job_runs())
    assert statuses == ["FINISHED", "KILLED"]  # the killed attempt is marked, not left RUNNING
    [stopped] = [r for r in Tracker(env["MLFLOW_TRACKING_URI"]).job_runs() if r["status"] == "KILLED"]
    assert re.match(
        r"stopped after epoch [1-5] \(best valid Spearman -?\d\.\d{3}, epoch \d\)\. Fix: rerun ",
        stopped["tags.message"],
    )
    assert "`zoo eval --model cnn --task stability --seeds 1 -o filters=48 -o epochs=6" in stopped["tags.message"]


def test_an_ensemble_resumes_member_by_member_with_the_same_result(tmp_path, monkeypatch):
    """Issue 13.3: the ensemble is one job; stopped inside its second member, a rerun restores the first
    member as it finished (no retraining), resumes the second at its epoch, and predicts what an
    uninterrupted ensemble predicts. Each member's epochs are logged under its own name."""
    from zoo_plugins.cnn import plugin as cnn

    from zoo import training
    from zoo.testing import tiny_task

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    task = tiny_task(n_train=48, n_valid=16, n_test=16)
    options = {"filters": 4, "epochs": 3, "batch_size": 16, "members": 2}

    def build(progress=None):
        return cnn.make_ensemble(task="t", seed=1, profile="default", options=options, progress=progress)

    logged: list[tuple[int, dict]] = []
    with training.job("straight", lambda m, step: logged.append((step, m))):
        straight = build()
        straight.fit(task.train, task.valid)
    assert straight.params["member_seeds"] == [2, 3] and straight.params["members"] == 2
    assert {k for _, m in logged for k in m} >= {"member0_epoch_valid_spearman", "member1_epoch_train_loss"}
    expected = straight.predict(task.test.sequences)
    assert np.allclose(expected, np.mean([m.predict(task.test.sequences) for m in straight.members], axis=0))

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "elsewhere"))  # not the finished members above
    seen: list[tuple[int, int, str]] = []

    def interrupt(done, total, note=""):
        seen.append((done, total, note))
        if note == "member 2/2 epoch 2/3":  # inside the second member's second epoch
            raise KeyboardInterrupt

    with training.job("stopped", lambda m, step: None):
        with pytest.raises(KeyboardInterrupt):  # the stop really happened, inside the training
            build(interrupt).fit(task.train, task.valid)
        done = [d for d, _, _ in seen]
        assert done == sorted(done) and {t for _, t, _ in seen} == {2000}  # one bar over both members
        resumed = build()
        resumed.fit(task.train, task.valid)
    # the first member finished before the stop: taken as stored, not retrained; the second resumes
    assert resumed.params["member_reused"] == [True, False]
    assert resumed.members[1].params["resumed_from_epoch"] == 1
    assert np.allclose(resumed.predict(task.test.sequences), expected, atol=1e-5)


def test_the_paper_ensemble_on_stability_is_the_papers_three_nets():
    """The paper's notebook averages a 3-layer CNN, its dilated variant and a 3-layer CNN with
    LinearMaxPool (rep 2,048; lr 1e-5/5e-5/5e-6, batch 256, 10 epochs); elsewhere, seeds of one recipe."""
    from zoo_plugins.cnn import plugin as cnn

    paper = cnn.make_ensemble(task="stability", seed=0, profile="paper", options={})
    recipes = [paper.make_member(k).recipe for k in range(paper.size)]
    assert [r["dilations"] for r in recipes] == [None, [1, 2, 1], None]
    assert recipes[2]["lens"] == 2048 and recipes[2]["lr"] == (1e-5, 5e-5, 5e-6) and recipes[2]["epochs"] == 10
    assert recipes[0]["lr"] == (5e-4, 5e-5) and recipes[0]["batch_size"] == 16
    # the job's seed for each net: member 0 is `cnn --profile paper` at that seed, member 1 its dilated variant
    assert [paper.make_member(k).seed for k in range(3)] == [0, 0, 0]
    assert recipes[0] == cnn.make_cnn(task="stability", seed=0, profile="paper", options={}).recipe
    default = cnn.make_ensemble(task="stability", seed=2, profile="default", options={"members": 4})
    assert default.size == 4 and [default.make_member(k).seed for k in range(4)] == [8, 9, 10, 11]


def test_finished_training_is_taken_by_another_job_and_force_trains_afresh(tmp_path, monkeypatch):
    """A net trained by one job (a standalone cnn) is not trained again by another job that needs the
    same recipe, seed and data (an ensemble's member): its stored weights predict the same. Other
    data, or reuse=False (zoo eval --force), trains."""
    from zoo_plugins.cnn import plugin as cnn

    from zoo import training
    from zoo.testing import tiny_task

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    task = tiny_task(n_train=48, n_valid=16, n_test=16)
    options = {"filters": 4, "epochs": 2, "batch_size": 16}
    with training.job("standalone", lambda m, step: None):
        alone = cnn.make_cnn(task="t", seed=0, profile="default", options=options)
        alone.fit(task.train, task.valid)
    assert "reused_training" not in alone.params and len(list((tmp_path / "trained").glob("*.pt"))) == 1

    logged: list[dict] = []
    with training.job("ensemble", lambda m, step: logged.append(m)):
        ensemble = cnn.make_ensemble(task="t", seed=0, profile="default", options={**options, "members": 2})
        ensemble.fit(task.train, task.valid)
    assert ensemble.params["member_reused"] == [True, False]  # member 0 is cnn seed 0; member 1 is seed 1
    assert not any(k.startswith("member0_") for m in logged for k in m)  # member 0 trained no epoch
    first = ensemble.members[0]
    assert first.params["epochs_done"] == 2 and first.params["best_epoch"] == alone.params["best_epoch"]
    assert np.allclose(first.predict(task.test.sequences), alone.predict(task.test.sequences))

    other = tiny_task(n_train=40, n_valid=16, n_test=16)
    with training.job("other data", lambda m, step: None):
        trained = cnn.make_cnn(task="t", seed=0, profile="default", options=options)
        trained.fit(other.train, other.valid)
    with training.job("forced", lambda m, step: None, reuse=False):
        forced = cnn.make_cnn(task="t", seed=0, profile="default", options=options)
        forced.fit(task.train, task.valid)
    assert "reused_training" not in trained.params and "reused_training" not in forced.params


def test_a_training_resumes_on_another_machine_from_checkpoints_carried_in_zoo_checkpoint_dir(tmp_path, monkeypatch):
    """A long fine-tune outlives the machine it started on: ZOO_CHECKPOINT_DIR puts the epoch checkpoints
    where they can be kept (a repository, a durable volume), apart from the cache. Stopped on one machine,
    the job resumes on another whose cache is empty, with the result of an uninterrupted run."""
    from zoo_plugins.cnn import plugin as cnn

    from zoo import training
    from zoo.testing import tiny_task

    task = tiny_task(n_train=48, n_valid=16, n_test=16)
    options = {"filters": 4, "epochs": 3, "batch_size": 16}

    def build(progress=None):
        return cnn.make_cnn(task="t", seed=0, profile="default", options=options, progress=progress)

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "straight"))
    with training.job("job", lambda m, step: None):
        straight = build()
        straight.fit(task.train, task.valid)
    expected = straight.predict(task.test.sequences)

    carried = tmp_path / "carried"
    monkeypatch.setenv("ZOO_CHECKPOINT_DIR", str(carried))
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "first machine"))

    def interrupt(done, total, note=""):
        if note.startswith("epoch 2/"):
            raise KeyboardInterrupt

    with training.job("job", lambda m, step: None):
        with pytest.raises(KeyboardInterrupt):  # the stop really happened, inside the training
            build(interrupt).fit(task.train, task.valid)
    assert [p.name for p in carried.glob("*/*")] == ["checkpoint.pt"]
    import torch
    from zoo_plugins.shared.checkpoint import BEST_IS_LAST

    saved = torch.load(next(carried.glob("*/checkpoint.pt")), weights_only=True)
    assert saved["epoch"] == saved["best_epoch"] == 1 and saved["best_state"] == BEST_IS_LAST  # not stored twice
    assert not (tmp_path / "first machine" / "checkpoints").exists()

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "second machine"))  # nothing of the first one's cache
    with training.job("job", lambda m, step: None):
        resumed = build()
        resumed.fit(task.train, task.valid)
    assert resumed.params["resumed_from_epoch"] == 1
    assert np.allclose(resumed.predict(task.test.sequences), expected, atol=1e-5)
    training.discard("job")
    assert not list(carried.glob("*/*"))  # deleted once the run is recorded, as in the cache


def _saved_checkpoint(tmp_path, monkeypatch):
    import torch
    from zoo_plugins.shared import checkpoint

    from zoo import training

    monkeypatch.setenv("ZOO_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    context = training.job("k" * 20, lambda metrics, step: None)
    state = {"recipe": "r", "epoch": 1, "model": {"w": torch.arange(4096, dtype=torch.float32)}}
    return checkpoint, context, state


@pytest.mark.parametrize("damage", ["overwrite", "truncate", "unsealed"])
def test_a_damaged_checkpoint_is_discarded_with_one_line_and_training_starts_over(
    tmp_path, monkeypatch, capsys, damage
):
    """A checkpoint with 2 KB of random bytes in its middle used to resume as if whole (the run then ended
    'ok' at another score); only a 0-byte file was caught. Now it fails its checksum and is discarded."""
    import torch

    checkpoint, context, state = _saved_checkpoint(tmp_path, monkeypatch)
    rng = np.random.default_rng(0)
    with context as job:
        checkpoint.save(state, rng)
        assert checkpoint.load("r", rng)["model"]["w"].sum() == state["model"]["w"].sum()  # whole: resumes
        data = bytearray(job.checkpoint.read_bytes())
        if damage == "overwrite":
            middle = len(data) // 2
            data[middle : middle + 2048] = np.random.default_rng(1).bytes(2048)
        elif damage == "truncate":
            data = data[: len(data) - 100]
        else:  # a plain torch.save, as another version wrote it
            data = bytearray()
            torch.save(state, job.checkpoint)
        if data:
            job.checkpoint.write_bytes(bytes(data))
        capsys.readouterr()
        assert checkpoint.load("r", rng) is None
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"zoo: warning: checkpoint {job.checkpoint} is damaged (")
        assert err.rstrip().endswith("discarded, training starts over")
        assert not job.checkpoint.exists()  # nothing left to trip the next run
