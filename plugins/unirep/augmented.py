"""Ridge on one-hot augmented with pretrained features (Hsu et al. 2022, Nature Biotechnology,
"Learning protein fitness models from evolutionary and assay-labelled data").

The extra columns are a pretrained model's log-likelihood of the sequence (Hsu's density feature)
or its frozen mean embedding. Alpha is chosen on valid, with the same standardised ridge as
``linear`` and the frozen heads (``zoo_plugins.shared.ridge``). Hsu et al. regularise the density feature
far less than the one-hot ones; here its standardised column is scaled by ``DENSITY_EMPHASIS``, so
its penalty is alpha / 100.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from zoo import Split

from ..shared import onehot
from ..shared.ridge import select_alpha

DENSITY_EMPHASIS = 10.0


class AugmentedRidge:
    def __init__(self, extra: Callable[[list[str]], np.ndarray], what: str, emphasis: float = 1.0):
        self.extra, self.emphasis = extra, emphasis
        self.params: dict = {"features": f"flattened one-hot + {what}", "head": "standardised ridge, alpha on valid"}
        self.head: Any = None  # the ridge head select_alpha fits

    def _features(self, sequences: Sequence[str]) -> np.ndarray:
        extra = np.asarray(self.extra(list(sequences)), dtype=np.float32).reshape(len(sequences), -1)
        return np.hstack([onehot.flat_onehot(sequences, self.length), extra])

    def fit(self, train: Split, valid: Split) -> None:
        self.length = max(map(len, train.sequences))
        x = self._features(train.sequences)
        n_extra = x.shape[1] - self.length * onehot.VOCAB
        emphasis = np.ones(x.shape[1])
        emphasis[-n_extra:] = self.emphasis
        self.head, chosen = select_alpha(
            x, train.targets, self._features(valid.sequences), valid.targets, emphasis=emphasis
        )
        self.params.update(
            chosen, extra_features=n_extra, extra_emphasis=self.emphasis, trainable_parameters=x.shape[1] + 1
        )

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.head is None:
            raise RuntimeError("call fit() before predict()")
        return np.asarray(self.head(self._features(sequences)), dtype=np.float64)
