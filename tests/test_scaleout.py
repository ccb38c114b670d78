"""Scale-out and a shared tracking server: the Ray executor against a real `mlflow server`, and that
server dropping mid-run (results spooled, then `zoo sync`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from zoo import ZooError, spool
from zoo.ray_executor import RayExecutor, absolute_store, resources
from zoo.tracking import Tracker

pytest.importorskip("ray")

TINY_CNN = ["-o", "filters=8", "-o", "epochs=3"]
JOBS = ["--model", "linear", "--model", "cnn", "--task", "stability", "--task", "fluorescence", "--seeds", "2"]


class Server:
    """`mlflow server` on 127.0.0.1 with a sqlite backend; stop() and start() keep its store."""

    def __init__(self, root: Path):
        self.root = root
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{self.root / 'server.db'}",
                "--artifacts-destination",
                str(self.root / "artifacts"),
            ],
            stdout=open(self.root / "server.log", "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
        )  # no GenAI job workers
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.uri + "/health", timeout=2).close()
                return
            except OSError:
                assert self.proc.poll() is None, (self.root / "server.log").read_text()[-2000:]
                time.sleep(0.5)
        raise AssertionError("mlflow server did not start in 180 s")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the whole group: the server and its uvicorn worker
        self.proc.wait()

    def finished_jobs(self) -> int:
        body = json.dumps(
            {
                "experiment_ids": ["0", "1"],
                "max_results": 1000,
                "filter": "tags.kind = 'job' and attributes.status = 'FINISHED'",
            }
        ).encode()
        request = urllib.request.Request(
            self.uri + "/api/2.0/mlflow/runs/search", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            return len(json.load(urllib.request.urlopen(request, timeout=10)).get("runs", []))
        except OSError:
            return 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("mlflow-server"))
    srv.start()
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


def zoo(*args: str, uri: str, cwd: Path, cache: Path, data: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, MLFLOW_TRACKING_URI=uri, ZOO_CACHE_DIR=str(cache), ZOO_DATA_DIR=str(data), RAY_AUTH_MODE="disabled"
    )
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def results_part(leaderboard: str) -> list[str]:
    """The verdict and per-task tables without the columns that measure this run's speed."""
    rows = []
    for line in leaderboard.splitlines():
        if line.startswith("| ") and not line.startswith("| configuration |"):
            cells = line.split(" | ")
            rows.append(" | ".join(cells[:9] + cells[11:]) if len(cells) >= 13 else line)
    return rows


def one_finished_run_per_job(uri: str, experiment: str = "protein-zoo") -> dict[str, int]:
    per_job: dict[str, int] = {}
    for r in Tracker(uri, experiment).job_runs():
        if r["status"] == "FINISHED" and r.get("tags.outcome") == "ok":
            per_job[r["tags.job_key"]] = per_job.get(r["tags.job_key"], 0) + 1
    return per_job


def test_ray_executor_gives_the_local_leaderboard(server, subset_dir, tmp_path):
    ray_run = zoo(
        "eval",
        *JOBS,
        *TINY_CNN,
        "--executor",
        "ray",
        uri=server.uri,
        cwd=tmp_path,
        cache=tmp_path / "cache",
        data=subset_dir,
    )
    assert ray_run.returncode == 0, ray_run.stdout[-3000:] + ray_run.stderr[-3000:]
    local_uri = f"sqlite:///{tmp_path / 'local.db'}"
    local_run = zoo("eval", *JOBS, *TINY_CNN, uri=local_uri, cwd=tmp_path, cache=tmp_path / "cache", data=subset_dir)
    assert local_run.returncode == 0, local_run.stderr[-3000:]

    per_job = one_finished_run_per_job(server.uri)
    assert len(per_job) == 6 and set(per_job.values()) == {1}
    tracker = Tracker(server.uri)
    parents = tracker.client.search_runs([tracker.experiment_id], "tags.kind = 'invocation'")
    assert [p.data.tags["executor"] for p in parents] == ["ray"]

    boards = [
        zoo("leaderboard", "--output", "-", uri=uri, cwd=tmp_path, cache=tmp_path / "cache", data=subset_dir)
        for uri in (server.uri, local_uri)
    ]
    assert all(b.returncode == 0 for b in boards), boards[0].stderr + boards[1].stderr
    ray_rows, local_rows = (results_part(b.stdout) for b in boards)
    assert len(ray_rows) >= 6 and ray_rows == local_rows


def test_tracking_server_dropping_mid_run_loses_nothing(server, subset_dir, tmp_path):
    slow = ["-o", "filters=8", "-o", "epochs=40"]  # cnn jobs of a few seconds, so the drop lands mid-run
    env = dict(
        os.environ, MLFLOW_TRACKING_URI=server.uri, ZOO_CACHE_DIR=str(tmp_path / "cache"), ZOO_DATA_DIR=str(subset_dir)
    )
    before = server.finished_jobs()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", "eval", *JOBS, *slow],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 300
    while server.finished_jobs() <= before and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    server.stop()
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 3, out[-3000:]  # every job ran; results wait for `zoo sync`
    assert "stopped answering" in out and "zoo sync" in out
    journals = list((tmp_path / "cache" / "spool").rglob("*.jsonl"))
    assert len(journals) == 1

    server.start()
    synced = zoo("sync", uri=server.uri, cwd=tmp_path, cache=tmp_path / "cache", data=subset_dir)
    assert synced.returncode == 0 and "synced" in synced.stdout, synced.stdout + synced.stderr
    assert not list((tmp_path / "cache" / "spool").rglob("*.jsonl"))
    slow_keys = one_finished_run_per_job(server.uri)
    assert set(slow_keys.values()) == {1}
    # 6 jobs from the Ray test + 4 cnn jobs here (cnn options changed their keys; linear's did not)
    assert len(slow_keys) == 10
    rerun = zoo("eval", *JOBS, *slow, uri=server.uri, cwd=tmp_path, cache=tmp_path / "cache", data=subset_dir)
    assert rerun.returncode == 0 and "6 skipped" in rerun.stdout, rerun.stdout[-2000:]


def test_a_server_dropping_while_a_job_is_checked_goes_offline_instead_of_a_traceback(server, tmp_path, monkeypatch):
    """CI once failed the test above with a traceback and exit 1: the server went away just as the runner
    asked whether the next job had finished meanwhile (a read), and only writes went offline."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    tracker = Tracker(server.uri)
    server.stop()
    try:
        assert tracker.finished_job_keys("a-job-key") == set()  # unknown offline: the job runs, journalled
        assert tracker.journal is not None
        run = tracker.start_run("job", {"kind": "job"})
        assert run.startswith("offline-") and len(list((tmp_path / "spool").rglob("*.jsonl"))) == 1
    finally:
        server.start()


def test_sync_resumes_after_an_interrupted_replay_and_skips_a_torn_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    journal = spool.Journal("http://example.invalid")
    for i in range(4):
        journal.append("log_batch", run=f"run{i}", tags=[["n", str(i)]])
    with open(journal.path, "a") as fh:
        fh.write('{"op": "log_ba')  # a writer killed mid-line
    journal.path.rename(journal.path.with_name("otherhost-1-abcd.jsonl"))
    applied = []

    def flaky(op, fields, ids):
        if fields["run"] == "run2" and not applied.count("retry"):
            applied.append("retry")
            raise OSError("connection reset")
        applied.append(fields["run"])

    with pytest.raises(ZooError, match="cannot replay write 3 .*rerun `zoo sync`"):
        spool.replay("http://example.invalid", flaky)
    assert spool.replay("http://example.invalid", flaky) == 2
    assert [a for a in applied if a != "retry"] == ["run0", "run1", "run2", "run3"]  # nothing twice
    assert spool.pending("http://example.invalid") == []


def test_ray_requests_gpus_only_where_the_cluster_has_them():
    meta = {"cpus": 4, "gpus": 1}
    assert resources(meta, {"CPU": 16, "GPU": 8}) == {"num_cpus": 4.0, "num_gpus": 1.0}
    assert resources(meta, {"CPU": 16}) == {"num_cpus": 4.0, "num_gpus": 0.0}
    assert resources(meta, {"CPU": 2}) == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert resources({}, {"CPU": 2, "GPU": 1}) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert absolute_store("sqlite:///mlflow.db") == f"sqlite:///{os.path.abspath('mlflow.db')}"


def test_ray_on_a_cluster_refuses_a_local_store(mlflow_uri):
    with pytest.raises(ZooError, match="cannot write to the local store .*MLFLOW_TRACKING_URI=http"):
        RayExecutor("ray://head:10001").check(Tracker(mlflow_uri))


CRASHING_PLUGIN = """
import os
from zoo import hookimpl

class Crash:
    params = {}

    def fit(self, train, valid):
        os._exit(17)  # the worker process dies, as under the kernel's out-of-memory killer

    def predict(self, sequences):
        return []

@hookimpl
def register_models(register):
    register("crash", lambda **kw: Crash(), pretrained=False, deterministic=True)
"""


def test_ray_worker_death_fails_only_its_job(subset_dir, tmp_path):
    site = tmp_path / "site"  # an installed plugin, as Ray's workers see it: a module and its dist-info
    (site / "zoo_crash-0.1.dist-info").mkdir(parents=True)
    (site / "zoo_crash.py").write_text(CRASHING_PLUGIN)
    (site / "zoo_crash-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-crash\nVersion: 0.1\n")
    (site / "zoo_crash-0.1.dist-info" / "entry_points.txt").write_text("[protein_zoo]\ncrash = zoo_crash\n")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(
        os.environ,
        MLFLOW_TRACKING_URI=uri,
        ZOO_DATA_DIR=str(subset_dir),
        RAY_AUTH_MODE="disabled",
        PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo.cli",
            "eval",
            "--executor",
            "ray",
            "--model",
            "crash",
            "--model",
            "linear",
            "--task",
            "stability",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    runs = {r["tags.model"]: r for r in Tracker(uri).job_runs()}
    # the recorded message, not the console's (whose lines a narrow terminal may wrap)
    message = runs["crash"].get("tags.message", "")
    assert message.startswith("the Ray worker running this job died"), (message, done.stdout[-3000:])
    assert runs["crash"]["status"] == "FAILED" and runs["crash"]["tags.outcome"] == "failed"
    assert runs["linear"]["status"] == "FINISHED" and runs["linear"]["tags.outcome"] == "ok"
