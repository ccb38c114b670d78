"""Planning jobs (model x task x seed), claiming them, and resume; one job's execution is zoo/execution.py's.

A job whose run already finished in MLflow is skipped unless forced, so an
interrupted ``zoo eval --all`` reruns only what is missing. One failing job
never stops the others; the caller turns outcomes into an exit code.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from zoo import TaskData, ZooError, __version__, names, provenance
from zoo.contract import ZERO_SHOT, ContractError
from zoo.execution import JobExecution
from zoo.jobs import MIN_SELECTION, Job, Outcome, nested_subset, selection_split
from zoo.messages import suggest
from zoo.plugins import Entry, Registry, did_you_mean

__all__ = ["MIN_SELECTION", "Job", "Outcome", "Runner", "nested_subset", "plan", "selection_split"]


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


class Runner(JobExecution):
    def __init__(self, registry: Registry, tracker, *, data_dir: str | None = None, force: bool = False, progress=None):
        self.registry, self.tracker, self.data_dir, self.force = registry, tracker, data_dir, force
        self.progress = progress  # a zoo.progress.Reporter, or None
        self._data: dict[str, TaskData | Exception] = {}

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
