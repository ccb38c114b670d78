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

    Call ``register(name, factory, *, pretrained, **fields)`` once per model; the
    fields are those of :class:`zoo.contract.ModelSpec` (unknown ones are refused).
    ``factory(*, task, seed, profile, options, progress)`` must be cheap to
    reference: import torch and build networks inside it, not at import time. It
    returns a :class:`zoo.Model`: ``fit(train, valid)``, ``predict(sequences)`` and
    ``params``.
    """


@hookspec
def register_tasks(register: Callable[..., None]) -> None:
    """Register task adapters.

    Call ``register(name, factory, **fields)`` once per task; the fields are those
    of :class:`zoo.contract.TaskSpec`.
    ``factory(*, data_dir)`` returns a :class:`zoo.TaskData`; ``data_dir`` is a
    path string or None (then the task finds or downloads its own data).
    """


@hookspec(firstresult=True)
def resolve_model(name: str, register: Callable[..., None]) -> str | None:
    """Make a model of a name no plugin registered up front, such as ``hf:facebook/esm2_t6_8M_UR50D``.

    Called when ``--model`` names an unknown model with a ``:`` in it. Register the model
    (``register(model_name, factory, **fields)``, as in :func:`register_models`) and return the
    name it was registered under; return None to leave the name to other plugins.
    """
