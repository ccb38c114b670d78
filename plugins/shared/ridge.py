"""Ridge regression on standardised features with alpha chosen on the valid split: the one head
and selection rule that linear (default profile) and every frozen pretrained model share, so
both sides of the verdict get the same selection budget."""

from __future__ import annotations

from typing import Sequence

import numpy as np

ALPHAS = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


class _Linear:
    def __init__(self, coef: np.ndarray, mean: np.ndarray, scale: np.ndarray, intercept: float):
        self.coef, self.mean, self.scale, self.intercept = coef, mean, scale, intercept

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


def ridge_path(
    x: np.ndarray, y: np.ndarray, alphas: Sequence[float], emphasis: np.ndarray | None = None
) -> dict[float, _Linear]:
    """Ridge on standardised features for every alpha, from one eigendecomposition of X'X.

    The same estimator as scikit-learn's ``make_pipeline(StandardScaler(), Ridge(alpha))``
    (tests/test_pretrained.py checks it), but Ridge rebuilds and factors X'X for each alpha,
    which dominates a rerun from cached embeddings; RidgeCV shares the factorisation but picks
    alpha by leave-one-out on train, and the zoo picks it on the valid split. With fewer rows than
    features the n x n kernel is factored instead (the same solution, the dual form).
    ``emphasis`` multiplies standardised columns: a column scaled by m is penalised alpha / m².
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    if emphasis is not None:
        scale = scale / emphasis
    z = ((x - mean) / scale).astype(np.float64)
    intercept = float(np.mean(y))
    centred = y - intercept
    if z.shape[0] < z.shape[1]:  # fewer rows than features (low N): factor the n x n kernel instead
        values, vectors = np.linalg.eigh(z @ z.T)
        projected = vectors.T @ centred
        return {a: _Linear(z.T @ (vectors @ (projected / (values + a))), mean, scale, intercept) for a in alphas}
    values, vectors = np.linalg.eigh(z.T @ z)
    projected = vectors.T @ (z.T @ centred)
    return {a: _Linear(vectors @ (projected / (values + a)), mean, scale, intercept) for a in alphas}


def select_alpha(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    alphas: Sequence[float] = ALPHAS,
    emphasis: np.ndarray | None = None,
) -> tuple[_Linear, dict]:
    """The head with the best valid Spearman (ties: the smaller alpha), and what was chosen."""

    path = ridge_path(x_train, y_train, alphas, emphasis)
    best, chosen = pick_alpha({alpha: head(x_valid) for alpha, head in path.items()}, y_valid)
    return path[best], chosen


def pick_alpha(valid_predictions: dict[float, np.ndarray], y_valid: np.ndarray) -> tuple[float, dict]:
    """The alpha whose valid predictions have the best Spearman (ties, and constant predictions: the
    smaller alpha wins), and the scores for the record."""
    from zoo.metrics import spearman

    scores = {a: spearman(y_valid, pred) for a, pred in valid_predictions.items()}
    best = max(scores, key=lambda a: (np.nan_to_num(scores[a], nan=-1.0), -a))
    return best, {"alpha": best, "valid_spearman_by_alpha": {str(a): round(float(s), 4) for a, s in scores.items()}}
