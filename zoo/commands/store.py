"""The tracking store: ``zoo ui`` and ``zoo sync``."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from zoo.commands import command


def add(sub, common) -> None:
    command(
        sub,
        "sync",
        sync,
        help="send results kept while the tracking server was down",
        description="Replay, in order, the MLflow writes that `zoo eval` kept on disk while the "
        "tracking server was unreachable. Safe to interrupt and rerun.",
    )
    p = command(
        sub,
        "ui",
        ui,
        help="start the MLflow UI on this machine against the same store",
        description="Start `mlflow ui` against MLFLOW_TRACKING_URI (default sqlite:///mlflow.db).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")


def sync(args: argparse.Namespace) -> int:
    from zoo.tracking import Tracker

    tracker = Tracker()  # a clear error if the server is still down
    applied = tracker.sync_pending()
    if applied:
        print(f"synced {applied} tracking writes kept while {tracker.uri} was unreachable")
    else:
        print(f"nothing to sync for {tracker.uri} (spool: {tracker.spool_dir()})")
    return 0


def ui(args: argparse.Namespace) -> int:
    import subprocess

    from zoo.tracking import Tracker

    tracker = Tracker()
    # MLflow 3 opens an experiment on its GenAI overview; the runs table is this page
    print(
        f"MLflow UI for {tracker.uri}\nruns table: http://{args.host}:{args.port}/#/experiments/"
        f"{tracker.experiment_id}/runs\nCtrl-C to stop.",
        flush=True,
    )
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracker.uri,
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    # the zoo has no use for MLflow's GenAI job runners: half a dozen extra processes
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    # the server and its workers in a process group of their own, which `zoo ui` stops however it is
    # stopped (Ctrl-C, SIGTERM from a service manager or `kill`), so nothing is left on the port
    server = subprocess.Popen(cmd, env=env, start_new_session=True)

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # both signals explicitly: a process started in the background of a script inherits SIGINT ignored
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
