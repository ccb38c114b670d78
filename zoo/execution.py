"""Executing one job: build the model, fit it on the train split and the selection split, predict valid
and test, score them, and record everything in its MLflow run. Planning and claiming jobs are
zoo/runner.py's."""

from __future__ import annotations

import json
import math
import time
import traceback
from typing import Any

import numpy as np

from zoo import TaskData, Unavailable, ZooError, figures, names, provenance, training
from zoo.jobs import Job, Outcome, nested_subset, selection_rows, selection_split
from zoo.metrics import bootstrap_spearman, regression_metrics
from zoo.plugins import Entry, Registry
from zoo.validate import check_model_object, check_predictions, check_task_data


class JobExecution:
    """Runs one claimed job into one MLflow run; a failure is the job's outcome, never the caller's."""

    registry: Registry
    tracker: Any
    data_dir: str | None
    force: bool
    progress: Any
    _data: dict[str, TaskData | Exception]

    def task_data(self, name: str) -> TaskData:
        """The task's data, checked by the host (zoo.validate) once; an error blames the task."""
        if name not in self._data:
            entry = self.registry.task(name)
            try:
                self._data[name] = check_task_data(
                    entry.factory(data_dir=self.data_dir), f"task {name!r} (plugin {entry.plugin!r})"
                )
            except Exception as exc:  # remembered, so every job of the task reports it without rereading
                self._data[name] = exc
        data = self._data[name]
        if isinstance(data, Exception):
            raise data
        return data

    def run_one(self, job: Job, key: str, parent: str | None = None) -> Outcome:
        entry = self.registry.model(job.source or job.model)  # a worker's registry resolves the source again
        tags = {
            names.KIND: names.JOB,
            names.MODEL: job.model,
            names.TASK: job.task,
            names.SEED: str(job.seed),
            names.PROFILE: job.profile,
            names.PLUGIN: entry.plugin,
            names.PLUGIN_VERSION: entry.version,
            names.REVISION: str(job.revision),
            names.PRETRAINED: str(entry.pretrained).lower(),
            names.APPROACH: entry.spec.approach,
            names.JOB_KEY: key,
            names.OPTIONS: json.dumps(dict(job.options), sort_keys=True),
            names.GIT_COMMIT: provenance.git_commit(),
            names.MACHINE: provenance.machine(),
            names.PRETRAINED_PARAMETERS: str(entry.spec.parameters if entry.pretrained else 0),
            names.TRAIN_SIZE: "full" if job.train_size is None else str(job.train_size),
            **self.tracker.owner_tags(),
        }
        options = {**entry.spec.defaults(), **dict(job.options)}
        params = {
            "seed": job.seed,
            "profile": job.profile,
            names.CLIP: job.clip,
            "data_dir": self.data_dir or "(download)",
            **{f"{names.OPTION}{k}": v for k, v in options.items()},
        }
        run_id = self.tracker.start_run(job.name, tags, params, parent=parent)
        try:
            outcome = self._execute(job, key, entry, options, run_id)
        except Unavailable as exc:
            outcome = Outcome(job, "unavailable", message=str(exc))
        except Exception as exc:  # a plugin can raise anything; it must not stop the other jobs
            message = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
            outcome = Outcome(job, "failed", message=message)
            self.tracker.set_tags(run_id, {names.TRACEBACK: traceback.format_exc()[-4000:]})
        outcome.run_id = run_id
        self.tracker.set_tags(run_id, {names.OUTCOME: outcome.status, names.MESSAGE: outcome.message[:1000]})
        self.tracker.end_run(run_id, "FINISHED" if outcome.status == "ok" else "FAILED")
        if outcome.status in ("ok", "unavailable"):  # recorded: a failed job keeps its checkpoint to resume from
            training.discard(key)
        return outcome

    def _execute(self, job: Job, key: str, entry: Entry, options: dict[str, Any], run_id: str) -> Outcome:
        data = self.task_data(job.task)
        self.tracker.set_tags(
            run_id,
            {
                names.DATA_SHA256: ",".join(data.files.values()),
                names.DATA_FILES: ",".join(data.files),
                names.DATA_NOTES: "; ".join(data.notes),
            },
        )
        train = data.train if job.train_size is None else nested_subset(data.train, job.train_size, job.seed)
        select = selection_split(data.valid, job.train_size, job.seed)
        self.tracker.log_params(run_id, {names.TRAIN_SEQUENCES: len(train), names.SELECTION_SEQUENCES: len(select)})
        self.tracker.log_datasets(run_id, job.task, data, {"train": train, "valid": select, "test": data.test})
        who = f"model {entry.name!r} (plugin {entry.plugin!r})"
        model = check_model_object(
            entry.factory(
                task=job.task,
                seed=job.seed,
                profile=job.profile,
                options=options,
                progress=self.progress.step if self.progress else None,
            ),
            who,
        )
        start = time.perf_counter()
        # the job's checkpoint place and per-epoch metrics, for training loops that use them (zoo.training)
        log = lambda metrics, step: self.tracker.log_metrics(run_id, metrics, step)  # noqa: E731
        with training.job(key, log, reuse=not self.force):
            model.fit(train, select)
        fit_seconds = time.perf_counter() - start
        if model.params:
            self.tracker.log_params(run_id, {f"{names.HP}{k}": v for k, v in model.params.items()})
        low, high = train.targets.min(), train.targets.max()
        metrics = {names.FIT_SECONDS: fit_seconds}
        predictions = {}
        for split_name in ("valid", "test"):
            split = getattr(data, split_name)
            start = time.perf_counter()
            pred = check_predictions(model.predict(split.sequences), len(split), who)
            seconds = time.perf_counter() - start
            if job.clip:  # the paper clipped to the training-label range; it ties values at the bounds
                pred = np.clip(pred, low, high)
            predictions[split_name] = pred
            metrics[f"{split_name}_predict_seconds"] = seconds
            metrics[f"{split_name}_predict_seq_per_s"] = len(split) / max(seconds, 1e-9)
            metrics.update({f"{split_name}_{k}": v for k, v in regression_metrics(split.targets, pred).items()})
        if not math.isfinite(metrics[names.TEST_SPEARMAN]):
            self.tracker.log_metrics(run_id, {k: v for k, v in metrics.items() if math.isfinite(v)})
            raise ZooError(
                f"{who}: test Spearman is not a number: the predictions are constant "
                f"({predictions['test'][0]:.4g} for every sequence, up to rounding), so they rank nothing. "
                f"Fix: check the model's options (a penalty so large it predicts the mean?), or whether test "
                f"differs from training only where the model learned nothing (held-out positions, one-hot)."
            )
        rows = selection_rows(len(data.valid), job.train_size, job.seed)
        metrics[names.SELECTION_SPEARMAN] = regression_metrics(select.targets, predictions["valid"][rows])["spearman"]
        ci_low, ci_high = bootstrap_spearman(data.test.targets, predictions["test"])
        metrics.update({names.CI_LOW: ci_low, names.CI_HIGH: ci_high})
        self.tracker.log_metrics(run_id, {k: v for k, v in metrics.items() if math.isfinite(v)})
        self._log_predictions(run_id, job.name, data, predictions["test"])
        return Outcome(job, "ok", metrics=metrics)

    def _log_predictions(self, run_id: str, title: str, data: TaskData, pred: np.ndarray) -> None:
        import pandas as pd

        frame = pd.DataFrame({"sequence": data.test.sequences, "target": data.test.targets, "prediction": pred})
        self.tracker.log_table(run_id, frame, names.PREDICTIONS)
        self.tracker.log_figure(
            run_id, lambda path: figures.scatter(data.test.targets, pred, title, path), names.SCATTER
        )
