"""A model that trains nothing: a pretrained language model's log-likelihood of each sequence is
its prediction (higher likelihood, higher fitness). Spearman ranks, so the sum of log-probabilities
and its difference from the wild type's give the same score; the zoo reports the sum."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from zoo import Split


class ZeroShot:
    def __init__(self, score: Callable[[list[str]], np.ndarray], what: str):
        self.score = score
        self.params: dict = {"trains": "nothing (zero-shot)", "score": what, "trainable_parameters": 0}

    def fit(self, train: Split, valid: Split) -> None:
        """Nothing to learn: the labels are never read."""

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        return np.asarray(self.score(list(sequences)), dtype=np.float64)
