"""The connection to an MLflow store, which every part of the tracker shares: opening (or creating) the
store, and telling a dropped tracking server from other failures. mlflow is imported lazily: it costs
over a second."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from zoo import ZooError, names

EXPERIMENT = "protein-zoo"
JOB_FILTER = f"tags.{names.KIND} = '{names.JOB}'"


class StoreConnection:
    """An open store: ``uri``, ``client``, ``experiment_id``, and ``journal`` once a server dropped."""

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
                check_sqlite(path)
                # a sqlite store keeps its artifacts beside it, so a store is one folder a user can move
                artifacts = (path.resolve().parent / "mlartifacts").as_uri()
            self.client = MlflowClient(self.uri)
            if artifacts:
                _truncate_journal(self.client)
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = (
                found.experiment_id if found else self.client.create_experiment(experiment, artifact_location=artifacts)
            )
        except ZooError:
            raise
        except Exception as exc:  # mlflow raises many types for an unreachable or broken store
            raise ZooError(
                f"cannot use the MLflow tracking store {self.uri}: {type(exc).__name__}: {str(exc)[:300]}. "
                f"Fix: start that server or repair the store, or unset MLFLOW_TRACKING_URI to use "
                f"sqlite:///mlflow.db in this folder."
            ) from exc


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
    try:  # link, not rename: a store another process put there first is never replaced under it
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_sqlite(path: Path) -> None:
    """SQLite's ``quick_check`` on a store before it is used: a damaged file is refused with the fix,
    rather than written to (it costs milliseconds on the published store's 20 MB)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
        found = "; ".join(str(r[0]) for r in rows[:3]) if rows != [("ok",)] else ""
    except sqlite3.DatabaseError as exc:
        found = str(exc)
    if found:
        raise ZooError(
            f"the MLflow store {path} is damaged (SQLite quick_check: {found[:200]}). Fix: restore it from a "
            f"backup, or move it aside and start a new store (the published runs come back with "
            f"`zoo import leaderboard/runs`)."
        )


def _truncate_journal(client: Any) -> None:
    """SQLite's default rollback journal is a file created and deleted at every commit, and MLflow commits
    several times a run; TRUNCATE empties it instead, with the same durability (per connection: the
    store file is unchanged). About 14% of `zoo import`'s time (bench/results/import_speed.json)."""
    engine = getattr(getattr(getattr(client, "_tracking_client", None), "store", None), "engine", None)
    if engine is None:  # another MLflow layout: keep its defaults
        return
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _journal(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA journal_mode=TRUNCATE")

    engine.dispose()  # connections opened before the listener get it too
