"""Writes to the MLflow store: runs, params, metrics, tags, artifacts; once a tracking server has
dropped, they go to the journal instead (zoo/spool.py), and ``sync`` replays them."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from zoo import ZooError
from zoo.spool import Spooling


class RunWrites(Spooling):
    # Every write goes through _write: online it calls the store; offline it goes to the journal.
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
                    raise self.refused(exc) from exc
        if op == "create_run":
            fields["id"] = f"offline-{uuid.uuid4().hex}"
        self.journal.append(op, **fields)
        return fields.get("id")

    def refused(self, exc: BaseException) -> ZooError:
        """A write the store refused, as one line with the fix."""
        text = str(exc)
        first = (
            "the store is read-only (attempt to write a readonly database)"
            if "readonly" in text
            else (text.strip().splitlines() or [""])[0][:300]
        )
        return ZooError(
            f"the MLflow store {self.uri} refused a write ({type(exc).__name__}: {first}). "
            f"Fix: make the store writable (file permissions, disk space), or point "
            f"MLFLOW_TRACKING_URI at a store you can write to."
        )

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
