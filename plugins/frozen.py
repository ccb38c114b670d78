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
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x_train, x_valid = self.embed(train.sequences), self.embed(valid.sequences)

        def head(alpha: float):
            return make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x_train, train.targets)

        scores = {a: spearmanr(valid.targets, head(a).predict(x_valid)).statistic for a in self.alphas}
        best = max(scores, key=lambda a: (np.nan_to_num(scores[a], nan=-1.0), -a))
        self.head = head(best)
        self.params.update(alpha=best, valid_spearman_by_alpha={str(a): round(float(s), 4) for a, s in scores.items()},
                           embedding_dim=int(x_train.shape[1]), trainable_parameters=int(x_train.shape[1]) + 1)

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("call fit() before predict()")
        return self.head.predict(self.embed(sequences)).astype(np.float64)
