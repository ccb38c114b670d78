"""Frozen pretrained embeddings plus a ridge head: the "does pretraining help?" baseline.

Embeddings come from the shared cache (:mod:`zoo.cache`), so a rerun, or a second head on the
same embeddings, does not touch the network at all.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np

from zoo import Split
from zoo.cache import EmbeddingCache

from .ridge import ALPHAS, select_alpha


class FrozenRidge:
    def __init__(
        self,
        identity: str,
        compute: Callable[[list[str]], np.ndarray],
        progress: Callable[[int, int], None] | None = None,
        alphas: Sequence[float] = ALPHAS,
    ):
        self.cache = EmbeddingCache(identity)
        self.compute, self.progress, self.alphas = compute, progress, tuple(alphas)
        self.params: dict = {"head": "ridge, alpha chosen on valid", "identity": identity}
        self.head: Any = None  # the ridge head select_alpha fits

    def embed(self, sequences: Sequence[str]) -> np.ndarray:
        return self.cache.get(sequences, self.compute, progress=self.progress)

    def fit(self, train: Split, valid: Split) -> None:
        x_train, x_valid = self.embed(train.sequences), self.embed(valid.sequences)
        self.head, chosen = select_alpha(x_train, train.targets, x_valid, valid.targets, self.alphas)
        self.params.update(chosen, embedding_dim=int(x_train.shape[1]), trainable_parameters=int(x_train.shape[1]) + 1)

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("call fit() before predict()")
        return self.head(self.embed(sequences))


def frozen_model(
    identity: str, make_backbone: Callable[[], Any], options: dict, progress: Callable[[int, int], None] | None = None
) -> FrozenRidge:
    """The frozen variant of any pretrained network (the one copy every plugin uses): mean embeddings
    from the shared cache, and a ridge head. ``make_backbone`` is called only when some embedding is
    missing from the cache, so a rerun never loads the network's weights."""
    backbone = lru_cache(maxsize=1)(make_backbone)
    batch_size = int(options["batch_size"])

    def compute(sequences: list[str]) -> np.ndarray:
        from .backbone import embed

        return embed(backbone(), sequences, batch_size=batch_size)

    return FrozenRidge(identity, compute, progress=progress)
