"""Reads from the MLflow store: job runs, which jobs finished, predictions, training curves and how
far a stopped training got."""

from __future__ import annotations

import math
from typing import Any

from zoo import names
from zoo.spool import Spooling
from zoo.store_connection import JOB_FILTER


class RunReads(Spooling):
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


def dataset_record(dataset_input) -> dict[str, str]:
    """An MLflow dataset input as plain data (what log_inputs takes back)."""
    d = dataset_input.dataset
    context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), "")
    return {"name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source, "context": context}
