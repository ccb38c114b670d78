"""Jobs (model x task x seed), their execution, and resume.

A job whose run already finished in MLflow is skipped unless forced, so an
interrupted ``zoo eval --all`` reruns only what is missing. One failing job
never stops the others; the caller turns outcomes into an exit code.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import Split, TaskData, Unavailable, ZooError, __version__, figures, names, provenance, training
from zoo.contract import ZERO_SHOT, ContractError
from zoo.messages import suggest
from zoo.metrics import bootstrap_spearman, regression_metrics
from zoo.plugins import Entry, Registry, did_you_mean
from zoo.validate import check_model_object, check_predictions, check_task_data

MIN_SELECTION = 8  # valid rows a low-N job may use for model selection, at least


@dataclass(frozen=True)
class Job:
    model: str
    task: str
    seed: int
    profile: str
    clip: bool
    options: tuple[tuple[str, Any], ...] = ()
    train_size: int | None = None  # None: the whole train split
    plugin: str = ""
    plugin_version: str = ""
    source: str = ""  # the name the user gave when a plugin resolved it (hf:org/model); not part of the key
    revision: int = 0  # of the recipe the profile resolves to on the task (ModelSpec.revisions)

    @property
    def name(self) -> str:
        size = f"/n{self.train_size}" if self.train_size is not None else ""
        return f"{self.model}/{self.task}/seed{self.seed}{size}"

    def key(self, data_fingerprint: str) -> str:
        """Identity for resume: the same plugin's model, configuration and data files mean the same result."""
        parts = [
            self.model,
            self.task,
            self.seed,
            self.profile,
            self.clip,
            self.options,
            data_fingerprint,
            self.train_size,
            self.plugin,
            self.plugin_version,
        ]
        if self.revision:  # appended only when raised: the keys of unrevised recipes stay as they were
            parts.append(self.revision)
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]


def nested_subset(split: Split, n: int, seed: int = 0) -> Split:
    """The first ``n`` of one seeded permutation: smaller training sets are subsets of larger ones,
    and every model sees the same sequences at each size."""
    order = np.random.default_rng(seed).permutation(len(split))
    return split.subset(np.sort(order[:n]))


def selection_split(valid: Split, train_size: int | None, seed: int) -> Split:
    """The valid rows a job may use to choose hyperparameters, epochs or alpha.

    On the full train split: all of valid. At a training size N: a seeded subset of about N/4 rows
    (at least MIN_SELECTION), the same for every model, so thousands of labels never choose the
    hyperparameters of a model trained on N = 24 (docs/models.md, "Selection budget")."""
    if train_size is None:
        return valid
    size = min(len(valid), max(MIN_SELECTION, math.ceil(train_size / 4)))
    return nested_subset(valid, size, seed + 1_000_003)  # another stream than the training subset's


@dataclass
class Outcome:
    job: Job
    status: str  # ok | failed | unavailable | skipped
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    run_id: str | None = None


def _unique(items: list) -> list:
    return list(dict.fromkeys(items))


def plan(
    registry: Registry,
    models: list[str],
    tasks: list[str],
    *,
    seeds: int = 3,
    profile: str = "default",
    clip: bool | None = None,
    options: dict[str, Any] | None = None,
    train_sizes: list[int | None] | None = None,
) -> list[Job]:
    """Every (model, task, seed, train size) job, each once. Deterministic models run one seed on the
    full split (every seed on a subset, since the seed draws it). ``clip`` defaults to the model's
    ``clip_profiles``; ``train_sizes`` (None meaning the full split) defaults to the full split.
    Anything that would make no model (an unknown profile, an option out of range) is a ZooError here,
    before any compute."""
    if seeds < 1:
        raise ZooError(f"--seeds {seeds}: at least one seed is needed. Fix: --seeds 1 or more (default 3).")
    entries = [registry.model(m) for m in _unique(models)]
    source = {name: spec for spec, name in registry.resolved.items()}  # hf:org/model -> its registered name
    for t in _unique(tasks):
        registry.task(t)
    _check_profile(entries, profile)
    options = options or {}
    declared = {k for e in entries for k in e.spec.options}
    for key in options:
        if key not in declared:
            raise did_you_mean("option", key, declared)
    jobs = []
    for entry in entries:
        mine = {k: entry.spec.options[k].check(entry.name, k, v) for k, v in options.items() if k in entry.spec.options}
        frozen_options = tuple(sorted((k, v if not isinstance(v, list) else tuple(v)) for k, v in mine.items()))
        job_clip = (profile in entry.spec.clip_profiles) if clip is None else clip
        # a zero-shot model trains nothing: its one job on the full task stands for every size
        sizes = [None] if entry.spec.approach == ZERO_SHOT else _unique(train_sizes or [None])
        for task in _unique(tasks):
            for size in sizes:
                # On a subset the seed picks the training examples, so even deterministic models
                # need every seed there.
                once = entry.spec.deterministic and size is None
                for seed in range(1 if once else seeds):
                    jobs.append(
                        Job(
                            entry.name,
                            task,
                            seed,
                            profile,
                            job_clip,
                            frozen_options,
                            size,
                            entry.plugin,
                            entry.version,
                            source.get(entry.name, ""),
                            entry.spec.revision(profile, task),
                        )
                    )
    return jobs


def _check_profile(entries: list[Entry], profile: str) -> None:
    known = sorted({p for e in entries for p in e.spec.profiles})
    if profile not in known:
        raise ContractError(
            f"unknown profile {profile!r}.{suggest(profile, known)} The models asked for know: {', '.join(known)}."
        )
    lacking = [e.name for e in entries if profile not in e.spec.profiles]
    if lacking:
        raise ContractError(
            f"profile {profile!r} is unknown to {', '.join(lacking)}. Fix: run those models with a "
            f"profile they declare (`zoo plugins` lists them), or leave them out."
        )


class Runner:
    def __init__(self, registry: Registry, tracker, *, data_dir: str | None = None, force: bool = False, progress=None):
        self.registry, self.tracker, self.data_dir, self.force = registry, tracker, data_dir, force
        self.progress = progress  # a zoo.progress.Reporter, or None
        self._data: dict[str, TaskData | Exception] = {}

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

    def run(self, jobs: list[Job], invocation: dict[str, Any], executor=None) -> list[Outcome]:
        """Run the jobs that have not finished yet. ``executor`` (e.g. :class:`zoo.ray_executor.RayExecutor`)
        runs them elsewhere; by default they run here, one after another."""
        self.tracker.end_orphans()  # runs left RUNNING by a killed zoo eval on this machine
        done = set() if self.force else self.tracker.finished_job_keys()
        parent = self.tracker.start_run(
            f"zoo eval {time.strftime('%Y-%m-%d %H:%M:%S')}",
            {
                names.KIND: names.INVOCATION,
                names.GIT_COMMIT: provenance.git_commit(),
                names.MACHINE: provenance.machine(),
                "zoo_version": __version__,
                "executor": getattr(executor, "name", "local"),
                **self.tracker.owner_tags(),
            },
            params={**invocation, "jobs": len(jobs)},
        )
        outcomes: list[Outcome | None] = [None] * len(jobs)
        pending = []
        for i, job in enumerate(jobs):
            key = job.key(self.data_fingerprint(job.task))
            if key in done:
                outcomes[i] = Outcome(job, "skipped", message="already finished (use --force to rerun)")
            elif job.train_size is not None and job.train_size >= self.train_count(job.task):
                outcomes[i] = Outcome(
                    job,
                    "skipped",
                    message=f"the train split has only {self.train_count(job.task)} "
                    f"sequences; the full-size job covers this point",
                )
            else:
                pending.append((i, job, key))
        try:
            results = (
                executor.run(
                    pending,
                    parent,
                    tracker=self.tracker,
                    data_dir=self.data_dir,
                    resources_of=lambda job: self.registry.model(job.model).spec.resources,
                )
                if executor
                else self._run_here(pending, parent)
            )
            for finished, (i, outcome) in enumerate(results, start=1):
                outcomes[i] = outcome
                if self.progress:
                    self.progress.job_finished(finished, len(pending), outcome)
        except KeyboardInterrupt:  # Ctrl-C: mark the runs, so the UI does not show them running forever
            self.tracker.end_children(parent, "KILLED")
            self.tracker.end_run(parent, "KILLED")
            raise
        if self.progress:
            self.progress.finish(len(pending))
        final = [o for o in outcomes if o is not None]
        failed = sum(o.status == "failed" for o in final)
        self.tracker.set_tags(parent, {names.OUTCOME: "failed" if failed else "ok", "failed_jobs": str(failed)})
        self.tracker.end_run(parent, "FAILED" if failed else "FINISHED")
        return final

    def _run_here(self, pending: list[tuple[int, Job, str]], parent: str):
        for n, (i, job, key) in enumerate(pending):
            if self.progress:
                self.progress.start_job(job.name, n, len(pending))
            yield i, self.run_claimed(job, key, parent)

    def run_claimed(self, job: Job, key: str, parent: str | None = None) -> Outcome:
        """Run the job unless another zoo eval holds it or finished it since this one planned."""
        with self.tracker.claim(key) as mine:
            if not mine:
                return Outcome(job, "skipped", message="another zoo eval is running this job now")
            if not self.force and key in self.tracker.finished_job_keys(key):
                return Outcome(job, "skipped", message="finished by another zoo eval meanwhile")
            return self.run_one(job, key, parent)

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
