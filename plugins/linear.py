"""The paper's linear baseline: ridge regression on the flattened one-hot sequence.

scikit-learn's Ridge is used rather than a hand-written solve: it is the
reference implementation, handles the intercept and picks a stable solver.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zoo import Split, hookimpl
from zoo_plugins import onehot


class RidgeOneHot:
    def __init__(self, alpha: float):
        self.alpha = float(alpha)
        self.params = {"alpha": self.alpha, "features": "flattened one-hot, 21 channels"}
        self._model = None

    def fit(self, train: Split, valid: Split) -> None:
        from sklearn.linear_model import Ridge

        self.length = max(map(len, train.sequences))
        features = onehot.flat_onehot(train.sequences, self.length)
        self._model = Ridge(alpha=self.alpha).fit(features, train.targets)
        self.params["trainable_parameters"] = features.shape[1] + 1

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("call fit() before predict()")
        return self._model.predict(onehot.flat_onehot(sequences, self.length)).astype(np.float64)


def make_ridge(*, task: str, seed: int, profile: str, options: dict, progress=None) -> RidgeOneHot:
    return RidgeOneHot(alpha=options.get("alpha", 1.0))


@hookimpl
def register_models(register):
    register("linear", make_ridge, pretrained=False, deterministic=True,
             description="ridge regression (alpha 1) on the flattened one-hot sequence",
             options={"alpha": 1.0})
