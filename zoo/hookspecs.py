"""The hooks a protein-zoo plugin can implement.

Every hook receives a ``register`` callback; the host records which plugin
registered what and refuses a duplicate name. docs/plugins.md documents each
hook with this exact signature, and tests/test_docs.py keeps the two in step.
"""

from __future__ import annotations

from typing import Callable

import pluggy

from zoo import PROJECT

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def register_models(register: Callable[..., None]) -> None:
    """Register model factories.

    Call ``register(name, factory, *, pretrained, description, **meta)`` once per
    model. ``factory(*, task, seed, profile, options, progress)`` must be cheap to
    reference: import torch and build networks inside it, not at import time. It
    returns an object with ``fit(train, valid)`` and ``predict(sequences)``.
    Optional meta: ``options`` (dict of option name to default), ``deterministic``
    (True when the seed does not change the result), ``resources`` (``{"cpus": n,
    "gpus": m}`` for one job under ``--executor ray``; default one CPU).
    """


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register task adapters.

    Call ``register(name, factory, *, description, **meta)`` once per task.
    ``factory(*, data_dir)`` returns a :class:`zoo.TaskData`; ``data_dir`` is a
    path string or None (then the task finds or downloads its own data).
    """
