"""MLflow writes and reads. mlflow is imported here only, and lazily: it costs over a second.

One experiment (``protein-zoo``) holds everything: a parent run per ``zoo eval``
invocation and a child run per (model, task, seed). Tags have plain names so
they work in the UI's search box, e.g. ``tags.task = 'stability' and tags.pretrained = 'true'``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from zoo import ZooError

EXPERIMENT = "protein-zoo"
JOB_FILTER = "tags.kind = 'job'"


class Tracker:
    def __init__(self, uri: str | None = None, experiment: str = EXPERIMENT):
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = uri or mlflow.get_tracking_uri()  # MLFLOW_TRACKING_URI, else sqlite:///mlflow.db
        if self.uri.startswith(("http://", "https://")):
            probe_server(self.uri)
        self.client = MlflowClient(self.uri)
        try:
            found = self.client.get_experiment_by_name(experiment)
            self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        except Exception as exc:  # mlflow raises many types for an unreachable or broken store
            raise ZooError(
                f"cannot use the MLflow tracking store {self.uri}: {type(exc).__name__}: {str(exc)[:300]}. "
                f"Fix: start that server or repair the store, or unset MLFLOW_TRACKING_URI to use "
                f"sqlite:///mlflow.db in this folder."
            ) from exc

    def start_run(self, name: str, tags: dict[str, str], params: dict[str, Any] | None = None,
                  parent: str | None = None) -> str:
        if parent:
            tags = {**tags, "mlflow.parentRunId": parent}
        run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
        if params:
            self.log_params(run.info.run_id, params)
        return run.info.run_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in sorted(params.items())]
        for start in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            self.client.log_batch(run_id, params=items[start:start + 100])

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())])

    def set_tags(self, run_id: str, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(run_id, tags=[RunTag(k, str(v)[:5000]) for k, v in sorted(tags.items())])

    def log_table(self, run_id: str, frame, filename: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            frame.to_csv(path, index=False)
            self.client.log_artifact(run_id, str(path))

    def log_figure(self, run_id: str, draw, filename: str) -> None:
        """``draw(path)`` writes a picture; it is logged as an artifact of the run."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            draw(path)
            self.client.log_artifact(run_id, str(path))

    def predictions(self, run_id: str):
        """A job's ``test_predictions.csv`` (sequence, target, prediction) as a DataFrame."""
        import pandas as pd

        return pd.read_csv(self.client.download_artifacts(run_id, "test_predictions.csv"))

    def end_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    def finished_job_keys(self) -> set[str]:
        runs = self.client.search_runs([self.experiment_id], f"{JOB_FILTER} and tags.outcome = 'ok' "
                                       f"and attributes.status = 'FINISHED'", max_results=50000)
        return {r.data.tags.get("job_key") for r in runs}

    def job_runs(self) -> list[dict[str, Any]]:
        """Every job run, flattened: ``run_id``, ``status``, ``start_time``, ``tags.*``, ``params.*``, ``metrics.*``."""
        rows, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], JOB_FILTER, max_results=1000, page_token=token)
            for run in page:
                row = {"run_id": run.info.run_id, "status": run.info.status, "start_time": run.info.start_time}
                for prefix, values in (("tags", run.data.tags), ("params", run.data.params),
                                       ("metrics", run.data.metrics)):
                    row.update({f"{prefix}.{k}": v for k, v in values.items()})
                rows.append(row)
            token = page.token
            if not token:
                return rows


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
        raise ZooError(f"cannot reach the MLflow tracking server at {uri} ({reason}). Fix: start it "
                       f"(mlflow server --host 127.0.0.1 ...), correct MLFLOW_TRACKING_URI, or unset it to "
                       f"track into sqlite:///mlflow.db here. Nothing was computed.") from exc
