"""Whole-run records: the datasets a job saw, and a run recreated from a results bundle."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

from zoo import names
from zoo.run_writes import RunWrites


class RunRecords(RunWrites):
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

    def import_run(self, record: dict, predictions_csv: str | None, extra_tags: dict[str, str]) -> str:
        """Recreate an exported run (zoo.bundle) here, with its times, status, datasets and predictions
        (``predictions_csv``: the text of its ``test_predictions.csv``). Five store calls a run: params and
        metrics go together in batches, each within MLflow's caps."""
        tags = {k: str(v) for k, v in record.get("tags", {}).items() if k != "mlflow.parentRunId"}
        try:
            run = self.client.create_run(
                self.experiment_id,
                start_time=record.get("start_time"),
                tags={**tags, **extra_tags},
                run_name=record.get("run_name"),
            )
        except Exception as exc:  # a read-only or full store: one line, not SQLAlchemy's traceback
            raise self.refused(exc) from exc
        run_id = run.info.run_id
        params = [(k, str(v)[:6000]) for k, v in sorted(record.get("params", {}).items())]
        stamp = int(record.get("end_time") or record.get("start_time") or time.time() * 1000)
        curves = record.get("histories", {})  # per-epoch metrics at their steps, so the UI draws the curves
        metrics = [(k, float(v), stamp, 0) for k, v in sorted(record.get("metrics", {}).items()) if k not in curves]
        metrics += [(k, float(v), stamp, int(step)) for k, points in sorted(curves.items()) for step, v in points]
        # MLflow caps a batch at 100 params and 1000 metrics
        for batch in range(max(1, -(-len(params) // 100), -(-len(metrics) // 1000))):
            self._write(
                "log_batch",
                run=run_id,
                params=params[batch * 100 : (batch + 1) * 100],
                metrics=metrics[batch * 1000 : (batch + 1) * 1000],
            )
        if record.get("datasets"):
            self._write("log_inputs", run=run_id, datasets=record["datasets"])
        if predictions_csv is not None:
            self._log_text(run_id, run.info.artifact_uri, predictions_csv, names.PREDICTIONS)
        try:
            self.client.set_terminated(run_id, record.get("status", "FINISHED"), end_time=record.get("end_time"))
        except Exception as exc:
            raise self.refused(exc) from exc
        return run_id

    def _log_text(self, run_id: str, artifact_uri: str, text: str, filename: str) -> None:
        """An artifact from text. A store with local artifacts (a sqlite store keeps them beside it) gets
        the file written in place, once, instead of written to a temporary file and copied: a
        fluorescence run's predictions are 6.5 MB."""
        if artifact_uri.startswith("file://"):
            from urllib.parse import unquote, urlparse

            from zoo.files import write_atomic

            write_atomic(Path(unquote(urlparse(artifact_uri).path)) / filename, text)
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_text(text)
            self._write("log_artifact", run=run_id, path=str(path))
