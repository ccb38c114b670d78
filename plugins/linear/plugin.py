"""The paper's linear baseline: ridge regression on the flattened one-hot sequence.

Under ``paper`` it is the paper's model: scikit-learn's Ridge with alpha 1 on raw one-hot.
Under ``default`` alpha is chosen on the valid split, with the same standardised ridge head and
alpha grid as the frozen pretrained models (``zoo_plugins.shared.ridge``), so both sides of the verdict
get the same selection budget. ``-o alpha=X`` fixes alpha in either profile. The one-hot models
that go past it, ``linear-pairwise`` and ``global-epistasis``, register here too.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zoo import Split, hookimpl
from zoo.contract import Option

from ..shared import onehot


class RidgeOneHot:
    def __init__(self, alpha: float | None, standardize: bool):
        self.alpha, self.standardize = alpha, standardize
        self.params: dict = {
            "features": "flattened one-hot, 21 channels",
            "head": "standardised ridge" if standardize else "ridge on raw one-hot",
        }
        self._model: Any = None

    def fit(self, train: Split, valid: Split) -> None:
        self.length = max(map(len, train.sequences))
        features = onehot.flat_onehot(train.sequences, self.length)
        if self.standardize:
            from ..shared.ridge import ALPHAS, select_alpha

            alphas = ALPHAS if self.alpha is None else (self.alpha,)
            self._model, chosen = select_alpha(
                features, train.targets, onehot.flat_onehot(valid.sequences, self.length), valid.targets, alphas
            )
            self.params.update(chosen, alpha_chosen_on="valid" if self.alpha is None else "fixed by -o alpha")
        else:
            from sklearn.linear_model import Ridge

            alpha = 1.0 if self.alpha is None else self.alpha
            ridge = Ridge(alpha=alpha).fit(features, train.targets)
            self._model = lambda x: ridge.predict(x)
            self.params.update(alpha=alpha, alpha_chosen_on="fixed (the paper's alpha = 1)")
        self.params["trainable_parameters"] = features.shape[1] + 1

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("call fit() before predict()")
        return np.asarray(self._model(onehot.flat_onehot(sequences, self.length)), dtype=np.float64)


def make_ridge(*, task: str, seed: int, profile: str, options: dict, progress=None) -> RidgeOneHot:
    return RidgeOneHot(alpha=options.get("alpha"), standardize=profile != "paper")


def make_pairwise(*, task: str, seed: int, profile: str, options: dict, progress=None):
    from .pairwise import PairwiseRidge

    return PairwiseRidge(**{k: v for k, v in options.items() if v is not None})


def make_epistasis(*, task: str, seed: int, profile: str, options: dict, progress=None):
    from .epistasis import GlobalEpistasis

    return GlobalEpistasis(**{k: v for k, v in options.items() if v is not None})


@hookimpl
def register_models(register):
    register(
        "linear",
        make_ridge,
        pretrained=False,
        deterministic=True,
        profiles=("default", "paper"),
        clip_profiles=("paper",),
        description="ridge regression on the flattened one-hot sequence (default: alpha chosen on valid; "
        "paper: alpha 1)",
        options={
            "alpha": Option(
                None,
                float,
                minimum=0,
                help="ridge penalty; unset: chosen on valid (default profile), 1 (paper profile)",
            )
        },
    )
    register(
        "linear-pairwise",
        make_pairwise,
        pretrained=False,
        deterministic=True,
        description="ridge on one-hot plus pairs of co-occurring mutations (epistasis around a parent "
        "sequence; alpha chosen on valid)",
        options={
            "alpha": Option(None, float, minimum=0, help="ridge penalty; unset: chosen on valid"),
            "min_count": Option(2, int, minimum=1, help="a pair needs this many training sequences"),
            "max_pairs": Option(20000, int, minimum=0, help="the most frequent pairs kept as columns"),
            "max_mutations": Option(
                10, int, minimum=2, help="sequences with more mutations from the reference get no pair columns"
            ),
        },
    )
    register(
        "global-epistasis",
        make_epistasis,
        pretrained=False,
        deterministic=True,
        description="an additive one-hot latent read through a sigmoid spanning the targets' range "
        "(Otwinowski et al. 2018; alpha chosen on valid)",
        options={
            "alpha": Option(None, float, minimum=0, help="ridge penalty on the latent weights; unset: chosen on valid"),
            "max_iter": Option(1000, int, minimum=1, help="L-BFGS iterations per alpha"),
        },
    )
