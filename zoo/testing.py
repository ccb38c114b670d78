"""A test kit for plugin authors, also loaded as a pytest plugin (fixtures ``zoo_tiny_task``,
``zoo_check_model``, ``zoo_check_task`` and ``zoo_register``).

    from zoo.testing import check_model
    from my_plugin.plugin import make_model

    def test_my_model():
        check_model(make_model)
"""

from __future__ import annotations

import contextlib
import pickle
from typing import Any, Callable, Iterator

import numpy as np

from zoo import ALPHABET, Split, TaskData
from zoo.plugins import EXTRA, Registry, discover
from zoo.validate import check_model_object, check_predictions, check_task_data


def tiny_task(seed: int = 0, n_train: int = 160, n_valid: int = 32, n_test: int = 64, length: int = 24) -> TaskData:
    """A small synthetic landscape: variants of one random parent at four sites, with additive
    effects plus one pairwise term. Learnable by any sensible model, and fast."""
    rng = np.random.default_rng(seed)
    parent = rng.choice(list(ALPHABET), length)
    effects = rng.normal(size=(length, len(ALPHABET)))
    sites = rng.choice(length, size=4, replace=False)

    def sample(n: int) -> Split:
        seqs, ys = [], []
        for _ in range(n):
            seq = parent.copy()
            for pos in rng.choice(sites, size=rng.integers(1, 5), replace=False):
                seq[pos] = rng.choice(list(ALPHABET))
            idx = [ALPHABET.index(a) for a in seq]
            y = effects[np.arange(length), idx].sum() + 0.5 * (seq[sites[0]] == seq[sites[1]])
            seqs.append("".join(seq))
            ys.append(y)
        return Split(seqs, np.array(ys))

    return TaskData(sample(n_train), sample(n_valid), sample(n_test), files={}, notes=["synthetic test task"])


def _build(factory: Callable[..., Any], seed: int, options: dict) -> Any:
    # the runner's own checks (zoo.validate): what passes here is accepted by `zoo eval`
    return check_model_object(
        factory(task="tiny", seed=seed, profile="default", options=dict(options), progress=None), "the model under test"
    )


def _predict(model: Any, sequences: list[str], what: str) -> np.ndarray:
    return check_predictions(model.predict(sequences), len(sequences), f"the model under test, on {what}")


def check_model(
    factory: Callable[..., Any],
    options: dict | None = None,
    *,
    task: TaskData | None = None,
    deterministic: bool = True,
    picklable: bool = False,
    min_spearman: float | None = None,
) -> np.ndarray:
    """Check a model factory the way the runner will use it; returns its test predictions.

    Checks: the factory returns a model; predict() before fit() raises; predictions are a finite
    real (n,) array; the same seed gives the same predictions (``deterministic``); sequences of
    lengths not seen in training work; the fitted model survives pickling (``picklable``); and,
    with ``min_spearman``, that it learns the tiny task.
    """
    from scipy.stats import spearmanr

    task = task or tiny_task()
    options = options or {}
    model = _build(factory, 0, options)
    try:
        model.predict(task.test.sequences[:2])
    except Exception:
        pass
    else:
        raise AssertionError("predict() before fit() returned a result; it should raise (the model is not fitted)")
    model.fit(task.train, task.valid)
    pred = _predict(model, task.test.sequences, "the test split")
    if deterministic:
        again = _build(factory, 0, options)
        again.fit(task.train, task.valid)
        assert np.allclose(_predict(again, task.test.sequences, "the test split"), pred, atol=1e-6), (
            "the same seed gave different predictions; seed every random number generator the model uses"
        )
    odd = [task.test.sequences[0][:-3], task.test.sequences[0] + "ACDEFG", "MK"]
    _predict(model, odd, "sequences of unseen lengths")
    if picklable:
        clone = pickle.loads(pickle.dumps(model))
        assert np.allclose(_predict(clone, task.test.sequences, "the unpickled model"), pred), (
            "the unpickled model predicts differently"
        )
    if min_spearman is not None:
        rho = spearmanr(task.test.targets, pred).statistic
        assert rho >= min_spearman, f"test Spearman {rho:.3f} on the tiny task is below {min_spearman}"
    return pred


def check_task(factory: Callable[..., Any], data_dir: str | None = None) -> TaskData:
    """Check a task factory the way the runner will use it; returns its data.

    The host's own checks (zoo.validate: three non-empty splits, finite targets, the 20 amino
    acids, valid and test scoreable), plus: ``files`` names every file read with its sha256, since
    that digest is what makes `zoo eval` rerun jobs when the data changes."""
    data = check_task_data(factory(data_dir=data_dir), "the task under test")
    assert data.files, "TaskData.files is empty: map each file read to its sha256 (zoo.cache.file_digest)"
    for path, digest in data.files.items():
        assert isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest), (
            f"TaskData.files[{path!r}] is {digest!r}, not a sha256 hex digest"
        )
    return data


@contextlib.contextmanager
def registered(plugin: object, name: str = "test-plugin", version: str = "0") -> Iterator[Registry]:
    """Register a plugin object (a module or an instance with hookimpls) for the duration of a
    ``with`` block: ``zoo`` commands run inside it see the plugin as if it were installed."""
    EXTRA.append((name, version, plugin))
    try:
        yield discover()
    finally:
        EXTRA.remove((name, version, plugin))


# pytest fixtures: this module is registered under the pytest11 entry point group.
try:
    import pytest
except ImportError:  # the kit's functions work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def zoo_tiny_task() -> TaskData:
        return tiny_task()

    @pytest.fixture
    def zoo_check_model() -> Callable[..., np.ndarray]:
        return check_model

    @pytest.fixture
    def zoo_check_task() -> Callable[..., TaskData]:
        return check_task

    @pytest.fixture
    def zoo_register():
        """``zoo_register(plugin, name=...)`` registers a plugin object until the test ends."""
        with contextlib.ExitStack() as stack:
            yield lambda plugin, name="test-plugin", version="0": stack.enter_context(registered(plugin, name, version))
