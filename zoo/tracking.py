"""MLflow writes and reads, as one ``Tracker``. mlflow is imported lazily: it costs over a second.

One experiment (``protein-zoo``) holds everything: a parent run per ``zoo eval``
invocation and a child run per (model, task, seed). Tags have plain names so
they work in the UI's search box, e.g. ``tags.task = 'stability' and tags.pretrained = 'true'``.

The tracker is assembled from one part per job: the connection (zoo/store_connection.py), the spool
(zoo/spool.py), writes (zoo/run_writes.py), reads (zoo/run_reads.py), job claims (zoo/job_claims.py) and
whole-run records (zoo/run_records.py).
"""

from __future__ import annotations

from zoo.job_claims import JobClaims
from zoo.run_reads import dataset_record
from zoo.run_records import RunRecords
from zoo.store_connection import (
    EXPERIMENT,
    JOB_FILTER,
    configure_mlflow_client,
    connection_lost,
    probe_server,
    process_alive,
    server_answers,
)

__all__ = [
    "EXPERIMENT",
    "JOB_FILTER",
    "Tracker",
    "configure_mlflow_client",
    "connection_lost",
    "dataset_record",
    "probe_server",
    "process_alive",
    "server_answers",
]


class Tracker(JobClaims, RunRecords):
    """The zoo's MLflow store: open it with ``Tracker(uri, experiment)``."""
