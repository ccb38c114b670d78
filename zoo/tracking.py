"""MLflow writes and reads. mlflow is imported here only, and lazily: it costs over a second.

One experiment (``protein-zoo``) holds everything: a parent run per ``zoo eval``
invocation and a child run per (model, task, seed). Tags have plain names so
they work in the UI's search box, e.g. ``tags.task = 'stability' and tags.pretrained = 'true'``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from zoo import ZooError, names

EXPERIMENT = "protein-zoo"
JOB_FILTER = f"tags.{names.KIND} = '{names.JOB}'"


class Tracker:
    def __init__(self, uri: str | None = None, experiment: str = EXPERIMENT):
        import mlflow
        from mlflow.tracking import MlflowClient

        self.experiment = experiment
        self.journal: Any = None  # a zoo.spool.Journal once a tracking server drops mid-run
        self.uri = uri or mlflow.get_tracking_uri()  # MLFLOW_TRACKING_URI, else sqlite:///mlflow.db
        configure_mlflow_client(self.uri)
        if self.uri.startswith(("http://", "https://")):
            probe_server(self.uri)
        try:
            artifacts = None
            if self.uri.startswith("sqlite:///") and not self.uri.startswith("sqlite:///file:"):
                path = _create_sqlite_atomically(self.uri)
                # a sqlite store keeps its artifacts beside it, so a store is one folder a user can move
                artifacts = (path.resolve().parent / "mlartifacts").as_uri()
            self.client = MlflowClient(self.uri)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id if found else self.client.create_experiment(experiment, artifact_location=artifacts)
            )
        except Exception as exc:  # mlflow raises many types for an unreachable or broken store
            raise ZooError(
                f"cannot use the MLflow tracking store {self.uri}: {type(exc).__name__}: {str(exc)[:300]}. "
                f"Fix: start that server or repair the store, or unset MLFLOW_TRACKING_URI to use "
                f"sqlite:///mlflow.db in this folder."
            ) from exc

    # Every write goes through _write: online it calls the store; once a tracking server has
    # dropped, it goes to the journal instead (zoo/spool.py), for `zoo sync` to replay.
    def start_run(
        self, name: str, tags: dict[str, str], params: dict[str, Any] | None = None, parent: str | None = None
    ) -> str:
        if parent:
            tags = {**tags, "mlflow.parentRunId": parent}
        run_id = str(self._write("create_run", experiment_id=self.experiment_id, name=name, tags=tags))
        if params:
            self.log_params(run_id, params)
        return run_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [(k, str(v)[:6000]) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            self._write("log_batch", run=run_id, params=items[start : start + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
        """``step``: the epoch for per-epoch training metrics, so the UI draws them as curves."""
        now = int(time.time() * 1000)
        self._write("log_batch", run=run_id, metrics=[(k, float(v), now, step) for k, v in sorted(metrics.items())])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        self._write("log_batch", run=run_id, tags=[(k, str(v)[:5000]) for k, v in sorted(tags.items())])

    def log_table(self, run_id: str, frame, filename: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            frame.to_csv(path, index=False)
            self._write("log_artifact", run=run_id, path=str(path))

    def log_file(self, run_id: str, path: str | Path) -> None:
        self._write("log_artifact", run=run_id, path=str(path))

    def log_figure(self, run_id: str, draw, filename: str) -> None:
        """``draw(path)`` writes a picture; it is logged as an artifact of the run."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            draw(path)
            self._write("log_artifact", run=run_id, path=str(path))

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self._write("terminate", run=run_id, status=status)

    def _write(self, op: str, **fields: Any) -> str | None:
        if self.journal is None:
            try:
                return self.apply(op, fields, {})
            except Exception as exc:
                if not self._go_offline(exc):
                    text = str(exc)
                    first = (
                        "the store is read-only (attempt to write a readonly database)"
                        if "readonly" in text
                        else (text.strip().splitlines() or [""])[0][:300]
                    )
                    raise ZooError(
                        f"the MLflow store {self.uri} refused a write ({type(exc).__name__}: {first}). "
                        f"Fix: make the store writable (file permissions, disk space), or point "
                        f"MLFLOW_TRACKING_URI at a store you can write to."
                    ) from exc
        if op == "create_run":
            fields["id"] = f"offline-{uuid.uuid4().hex}"
        self.journal.append(op, **fields)
        return fields.get("id")

    def _go_offline(self, exc: BaseException) -> bool:
        """After a failed call: if a tracking server stopped answering, keep the rest of this process's
        writes in a journal for `zoo sync` and say so; False when the failure is something else."""
        remote = self.uri.startswith(("http://", "https://"))
        if not remote or not (connection_lost(exc) or not server_answers(self.uri)):
            return False
        from zoo.spool import Journal

        self.journal = Journal(self.uri)
        print(
            f"zoo: warning: the MLflow tracking server {self.uri} stopped answering "
            f"({type(exc).__name__}). Results are kept in {self.journal.path} until `zoo sync`.",
            file=sys.stderr,
            flush=True,
        )
        return True

    def apply(self, op: str, fields: dict[str, Any], ids: dict[str, str]) -> str | None:
        """Perform one write on the store; ``ids`` maps offline run ids to real ones (for replay)."""
        from mlflow.entities import Metric, Param, RunTag

        if op == "create_run":
            tags = {k: ids.get(v, v) if k == "mlflow.parentRunId" else v for k, v in fields["tags"].items()}
            run = self.client.create_run(fields["experiment_id"], run_name=fields["name"], tags=tags)
            return run.info.run_id
        run_id = ids.get(fields["run"], fields["run"])
        if op == "log_batch":
            self.client.log_batch(
                run_id,
                params=[Param(k, v) for k, v in fields.get("params", [])],
                metrics=[Metric(k, v, t, *(rest or [0])) for k, v, t, *rest in fields.get("metrics", [])],
                tags=[RunTag(k, v) for k, v in fields.get("tags", [])],
            )
        elif op == "log_artifact":
            self.client.log_artifact(run_id, fields["path"])
        elif op == "log_inputs":
            from mlflow.entities import Dataset, DatasetInput, InputTag

            inputs = [
                DatasetInput(
                    Dataset(d["name"], d["digest"], d["source_type"], d["source"]),
                    [InputTag("mlflow.data.context", d["context"])],
                )
                for d in fields["datasets"]
            ]
            try:
                self.client.log_inputs(run_id, inputs)
            except Exception as exc:
                # MLflow's SQL store looks a dataset up, then inserts it: two jobs logging the same task's
                # splits at once (Ray workers) both insert, and one fails. Its transaction rolled back;
                # once more finds the other's row and only links it.
                if "UNIQUE constraint failed: datasets" not in str(exc):
                    raise
                self.client.log_inputs(run_id, inputs)
        elif op == "terminate":
            self.client.set_terminated(run_id, fields["status"])
        else:
            raise ValueError(f"unknown tracking write {op!r}")
        return None

    # The spool (zoo/spool.py) is the tracker's own: the journal of writes kept while a tracking
    # server was unreachable. Callers see only these four methods.
    def sync(self) -> int:
        """Replay the writes kept while the server was unreachable; returns how many were applied."""
        from zoo import spool

        return spool.replay(self.uri, self.apply)

    def sync_pending(self) -> int:
        """Replay kept writes if there are any (before planning, so their jobs count as finished)."""
        from zoo import spool

        return self.sync() if spool.pending(self.uri) else 0

    def unsynced(self) -> bool:
        from zoo import spool

        return bool(spool.pending(self.uri) or self.journal)

    def spool_dir(self) -> Path:
        from zoo import spool

        return spool.spool_dir(self.uri)

    def predictions(self, run_id: str):
        """A job's ``test_predictions.csv`` (sequence, target, prediction) as a DataFrame, predictions
        rounded to float32 as the results bundle keeps them (zoo.bundle.as_float32)."""
        import pandas as pd

        from zoo.bundle import as_float32

        frame = pd.read_csv(self.client.download_artifacts(run_id, names.PREDICTIONS))
        frame["prediction"] = as_float32(frame["prediction"])
        return frame

    def metric_histories(self, run_id: str, keys) -> dict[str, list[list[float]]]:
        """Each key's logged values as ``[step, value]`` pairs, in step order (a training's curves)."""
        return {
            key: [[m.step, m.value] for m in sorted(self.client.get_metric_history(run_id, key), key=lambda m: m.step)]
            for key in sorted(keys)
        }

    def import_run(self, record: dict, predictions, extra_tags: dict[str, str]) -> str:
        """Recreate an exported run (zoo.bundle) here, with its times, status, datasets and predictions."""
        tags = {k: str(v) for k, v in record.get("tags", {}).items() if k != "mlflow.parentRunId"}
        run = self.client.create_run(
            self.experiment_id,
            start_time=record.get("start_time"),
            tags={**tags, **extra_tags},
            run_name=record.get("run_name"),
        )
        run_id = run.info.run_id
        self.log_params(run_id, record.get("params", {}))
        stamp = int(record.get("end_time") or record.get("start_time") or time.time() * 1000)
        curves = record.get("histories", {})  # per-epoch metrics at their steps, so the UI draws the curves
        metrics = [(k, float(v), stamp, 0) for k, v in sorted(record.get("metrics", {}).items()) if k not in curves]
        metrics += [(k, float(v), stamp, int(step)) for k, points in sorted(curves.items()) for step, v in points]
        for start in range(0, len(metrics), 1000):  # MLflow caps a batch at 1000 metrics
            self._write("log_batch", run=run_id, metrics=metrics[start : start + 1000])
        if record.get("datasets"):
            self._write("log_inputs", run=run_id, datasets=record["datasets"])
        if predictions is not None:
            self.log_table(run_id, predictions, names.PREDICTIONS)
        self.client.set_terminated(run_id, record.get("status", "FINISHED"), end_time=record.get("end_time"))
        return run_id

    def end_children(self, parent: str, status: str, *, job_key: str | None = None, message: str = "") -> None:
        """End the children of ``parent`` still marked running (after Ctrl-C, or a worker that died)."""
        if self.journal is not None:  # offline: nothing can be searched; a rerun redoes unfinished jobs
            return
        query = f"tags.mlflow.parentRunId = '{parent}' and attributes.status = 'RUNNING'"
        if job_key:
            query += f" and tags.job_key = '{job_key}'"
        for run in self.client.search_runs([self.experiment_id], query, max_results=50000):
            if message:
                self.set_tags(run.info.run_id, {"outcome": "failed", "message": message[:1000]})
            elif status == "KILLED":
                self.mark_killed(run.info.run_id, "the zoo eval running it was interrupted")
            self.end_run(run.info.run_id, status)

    def finished_job_keys(self, key: str | None = None) -> set[str]:
        """Job keys with a finished, successful run (only ``key``'s, when given)."""
        if self.journal is not None:  # offline: the journal's runs are not searchable
            return set()
        query = f"{JOB_FILTER} and tags.{names.OUTCOME} = 'ok' and attributes.status = 'FINISHED'"
        if key:
            query += f" and tags.{names.JOB_KEY} = '{key}'"
        try:
            runs = self.client.search_runs([self.experiment_id], query, max_results=50000)
        except Exception as exc:  # asked before each job: the server may drop between two jobs
            if self._go_offline(exc):
                return set()
            raise
        return {r.data.tags.get(names.JOB_KEY, "") for r in runs}

    @staticmethod
    def owner_tags() -> dict[str, str]:
        """Which process writes a run, so a later zoo eval can tell a killed run from a running one."""
        return {names.HOST: socket.gethostname(), names.PID: str(os.getpid())}

    def end_orphans(self) -> int:
        """Mark KILLED the runs left RUNNING by a zoo eval on this machine that no longer exists
        (SIGKILL, power loss), as MLflow users expect; returns how many."""
        if self.journal is not None:
            return 0
        query = f"attributes.status = 'RUNNING' and tags.{names.HOST} = '{socket.gethostname()}'"
        ended = 0
        for run in self.client.search_runs([self.experiment_id], query, max_results=50000):
            if not process_alive(run.data.tags.get(names.PID, "")):
                self.mark_killed(run.info.run_id, "the zoo eval running it was killed")
                self.end_run(run.info.run_id, "KILLED")
                ended += 1
        return ended

    def mark_killed(self, run_id: str, why: str) -> None:
        """Tag a run that will never finish as killed: with how far its training got, where an epoch ended
        (the page's "Models that did not run" then says what a rerun resumes), else with ``why``."""
        self.set_tags(run_id, {names.OUTCOME: "killed", names.MESSAGE: self.training_progress(run_id) or why})

    def resume_command(self, tags: dict[str, str]) -> str:
        """The zoo eval that started a job's run (of these tags), as typed (its invocation's ``command``), or ''."""
        parent = tags.get("mlflow.parentRunId")
        command = self.client.get_run(parent).data.params.get("command", "") if parent else ""
        return command if command.startswith("zoo ") else ""

    def training_progress(self, run_id: str) -> str:
        """How far a stopped job's training got, from its per-epoch metrics ('' when no epoch ended, so
        there is no checkpoint to resume from)."""
        run = self.client.get_run(run_id)
        metrics = run.data.metrics
        parts, members = [], False
        for loss_key in sorted(k for k in metrics if k.endswith(names.EPOCH_TRAIN_LOSS)):
            part = loss_key.removesuffix(names.EPOCH_TRAIN_LOSS).rstrip("_")  # an ensemble's member, or ''
            last = max(m.step for m in self.client.get_metric_history(run_id, loss_key))
            valid = [
                m
                for m in self.client.get_metric_history(
                    run_id, loss_key.replace(names.EPOCH_TRAIN_LOSS, names.EPOCH_VALID_SPEARMAN)
                )
                if math.isfinite(m.value)
            ]
            best = max(valid, key=lambda m: (m.value, -m.step), default=None)
            best_note = f" (best valid Spearman {best.value:.3f}, epoch {best.step})" if best else ""
            parts.append(f"{part} after epoch {last}{best_note}".lstrip())
            members = members or bool(part)
        if not parts:
            return ""
        with_parts = "with " if members else ""
        command = self.resume_command(run.data.tags)
        return (
            f"stopped {with_parts}{'; '.join(parts)}. Fix: rerun {f'`{command}`' if command else 'the same zoo eval'}: "
            "it resumes from its last checkpoint (that epoch's, or one saved inside a later epoch) where "
            "ZOO_CHECKPOINT_DIR (unset: ZOO_CACHE_DIR) still holds it, "
            "else it starts over"
        )

    @contextlib.contextmanager
    def claim(self, key: str) -> Iterator[bool]:
        """Hold job ``key`` for this process, or yield False when another process holds it.

        An advisory file lock per (store, job key): two zoo evals on one machine and one store never
        run the same job twice, and the lock dies with its process, so a kill leaves no stale claim.
        Workers on other machines (a Ray cluster) are kept apart by the driver's plan instead."""
        import fcntl

        from zoo.cache import cache_dir

        folder = cache_dir() / "claims" / hashlib.sha256(self.uri.encode()).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{key}.lock", "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def log_datasets(self, run_id: str, task: str, data, splits: dict) -> None:
        """Each split a job saw, as an MLflow dataset input (name, digest, source, context), so the UI's
        Datasets column shows which data a run used."""
        digest = hashlib.sha256(",".join(sorted(data.files.values())).encode()).hexdigest()[:16]
        source = ",".join(data.files) or f"task {task}"
        inputs = []
        for context, split in splits.items():
            content = hashlib.sha256("\n".join(split.sequences).encode() + split.targets.tobytes()).hexdigest()
            inputs.append(
                {
                    "name": f"{task}-{context}",
                    "digest": content[:16],
                    "source_type": "local",
                    "source": json.dumps({"files": source, "task_digest": digest, "rows": len(split)}),
                    "context": context,
                }
            )
        self._write("log_inputs", run=run_id, datasets=inputs)

    def job_runs(self) -> list[dict[str, Any]]:
        """Every job run, flattened: ``run_id``, ``status``, ``start_time``, ``tags.*``, ``params.*``, ``metrics.*``."""
        rows, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], JOB_FILTER, max_results=1000, page_token=token)
            for run in page:
                row = {
                    "run_id": run.info.run_id,
                    "run_name": run.info.run_name,
                    "status": run.info.status,
                    "start_time": run.info.start_time,
                    "end_time": run.info.end_time,
                    "datasets": [dataset_record(d) for d in (run.inputs.dataset_inputs if run.inputs else [])],
                }
                for prefix, values in (
                    ("tags", run.data.tags),
                    ("params", run.data.params),
                    ("metrics", run.data.metrics),
                ):
                    row.update({f"{prefix}.{k}": v for k, v in values.items()})
                rows.append(row)
            token = page.token
            if not token:
                return rows


def dataset_record(dataset_input) -> dict[str, str]:
    """An MLflow dataset input as plain data (what log_inputs takes back)."""
    d = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
    return {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source, "context": context}


def process_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def configure_mlflow_client(uri: str) -> None:
    """MLflow's client is configured through environment variables only, so the tracker sets these
    (unless the user already has): no artifact download bars in `zoo compare` or `zoo leaderboard`;
    and, for a tracking server, retries cut from minutes to seconds (results then go to the journal,
    see Tracker._write) and one line per run ended instead of a URL per run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow logs a full SQLAlchemy traceback before raising; the zoo reports the error in one line
    import logging

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def probe_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, before any compute, when a tracking server does not answer.

    MLflow's own client retries with back-off for minutes before it gives up.
    """
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ZooError(
            f"cannot reach the MLflow tracking server at {uri} ({reason}). Fix: start it "
            f"(mlflow server --host 127.0.0.1 ...), correct MLFLOW_TRACKING_URI, or unset it to "
            f"track into sqlite:///mlflow.db here. Nothing was computed."
        ) from exc


def server_answers(uri: str) -> bool:
    try:
        probe_server(uri)
    except ZooError:
        return False
    return True


def connection_lost(exc: BaseException | None) -> bool:
    """Whether a failed MLflow call failed for want of a connection (refused, reset, timed out).

    MLflow wraps the requests error in its own exception, so the whole chain is searched."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, (ConnectionError, TimeoutError)) or type(exc).__name__ in (
            "ConnectionError",
            "ConnectTimeout",
            "ReadTimeout",
            "MaxRetryError",
            "NewConnectionError",
        ):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _create_sqlite_atomically(uri: str) -> Path:
    """MLflow builds a new sqlite store with a series of migrations; a process killed halfway
    leaves a store that no later run can open. So a new store is built under a temporary name
    and renamed into place once complete; half-built ones of killed processes are removed."""
    from mlflow.tracking import MlflowClient

    path = Path(uri[len("sqlite:///") :].split("?", 1)[0])
    for stale in path.parent.glob(f".{path.name}.*.creating"):
        if not process_alive(stale.name.split(".")[-2]):
            stale.unlink(missing_ok=True)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.creating")
    tmp.unlink(missing_ok=True)
    MlflowClient(f"sqlite:///{tmp}").search_experiments()  # runs the migrations
    os.replace(tmp, path)
    return path
