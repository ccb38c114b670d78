"""Two models' predictions blended, the weight chosen on the valid split: an ensemble across
architectures (issue 13.4). A CNN and a ridge on one-hot make different errors, so their average can
rank better than either. Each member trains as it would alone (its own checkpoint part,
``zoo.training.part``); then ``w·first + (1 − w)·second`` is scored on valid for every ``w`` in
``WEIGHTS`` (0: the second alone, 1: the first alone) and the best predicts. The valid split is the
host's (at a training size N, about N/4 rows), so the weight costs no test label, and the blend can
never be chosen worse on valid than either member alone."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from zoo import Split, training

WEIGHTS = tuple(k / 10 for k in range(11))


class Blend:
    """``members``: (name, factory) for the first and the second model; both predict the task's target."""

    def __init__(self, members: Sequence[tuple[str, Callable[[], Any]]], weights: Sequence[float] = WEIGHTS):
        if len(members) != 2:
            raise ValueError("a blend has two members")
        self.names = [name for name, _ in members]
        self.factories = [make for _, make in members]
        self.weights = tuple(weights)
        self.models: list[Any] = []
        self.weight: float | None = None
        self.params: dict = {"members": self.names, "combine": "w * first + (1 - w) * second, w chosen on valid"}

    def fit(self, train: Split, valid: Split) -> None:
        from zoo.metrics import spearman

        self.models = []
        for k, make in enumerate(self.factories):
            model = make()
            with training.part(f"member{k}"):
                model.fit(train, valid)
            self.models.append(model)
        first, second = (np.asarray(m.predict(valid.sequences), dtype=np.float64) for m in self.models)
        scores = {w: spearman(valid.targets, w * first + (1 - w) * second) for w in self.weights}
        # ties go to the larger weight on the first member, so the choice does not depend on dict order
        self.weight = max(scores, key=lambda w: (np.nan_to_num(scores[w], nan=-2.0), w))
        for name, model in zip(self.names, self.models):
            self.params.update({f"{name}.{key}": value for key, value in model.params.items()})
        self.params.update(
            weight=self.weight,
            valid_spearman_by_weight={str(w): round(s, 4) for w, s in scores.items()},
            trainable_parameters=sum(int(m.params.get("trainable_parameters") or 0) for m in self.models),
        )

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.weight is None:
            raise RuntimeError("call fit() before predict()")
        first, second = (np.asarray(m.predict(sequences), dtype=np.float64) for m in self.models)
        return self.weight * first + (1 - self.weight) * second
