"""Regression metrics and their intervals. Spearman is the headline; Pearson and MSE come with it.

Intervals come from bootstraps over the test set. Where a model has several seeds, the
two-level bootstrap also resamples the seeds, so an interval carries training noise as well as
test-set sampling noise (docs/models.md, "How the verdict is computed")."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
from scipy import stats

RESAMPLES = 1000
BLOCK = 25  # resamples handled at once: a block's arrays stay in the CPU's cache


# A sum of thousands of terms taken in another order (a threaded BLAS splits rows between kernels) moves
# by a few units in float64's last place, about 1e-16 of the numbers summed: predictions spread no wider
# than this fraction of the numbers' size are one value rounded differently, not a rank order
ROUNDING = 1e-12


def constant(y_true: np.ndarray, y_pred: np.ndarray) -> bool:
    """Whether ``y_pred`` is one value up to rounding, so that it ranks nothing. The size of the numbers
    is the larger of the predictions' and the targets' (a model's arithmetic handles the targets' units)."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    size = max(np.max(np.abs(y_pred)), np.max(np.abs(y_true)))
    return bool(np.ptp(y_pred) <= ROUNDING * size)


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman's rho; nan for a constant prediction, which has no rank order (scipy would warn)."""
    return float("nan") if constant(y_true, y_pred) else float(stats.spearmanr(y_true, y_pred).statistic)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return {
        "spearman": spearman(y_true, y_pred),
        "pearson": float("nan") if constant(y_true, y_pred) else float(stats.pearsonr(y_true, y_pred).statistic),
        "mse": float(np.mean((y_true - y_pred) ** 2)),
    }


def _resample_blocks(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The bootstrap resamples of a test set of n items, seeded, as item indices, BLOCK resamples at
    a time: drawn in blocks, they are the same draws as in one piece, in less memory."""
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, BLOCK):
        yield rng.integers(0, n, size=(min(BLOCK, resamples - start), n))


def _resamples(n: int, resamples: int, seed: int) -> np.ndarray:
    """All of them at once, (resamples, n): what each resample's Spearman is checked against."""
    return np.concatenate(list(_resample_blocks(n, resamples, seed)))


def _ranking(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted once: the order, the last sorted place of each group of equal values, each item's group."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(values)])
    group = np.empty(len(values), np.intp)
    group[order] = np.repeat(np.arange(len(starts)), sizes)
    return order, starts + sizes - 1, group


def _twice_centred_ranks(ranking: tuple[np.ndarray, np.ndarray, np.ndarray], counts: np.ndarray) -> np.ndarray:
    """2 x rank - (n + 1) of every item in each resample (a row of item counts), ties averaged as
    scipy's rankdata averages them. In value order, the resampled items up to a group's last place
    are a cumulative sum, and the group's average rank lies halfway between its first and last
    place: integers throughout, so every sum built on them is exact in float64."""
    order, ends, group = ranking
    upto = np.cumsum(np.take(counts, order, axis=1), axis=1, dtype=np.int32)
    if len(ends) < len(order):  # ties: each group's count up to its last place
        upto = np.take(upto, ends, axis=1)
    twice = upto - len(order)  # upto + (the previous group's upto) + 1 - (n + 1)
    twice[:, 1:] += upto[:, :-1]
    return np.take(twice, group, axis=1).astype(np.float64)


@lru_cache(maxsize=1)  # the analysis scores one task's runs after another: each test set is prepared once
def _prepared(y_true: bytes, resamples: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A test set's resamples as counts of each item (resamples, n), the counts times the targets'
    centred ranks, and those ranks' weighted sum of squares per resample: what every run on the test
    set shares, so that scoring a run costs one ranking of its predictions."""
    y = np.frombuffer(y_true)
    n, ranking = len(y), _ranking(y)
    counts = np.empty((resamples, n), np.min_scalar_type(n))
    weighted = np.empty((resamples, n), np.int32)
    squares = np.empty(resamples)
    for s, idx in zip(range(0, resamples, BLOCK), _resample_blocks(n, resamples, seed), strict=True):
        rows = np.arange(len(idx))[:, None]
        block = np.bincount((rows * n + idx).ravel(), minlength=idx.size).reshape(idx.shape)
        twice = _twice_centred_ranks(ranking, block)
        counts[s : s + BLOCK], weighted[s : s + BLOCK] = block, block * twice
        squares[s : s + BLOCK] = np.einsum("ij,ij->i", weighted[s : s + BLOCK].astype(np.float64), twice)
    return counts, weighted, squares


def resampled_spearman(y_true, y_pred, *, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Spearman on each of ``resamples`` bootstrap resamples of the test items, shape (resamples,);
    ties averaged, equal to scipy's on each resample (``_resamples``), nan for a constant one.

    The resamples depend only on the test-set size and ``seed``, so every run on one test set is
    scored on the same resamples and two runs' vectors can be paired element by element."""
    y_true, y_pred = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if constant(y_true, y_pred):  # the ranks below would order rounding noise
        return np.full(resamples, np.nan)
    counts, weighted, squares = _prepared(y_true.tobytes(), resamples, seed)
    ranking = _ranking(y_pred)
    out = np.empty(resamples)
    for s in range(0, resamples, BLOCK):
        c = counts[s : s + BLOCK]
        twice = _twice_centred_ranks(ranking, c)
        cov = np.einsum("ij,ij->i", weighted[s : s + BLOCK].astype(np.float64), twice)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s : s + BLOCK] = cov / np.sqrt(squares[s : s + BLOCK] * np.einsum("ij,ij->i", c * twice, twice))
    return out


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_spearman(
    y_true, y_pred, *, resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman over test-set resamples (seeded)."""
    return _interval(resampled_spearman(y_true, y_pred, resamples=resamples, seed=seed), level)


def paired_bootstrap_difference(
    y_true, pred_a, pred_b, *, resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Spearman(a) - Spearman(b) on the same test resamples: the estimate and its percentile interval."""
    return paired_bootstrap_mean_difference(y_true, [pred_a], [pred_b], resamples=resamples, seed=seed, level=level)


def paired_bootstrap_mean_difference(
    y_true, preds_a, preds_b, *, resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean over pairs (e.g. seeds) of Spearman(a_k) - Spearman(b_k), every pair on the same test
    resamples: the estimate and its percentile interval."""
    pairs = list(zip(preds_a, preds_b, strict=True))
    diffs = np.mean(
        [
            resampled_spearman(y_true, a, resamples=resamples, seed=seed)
            - resampled_spearman(y_true, b, resamples=resamples, seed=seed)
            for a, b in pairs
        ],
        axis=0,
    )
    low, high = _interval(diffs, level)
    estimate = np.mean([spearman(y_true, a) - spearman(y_true, b) for a, b in pairs])
    return {"difference": float(estimate), "low": low, "high": high}


def two_level_interval(
    scores_a: np.ndarray,
    scores_b: np.ndarray | None = None,
    *,
    paired: bool = False,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of mean-over-seeds Spearman (of a, or of a minus b).

    ``scores_a`` is (seeds, resamples) from :func:`resampled_spearman`. Each bootstrap replicate
    takes one test resample and draws the seeds with replacement, so the interval holds both
    sources of noise. ``paired``: a and b share seeds (the same training subset per seed), and the
    same seed draw is used for both; otherwise each side's seeds are drawn independently. With one
    seed per side this is the plain (paired) test-set bootstrap."""
    rng = np.random.default_rng(seed + 1)
    a = np.atleast_2d(scores_a)
    replicates = np.arange(a.shape[1])
    draw_a = rng.integers(0, a.shape[0], size=(a.shape[1], a.shape[0]))
    values = a[draw_a, replicates[:, None]].mean(axis=1)
    if scores_b is not None:
        b = np.atleast_2d(scores_b)
        draw_b = draw_a if paired else rng.integers(0, b.shape[0], size=(b.shape[1], b.shape[0]))
        values = values - b[draw_b, replicates[:, None]].mean(axis=1)
    return _interval(values, level)
