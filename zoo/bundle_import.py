"""``zoo import``: a results bundle's runs recreated in an MLflow store, shared among worker processes
when there are many. The bundle's format is zoo/bundle.py's; the store's writes are the tracker's."""

from __future__ import annotations

import os
from typing import Any, Callable

from zoo.bundle import IMPORTED_FROM, Bundle


def import_into(
    bundle: Bundle, tracker, progress: Callable[[int, int], None] | None = None, workers: int | None = None
) -> dict[str, int]:
    """Create each bundle run in the tracker's store with its tags, params, metrics, datasets, times and
    predictions. Idempotent: runs already there (imported before, or the very runs exported) are skipped.

    Most of an import is MLflow's own Python, one run at a time, so a large import is shared among
    ``workers`` processes (default: one per core, at most 2), each writing its share into the same store."""
    present = set()
    for run in tracker.job_runs():
        present.add(run["run_id"])
        if run.get(f"tags.{IMPORTED_FROM}"):
            present.add(run[f"tags.{IMPORTED_FROM}"])
    todo = [r["run_id"] for r in bundle.records if r["run_id"] not in present]
    skipped = len(bundle.records) - len(todo)
    workers = workers or min(2, os.cpu_count() or 1)
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    done = skipped
    if workers < 2 or len(chunks) < 2 * workers:
        for chunk in chunks:
            done += _import_chunk(bundle, tracker, chunk)
            if progress:
                progress(done, len(bundle.records))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn, not fork: the parent holds open SQLite connections that a child must not share
        context = multiprocessing.get_context("spawn")
        setup = (str(bundle.folder), tracker.uri, tracker.experiment)
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup, initargs=setup) as pool:
            try:
                for future in as_completed([pool.submit(_worker_import, chunk) for chunk in chunks]):
                    done += future.result()
                    if progress:
                        progress(done, len(bundle.records))
            except BaseException:  # the first refusal (a read-only store) stops the rest
                pool.shutdown(cancel_futures=True)
                raise
    return {"created": len(todo), "skipped": skipped}


CHUNK = 50  # runs a worker imports per task
_WORKER: dict[str, Any] = {}


def _import_chunk(bundle: Bundle, tracker, run_ids: list[str]) -> int:
    for run_id in run_ids:
        record = bundle._record_any(run_id)
        csv = bundle.predictions_csv(run_id) if "testset" in record else None
        tracker.import_run(record, csv, {IMPORTED_FROM: run_id})
    return len(run_ids)


def _worker_setup(folder: str, uri: str, experiment: str) -> None:
    from zoo.tracking import Tracker

    _WORKER["bundle"], _WORKER["tracker"] = Bundle(folder), Tracker(uri, experiment)


def _worker_import(run_ids: list[str]) -> int:
    return _import_chunk(_WORKER["bundle"], _WORKER["tracker"], run_ids)
