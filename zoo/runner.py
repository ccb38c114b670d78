"""Jobs (model x task x seed), their execution, and resume.

A job whose run already finished in MLflow is skipped unless forced, so an
interrupted ``zoo eval --all`` reruns only what is missing. One failing job
never stops the others; the caller turns outcomes into an exit code.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import Model, Split, TaskData, Unavailable, ZooError, __version__, figures, provenance
from zoo.metrics import bootstrap_spearman, regression_metrics
from zoo.plugins import Entry, Registry, did_you_mean


@dataclass(frozen=True)
class Job:
    model: str
    task: str
    seed: int
    profile: str
    clip: bool
    options: tuple[tuple[str, Any], ...] = ()
    train_size: int | None = None  # None: the whole train split

    @property
    def name(self) -> str:
        size = f"/n{self.train_size}" if self.train_size is not None else ""
        return f"{self.model}/{self.task}/seed{self.seed}{size}"

    def key(self, data_fingerprint: str) -> str:
        """Identity for resume: same configuration on the same data files means the same result."""
        parts = [self.model, self.task, self.seed, self.profile, self.clip, self.options, data_fingerprint]
        if self.train_size is not None:  # appended only when set, so full-data keys never change
            parts.append(self.train_size)
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def nested_subset(split: Split, n: int, seed: int = 0) -> Split:
    """The first ``n`` of one seeded permutation: smaller training sets are subsets of larger ones,
    and every model sees the same sequences at each size."""
    order = np.random.default_rng(seed).permutation(len(split))
    return split.subset(np.sort(order[:n]))


@dataclass
class Outcome:
    job: Job
    status: str  # ok | failed | unavailable | skipped
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    run_id: str | None = None


def plan(registry: Registry, models: list[str], tasks: list[str], *, seeds: int = 3, profile: str = "default",
         clip: bool | None = None, options: dict[str, Any] | None = None,
         train_sizes: list[int | None] | None = None) -> list[Job]:
    """Every (model, task, seed, train size) job. Deterministic models run one seed on the full split
    (every seed on a subset, since the seed draws it); ``clip`` defaults
    to the paper profile; ``train_sizes`` (None meaning the full split) defaults to the full split."""
    entries = [registry.model(m) for m in models]
    for t in tasks:
        registry.task(t)
    options = options or {}
    declared = {k for e in entries for k in e.meta.get("options", {})}
    for key in options:
        if key not in declared:
            raise did_you_mean("option", key, declared)
    clip = (profile == "paper") if clip is None else clip
    jobs = []
    for entry in entries:
        mine = tuple(sorted((k, v) for k, v in options.items() if k in entry.meta.get("options", {})))
        for task in tasks:
            for size in train_sizes or [None]:
                # On a subset the seed picks the training examples, so even deterministic models
                # need every seed there.
                once = entry.meta.get("deterministic") and size is None
                for seed in range(1 if once else seeds):
                    jobs.append(Job(entry.name, task, seed, profile, clip, mine, size))
    return jobs


def check_predictions(pred: Any, n: int, entry: Entry) -> np.ndarray:
    who = f"model {entry.name!r} (plugin {entry.plugin!r})"
    arr = np.asarray(pred)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ZooError(f"{who} predict() returned dtype {arr.dtype}, not real numbers. Fix the plugin's predict().")
    if arr.shape != (n,):
        raise ZooError(f"{who} predict() returned shape {arr.shape} for {n} sequences; expected ({n},). "
                       f"Fix the plugin's predict().")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ZooError(f"{who} predict() returned {int((~np.isfinite(arr)).sum())} NaN or infinite values. "
                       f"Fix the plugin (diverged training?).")
    return arr


class Runner:
    def __init__(self, registry: Registry, tracker, *, data_dir: str | None = None, force: bool = False,
                 progress=None):
        self.registry, self.tracker, self.data_dir, self.force = registry, tracker, data_dir, force
        self.progress = progress  # a zoo.progress.Reporter, or None
        self._data: dict[str, TaskData | Exception] = {}

    def task_data(self, name: str) -> TaskData:
        if name not in self._data:
            try:
                self._data[name] = self.registry.task(name).factory(data_dir=self.data_dir)
            except Exception as exc:  # remembered, so every job of the task reports it without rereading
                self._data[name] = exc
        data = self._data[name]
        if isinstance(data, Exception):
            raise data
        return data

    def run(self, jobs: list[Job], invocation: dict[str, Any], executor=None) -> list[Outcome]:
        """Run the jobs that have not finished yet. ``executor`` (e.g. :class:`zoo.ray_executor.RayExecutor`)
        runs them elsewhere; by default they run here, one after another."""
        done = set() if self.force else self.tracker.finished_job_keys()
        parent = self.tracker.start_run(
            f"zoo eval {time.strftime('%Y-%m-%d %H:%M:%S')}",
            {"kind": "invocation", "git_commit": provenance.git_commit(), "machine": provenance.machine(),
             "zoo_version": __version__, "executor": getattr(executor, "name", "local")},
            params={**invocation, "jobs": len(jobs)},
        )
        outcomes: list[Outcome | None] = [None] * len(jobs)
        pending = []
        for i, job in enumerate(jobs):
            key = job.key(self.data_fingerprint(job.task))
            if key in done:
                outcomes[i] = Outcome(job, "skipped", message="already finished (use --force to rerun)")
            elif job.train_size is not None and job.train_size >= self.train_count(job.task):
                outcomes[i] = Outcome(job, "skipped", message=f"the train split has only {self.train_count(job.task)} "
                                                             f"sequences; the full-size job covers this point")
            else:
                pending.append((i, job, key))
        try:
            results = executor.run(self, pending, parent) if executor else self._run_here(pending, parent)
            for finished, (i, outcome) in enumerate(results, start=1):
                outcomes[i] = outcome
                if self.progress and executor:
                    self.progress.jobs_done(finished, len(pending), outcome.job.name)
        except KeyboardInterrupt:  # Ctrl-C: mark the runs, so the UI does not show them running forever
            self.tracker.end_children(parent, "KILLED")
            self.tracker.end_run(parent, "KILLED")
            raise
        if self.progress:
            self.progress.finish(len(pending))
        failed = sum(o.status == "failed" for o in outcomes)
        self.tracker.set_tags(parent, {"outcome": "failed" if failed else "ok", "failed_jobs": str(failed)})
        self.tracker.end_run(parent, "FAILED" if failed else "FINISHED")
        return outcomes

    def _run_here(self, pending: list[tuple[int, Job, str]], parent: str):
        for n, (i, job, key) in enumerate(pending):
            if self.progress:
                self.progress.start_job(job.name, n, len(pending))
            yield i, self.run_one(job, key, parent)

    def train_count(self, task: str) -> float:
        try:
            return len(self.task_data(task).train)
        except Exception:  # reported by the job itself when it runs
            return float("inf")

    def data_fingerprint(self, task: str) -> str:
        try:
            files = self.task_data(task).files
        except Exception:  # reported by the job itself when it runs
            return "unreadable"
        return hashlib.sha256(",".join(sorted(files.values())).encode()).hexdigest()

    def run_one(self, job: Job, key: str, parent: str | None = None) -> Outcome:
        entry = self.registry.model(job.model)
        tags = {"kind": "job", "model": job.model, "task": job.task, "seed": str(job.seed),
                "profile": job.profile, "plugin": entry.plugin, "plugin_version": entry.version,
                "pretrained": str(entry.pretrained).lower(), "job_key": key,
                "git_commit": provenance.git_commit(), "machine": provenance.machine(),
                "pretrained_parameters": str(entry.meta.get("parameters", 0) if entry.pretrained else 0)}
        options = {**entry.meta.get("options", {}), **dict(job.options)}
        tags["train_size"] = "full" if job.train_size is None else str(job.train_size)
        params = {"seed": job.seed, "profile": job.profile, "clip_predictions": job.clip,
                  "data_dir": self.data_dir or "(download)", **{f"option.{k}": v for k, v in options.items()}}
        run_id = self.tracker.start_run(job.name, tags, params, parent=parent)
        try:
            outcome = self._execute(job, entry, options, run_id)
        except Unavailable as exc:
            outcome = Outcome(job, "unavailable", message=str(exc))
        except Exception as exc:  # a plugin can raise anything; it must not stop the other jobs
            message = str(exc) if isinstance(exc, ZooError) else f"{type(exc).__name__}: {exc}"
            outcome = Outcome(job, "failed", message=message)
            self.tracker.set_tags(run_id, {"traceback": traceback.format_exc()[-4000:]})
        outcome.run_id = run_id
        self.tracker.set_tags(run_id, {"outcome": outcome.status, "message": outcome.message[:1000]})
        self.tracker.end_run(run_id, "FINISHED" if outcome.status == "ok" else "FAILED")
        return outcome

    def _execute(self, job: Job, entry: Entry, options: dict[str, Any], run_id: str) -> Outcome:
        data = self.task_data(job.task)
        self.tracker.set_tags(run_id, {"data_sha256": ",".join(data.files.values()),
                                       "data_files": ",".join(data.files), "data_notes": "; ".join(data.notes)})
        train = data.train if job.train_size is None else nested_subset(data.train, job.train_size)
        self.tracker.log_params(run_id, {"train_sequences": len(train)})
        model = entry.factory(task=job.task, seed=job.seed, profile=job.profile, options=options,
                              progress=self.progress.step if self.progress else None)
        if not isinstance(model, Model):
            raise ZooError(f"model {entry.name!r} (plugin {entry.plugin!r}): the factory returned "
                           f"{type(model).__name__}, which has no fit(train, valid) and predict(sequences). "
                           f"Fix the plugin's factory.")
        start = time.perf_counter()
        model.fit(train, data.valid)
        fit_seconds = time.perf_counter() - start
        if getattr(model, "params", None):
            self.tracker.log_params(run_id, {f"hp.{k}": v for k, v in model.params.items()})
        low, high = train.targets.min(), train.targets.max()
        metrics = {"fit_seconds": fit_seconds}
        predictions = {}
        for split_name in ("valid", "test"):
            split = getattr(data, split_name)
            start = time.perf_counter()
            pred = check_predictions(model.predict(split.sequences), len(split), entry)
            seconds = time.perf_counter() - start
            if job.clip:  # the paper clipped to the training-label range; it ties values at the bounds
                pred = np.clip(pred, low, high)
            predictions[split_name] = pred
            metrics[f"{split_name}_predict_seconds"] = seconds
            metrics[f"{split_name}_predict_seq_per_s"] = len(split) / max(seconds, 1e-9)
            metrics.update({f"{split_name}_{k}": v for k, v in regression_metrics(split.targets, pred).items()})
        low, high = bootstrap_spearman(data.test.targets, predictions["test"])
        metrics.update(test_spearman_ci_low=low, test_spearman_ci_high=high)
        self.tracker.log_metrics(run_id, metrics)
        self._log_predictions(run_id, job.name, data, predictions["test"])
        return Outcome(job, "ok", metrics=metrics)

    def _log_predictions(self, run_id: str, title: str, data: TaskData, pred: np.ndarray) -> None:
        import pandas as pd

        frame = pd.DataFrame({"sequence": data.test.sequences, "target": data.test.targets, "prediction": pred})
        self.tracker.log_table(run_id, frame, "test_predictions.csv")
        self.tracker.log_figure(run_id, lambda path: figures.scatter(data.test.targets, pred, title, path),
                                "test_scatter.png")

