"""Faults: a real `zoo eval` killed with SIGKILL at random moments, then rerun until done."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import sys
import time

from zoo import analysis, page
from zoo.cache import EmbeddingCache
from zoo.tracking import Tracker


def test_sigkill_then_rerun_loses_nothing_and_counts_nothing_twice(subset_dir, tiny_esm, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, ZOO_DATA_DIR=str(subset_dir), ZOO_CACHE_DIR=str(tmp_path / "cache"))
    weights = tiny_esm[0] / "esm2_t6_8M_UR50D.pt"  # esm2-8m's embeddings go through the shard cache
    zoo = f"{shlex.quote(sys.executable)} -m zoo.cli"
    command = (
        f"{zoo} eval --model linear --model cnn --model esm2-8m --task stability --task fluorescence "
        f"--seeds 2 -o filters=8 -o epochs=3 -o weights={shlex.quote(str(weights))} && "
        f"{zoo} leaderboard --output board/README.md"
    )
    rng = random.Random(7)
    kills = 0
    for _ in range(6):  # a random moment: start-up, data loading, embedding, training, logging, the leaderboard
        proc = subprocess.Popen(
            command,
            shell=True,
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(3, 14))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(command, shell=True, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout[-2000:] + final.stderr[-2000:]
    assert kills >= 3

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    shards = list((tmp_path / "cache" / "embeddings").glob("*/shard-*.npz"))
    assert shards
    for identity in {s.parent.name for s in shards}:
        cache = EmbeddingCache(identity)
        cache._load()
        assert cache.corrupt == []  # no kill left a damaged shard
    board = (tmp_path / "board" / "README.md").read_text()
    assert board.startswith("# Is pretraining necessary") and "(tasks/fluorescence.md)" in board
    assert all((tmp_path / "board" / "tasks" / f"{t}.md").exists() for t in ("fluorescence", "stability"))

    runs = Tracker(uri).job_runs()
    finished = [r for r in runs if r["status"] == "FINISHED" and r.get("tags.outcome") == "ok"]
    per_job: dict[str, int] = {}
    for r in finished:
        per_job[r["tags.job_key"]] = per_job.get(r["tags.job_key"], 0) + 1
    assert len(per_job) == 8  # linear and esm2-8m x 2 tasks + cnn x 2 tasks x 2 seeds
    assert set(per_job.values()) == {1}, per_job  # resume never ran a finished job again
    text = page.render(analysis.analyse(runs))
    cnn_rows = [line for line in text.splitlines() if line.startswith("| cnn (")]
    assert len(cnn_rows) == 2 and all("| 2 | default |" in line for line in cnn_rows)
