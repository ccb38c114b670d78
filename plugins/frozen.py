"""Frozen pretrained embeddings plus a ridge head: the "does pretraining help?" baseline.

Embeddings come from the shared cache (:mod:`zoo.cache`), so a rerun, or a second head on the
same embeddings, does not touch the network at all.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from zoo import Split
from zoo.cache import EmbeddingCache

ALPHAS = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


class FrozenRidge:
    def __init__(self, identity: str, compute: Callable[[list[str]], np.ndarray],
                 progress: Callable[[int, int], None] | None = None, alphas: Sequence[float] = ALPHAS):
        self.cache = EmbeddingCache(identity)
        self.compute, self.progress, self.alphas = compute, progress, tuple(alphas)
        self.params: dict = {"head": "ridge, alpha chosen on valid", "identity": identity}
        self.head = None

    def embed(self, sequences: Sequence[str]) -> np.ndarray:
        return self.cache.get(sequences, self.compute, progress=self.progress)

    def fit(self, train: Split, valid: Split) -> None:
        from scipy.stats import spearmanr

        x_train, x_valid = self.embed(train.sequences), self.embed(valid.sequences)
        path = ridge_path(x_train, train.targets, self.alphas)
        scores = {a: spearmanr(valid.targets, head(x_valid)).statistic for a, head in path.items()}
        best = max(scores, key=lambda a: (np.nan_to_num(scores[a], nan=-1.0), -a))
        self.head = path[best]
        self.params.update(alpha=best, valid_spearman_by_alpha={str(a): round(float(s), 4) for a, s in scores.items()},
                           embedding_dim=int(x_train.shape[1]), trainable_parameters=int(x_train.shape[1]) + 1)

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("call fit() before predict()")
        return self.head(self.embed(sequences))


class _Linear:
    def __init__(self, coef: np.ndarray, mean: np.ndarray, scale: np.ndarray, intercept: float):
        self.coef, self.mean, self.scale, self.intercept = coef, mean, scale, intercept

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept


def ridge_path(x: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> dict[float, _Linear]:
    """Ridge on standardised features for every alpha, from one eigendecomposition of X'X.

    The same estimator as scikit-learn's ``make_pipeline(StandardScaler(), Ridge(alpha))``
    (tests/test_pretrained.py checks it), but Ridge rebuilds and factors X'X for each alpha,
    which dominates a rerun from cached embeddings; RidgeCV shares the factorisation but picks
    alpha by leave-one-out on train, and the zoo picks it on the valid split.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    gram = (z.T @ z).astype(np.float64)
    values, vectors = np.linalg.eigh(gram)
    intercept = float(np.mean(y))
    projected = vectors.T @ (z.T.astype(np.float64) @ (y - intercept))
    return {a: _Linear((vectors @ (projected / (values + a))).astype(np.float64), mean, scale, intercept) for a in alphas}
