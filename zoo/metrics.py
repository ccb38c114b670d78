"""Regression metrics and their intervals. Spearman is the headline; Pearson and MSE come with it.

Intervals come from bootstraps over the test set. Where a model has several seeds, the
two-level bootstrap also resamples the seeds, so an interval carries training noise as well as
test-set sampling noise (docs/models.md, "How the verdict is computed")."""

from __future__ import annotations

import numpy as np
from scipy import stats

RESAMPLES = 1000


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman's rho; nan for a constant prediction, which has no rank order (scipy would warn)."""
    return float("nan") if np.ptp(y_pred) == 0 else float(stats.spearmanr(y_true, y_pred).statistic)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    constant = np.ptp(y_pred) == 0
    return {
        "spearman": spearman(y_true, y_pred),
        "pearson": float("nan") if constant else float(stats.pearsonr(y_true, y_pred).statistic),
        "mse": float(np.mean((y_true - y_pred) ** 2)),
    }


def _resample_ranks(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Average ranks (as scipy's rankdata) of ``values[idx]`` for each row of ``idx``, without sorting.

    Sort once; a resample's rank of an item then follows from how many resampled items fall in
    lower groups of equal values (a bincount and a cumulative sum), so each row costs O(n).
    """
    _, group = np.unique(values, return_inverse=True)
    groups = group.max() + 1
    g = group[idx]  # (R, n)
    rows = np.arange(idx.shape[0])[:, None]
    counts = np.bincount((rows * groups + g).ravel(), minlength=idx.shape[0] * groups).reshape(idx.shape[0], groups)
    average = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return average[rows, g]


def _rowwise_spearman(y_true: np.ndarray, y_pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spearman of ``y_true[idx[r]]`` against ``y_pred[idx[r]]`` for every row r, ties averaged."""
    rt, rp = _resample_ranks(y_true, idx), _resample_ranks(y_pred, idx)
    rt -= rt.mean(axis=1, keepdims=True)
    rp -= rp.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rt * rp).sum(axis=1) / np.sqrt((rt**2).sum(axis=1) * (rp**2).sum(axis=1))


def _resamples(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def bootstrap_spearman(
    y_true, y_pred, *, resamples: int = 1000, seed: int = 0, level: float = 0.95, block: int = 100
) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman over test-set resamples (vectorised, seeded).

    Resamples are processed ``block`` at a time to bound memory on large test sets."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    idx = _resamples(len(y_true), resamples, seed)
    values = np.concatenate(
        [_rowwise_spearman(y_true, y_pred, i) for i in np.array_split(idx, max(1, resamples // block))]
    )
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)


def paired_bootstrap_difference(
    y_true, pred_a, pred_b, *, resamples: int = 1000, seed: int = 0, level: float = 0.95, block: int = 100
) -> dict[str, float]:
    """Spearman(a) - Spearman(b) on the same test resamples: the estimate and its percentile interval."""
    return paired_bootstrap_mean_difference(
        y_true, [pred_a], [pred_b], resamples=resamples, seed=seed, level=level, block=block
    )


def paired_bootstrap_mean_difference(
    y_true, preds_a, preds_b, *, resamples: int = 1000, seed: int = 0, level: float = 0.95, block: int = 100
) -> dict[str, float]:
    """Mean over pairs (e.g. seeds) of Spearman(a_k) - Spearman(b_k), every pair on the same test
    resamples: the estimate and its percentile interval."""
    y_true = np.asarray(y_true, float)
    pairs = [(np.asarray(a, float), np.asarray(b, float)) for a, b in zip(preds_a, preds_b, strict=True)]
    idx = _resamples(len(y_true), resamples, seed)
    diffs = np.concatenate(
        [
            np.mean([_rowwise_spearman(y_true, a, i) - _rowwise_spearman(y_true, b, i) for a, b in pairs], axis=0)
            for i in np.array_split(idx, max(1, resamples // block))
        ]
    )
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(diffs, [tail, 100 - tail])
    estimate = np.mean([stats.spearmanr(y_true, a).statistic - stats.spearmanr(y_true, b).statistic for a, b in pairs])
    return {"difference": float(estimate), "low": float(low), "high": float(high)}


def resampled_spearman(y_true, y_pred, *, resamples: int = RESAMPLES, seed: int = 0, block: int = 100) -> np.ndarray:
    """Spearman on each of ``resamples`` bootstrap resamples of the test items, shape (resamples,).

    The resamples depend only on the test-set size and ``seed``, so every run on one test set is
    scored on the same resamples and two runs' vectors can be paired element by element."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    idx = _resamples(len(y_true), resamples, seed)
    return np.concatenate(
        [_rowwise_spearman(y_true, y_pred, i) for i in np.array_split(idx, max(1, resamples // block))]
    )


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
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(values, [tail, 100 - tail])
    return float(low), float(high)
