"""Who runs a job: a per-job claim between processes, and the end of runs their process left behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from typing import Iterator

from zoo import names
from zoo.run_reads import RunReads
from zoo.run_writes import RunWrites
from zoo.store_connection import process_alive


class JobClaims(RunWrites, RunReads):
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

    def mark_killed(self, run_id: str, why: str) -> None:
        """Tag a run that will never finish as killed: with how far its training got, where an epoch ended
        (the page's "Models that did not run" then says what a rerun resumes), else with ``why``."""
        self.set_tags(run_id, {names.OUTCOME: "killed", names.MESSAGE: self.training_progress(run_id) or why})
