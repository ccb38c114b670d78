"""Writes that could not reach the MLflow tracking server, kept on disk until ``zoo sync``.

When the server drops mid-run, the tracker stops calling it and appends each write (create
run, log batch, log artifact, terminate) to a journal: one JSON line per write, artifacts
copied beside it. ``zoo sync`` (and the next ``zoo eval``, before it plans) replays the
journals in order against the server. Progress is saved after every write, so a sync that
is itself interrupted resumes without duplicating runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

from zoo import ZooError
from zoo.cache import cache_dir
from zoo.files import write_atomic
from zoo.store_connection import StoreConnection, connection_lost, server_answers


def spool_dir(uri: str) -> Path:
    """One folder per tracking URI, in the zoo's cache (``ZOO_CACHE_DIR``)."""
    return cache_dir() / "spool" / hashlib.sha256(uri.encode()).hexdigest()[:16]


class Journal:
    """Append-only record of one process's offline writes."""

    def __init__(self, uri: str):
        self.root = spool_dir(uri)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = self.root / f"{self.name}.jsonl"

    def append(self, op: str, **fields: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if op == "log_artifact":  # the temporary file is gone by replay time: keep a copy
            dest = self.root / self.name / uuid.uuid4().hex[:8] / Path(fields["path"]).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fields["path"], dest)
            fields["path"] = str(dest)
        with open(self.path, "a") as fh:  # one line per write; a torn last line is skipped on replay
            fh.write(json.dumps({"op": op, **fields}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _writer_alive(path: Path) -> bool:
    """A journal still being written by a live process on this host is left alone."""
    parts = path.stem.rsplit("-", 2)  # <host>-<pid>-<random>
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit() or int(parts[1]) == os.getpid():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending(uri: str) -> list[Path]:
    root = spool_dir(uri)
    return sorted(p for p in root.glob("*.jsonl") if not _writer_alive(p)) if root.exists() else []


def replay(uri: str, apply: Callable[[str, dict[str, Any], dict[str, str]], str | None]) -> int:
    """Apply every journaled write in order; ``apply(op, fields, ids)`` performs one write, mapping
    offline run ids through ``ids``, and returns the real id of a run it created. Returns the number
    of writes applied. A journal is deleted once fully applied."""
    applied = 0
    for path in pending(uri):
        state_path = path.with_suffix(".state")
        state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {"done": 0, "ids": {}}
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if number < state["done"]:
                continue
            try:
                entry = json.loads(line)
            except ValueError:  # the process was killed while writing this line
                continue
            op = entry.pop("op")
            try:
                created = apply(op, entry, state["ids"])
            except Exception as exc:
                raise ZooError(
                    f"cannot replay write {number + 1} ({op}) of {path}: {type(exc).__name__}: {str(exc)[:300]}. "
                    f"The writes before it are applied and will not be repeated. Fix: if the server is back, "
                    f"rerun `zoo sync`; if its store was reset, so that the run is gone, delete {path} "
                    f"(and rerun those jobs with zoo eval)."
                ) from exc
            if created:
                state["ids"][entry["id"]] = created
            state["done"] = number + 1
            applied += 1
            write_atomic(state_path, json.dumps(state))  # progress survives a kill: a rerun skips what was applied
        shutil.rmtree(path.with_suffix(""), ignore_errors=True)
        path.unlink()
        state_path.unlink(missing_ok=True)
    return applied


class Spooling(StoreConnection):
    """The tracker's side of the spool: switching to the journal when a tracking server drops."""

    def _go_offline(self, exc: BaseException) -> bool:
        """After a failed call: if a tracking server stopped answering, keep the rest of this process's
        writes in a journal for `zoo sync` and say so; False when the failure is something else."""
        remote = self.uri.startswith(("http://", "https://"))
        if not remote or not (connection_lost(exc) or not server_answers(self.uri)):
            return False
        self.journal = Journal(self.uri)
        print(
            f"zoo: warning: the MLflow tracking server {self.uri} stopped answering "
            f"({type(exc).__name__}). Results are kept in {self.journal.path} until `zoo sync`.",
            file=sys.stderr,
            flush=True,
        )
        return True

    def unsynced(self) -> bool:
        from zoo import spool

        return bool(spool.pending(self.uri) or self.journal)

    def spool_dir(self) -> Path:
        from zoo import spool

        return spool.spool_dir(self.uri)
