"""``zoo eval --executor ray``: each job runs as a Ray task, on this machine or a cluster.

The driver plans the jobs, skips finished ones and opens the parent run; each worker
discovers the same plugins, runs one job with :meth:`Runner.run_one` and logs it to the
same MLflow tracking URI. Ray is imported here only.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

from zoo import ZooError

# Passed on to workers, which may run on other machines with another environment: every ZOO_*
# variable (plugins read their own, e.g. ZOO_UNIREP_WEIGHTS, ZOO_DEVICE) and MLflow's credentials.
FORWARDED_PREFIXES = ("ZOO_",)
FORWARDED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def forwarded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_PREFIXES) or k in FORWARDED_ENV}


def absolute_store(uri: str) -> str:
    """Workers may start in another folder: a relative sqlite path is made absolute."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + os.path.abspath(uri[len(prefix) :])
    return uri


def resources(wanted: Any, cluster: dict[str, float]) -> dict[str, float]:
    """Ray resources for one job, from the model's declared ``resources`` ({"cpus": 1, "gpus": 0} when
    empty). GPUs are requested only where the cluster has some, and CPUs at most as many as it has,
    so a job is never left waiting for resources that do not exist."""
    wanted = wanted or {}
    gpus = float(wanted.get("gpus", 0)) if cluster.get("GPU", 0) > 0 else 0.0
    return {"num_cpus": min(float(wanted.get("cpus", 1)), cluster.get("CPU", 1.0)), "num_gpus": gpus}


_WORKER_RUNNERS: dict[tuple, Any] = {}  # one Runner per worker process: plugins discovered and data read once


def _work(spec: dict[str, Any], job, key: str, parent: str):
    """One job inside a Ray worker (a worker process runs many jobs; it builds its Runner once)."""
    from zoo.plugins import discover
    from zoo.runner import Runner
    from zoo.tracking import Tracker

    ident = (spec["uri"], spec["experiment"], spec["data_dir"])
    if ident not in _WORKER_RUNNERS:
        _WORKER_RUNNERS[ident] = Runner(discover(), Tracker(spec["uri"], spec["experiment"]), data_dir=spec["data_dir"])
    return _WORKER_RUNNERS[ident].run_claimed(job, key, parent)


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address

    def check(self, tracker) -> None:
        """Before any compute: a cluster's workers cannot write into this machine's sqlite file."""
        if self.address and tracker.uri.startswith(("sqlite:", "file:")):
            raise ZooError(
                f"--executor ray --address {self.address}: workers on other machines cannot write to "
                f"the local store {tracker.uri}. Fix: start an MLflow server (see docs/scaling.md) and "
                f"set MLFLOW_TRACKING_URI=http://HOST:5000."
            )

    def run(
        self, pending: list[tuple[int, Any, str]], parent: str, *, tracker, data_dir: str | None, resources_of
    ) -> Iterator[tuple[int, Any]]:
        """Run ``pending`` (index, job, key) as Ray tasks; ``resources_of(job)`` is the model's declared
        resources. Yields (index, outcome) as jobs finish."""
        try:
            import ray
        except ImportError as exc:
            raise ZooError(
                "--executor ray needs Ray. Fix: pip install -e '.[ray]' in the checkout (or pip install ray), "
                "or drop --executor to run here."
            ) from exc

        from zoo.runner import Outcome

        self.check(tracker)
        env = forwarded_env()
        try:
            ray.init(
                address=self.address,
                runtime_env={"env_vars": env} if env else None,
                include_dashboard=False,
                ignore_reinit_error=True,
                log_to_driver=False,
            )
        except Exception as exc:
            raise ZooError(
                f"cannot start or join Ray (address {self.address or 'local'}): {type(exc).__name__}: "
                f"{str(exc)[:300]}. Fix: check `ray status` on the head node, or drop --address "
                f"to start Ray on this machine."
            ) from exc
        spec = {
            "uri": absolute_store(tracker.uri),
            "experiment": tracker.experiment,
            "data_dir": os.path.abspath(data_dir) if data_dir else None,
        }
        task = ray.remote(max_retries=0)(_work)  # a failed job is reported, never rerun behind the user's back
        cluster = ray.cluster_resources()
        refs = {}
        for i, job, key in pending:
            opts = resources(resources_of(job), cluster)
            refs[task.options(name=job.name, **opts).remote(spec, job, key, parent)] = (i, job, key)
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                i, job, key = refs.pop(ready[0])
                try:
                    outcome = ray.get(ready[0])
                except Exception as exc:  # the worker died (out of memory, node lost) before it could report
                    message = f"the Ray worker running this job died: {type(exc).__name__}: {str(exc)[:300]}"
                    tracker.end_children(parent, "FAILED", job_key=key, message=message)
                    outcome = Outcome(job, "failed", message=message)
                yield i, outcome
        finally:
            for ref in refs:  # Ctrl-C or an error in the driver: stop the rest
                ray.cancel(ref, force=True)
            if not self.address:
                ray.shutdown()
