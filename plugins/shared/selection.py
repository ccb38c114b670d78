"""Choosing among candidate models on the valid split, as one model: every candidate is trained
(each with its own checkpoint and epoch metrics, ``zoo.training.part``), the one with the best valid
Spearman predicts. The valid split is the host's (at a training size N, about N/4 rows), so the
choice costs no test label."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from zoo import Split, training


class SelectOnValid:
    def __init__(self, candidates: Sequence[tuple[str, Callable[[], Any]]]):
        self.candidates = list(candidates)
        self.chosen: Any = None
        self.params: dict = {"candidates": [name for name, _ in self.candidates], "chosen_on": "valid Spearman"}

    def fit(self, train: Split, valid: Split) -> None:
        from zoo.metrics import spearman

        scores: dict[str, float] = {}
        best: tuple[float, Any, str] = (-np.inf, None, "")
        for k, (name, make) in enumerate(self.candidates):
            model = make()
            with training.part(f"candidate{k}"):
                model.fit(train, valid)
            pred = model.predict(valid.sequences)
            score = spearman(valid.targets, pred)
            scores[name] = round(score, 4)
            if np.isfinite(score) and score > best[0]:
                best = (score, model, name)
        if best[1] is None:  # every candidate predicted a constant: keep the last; the runner reports it
            best = (float("nan"), model, self.candidates[-1][0])
        self.chosen = best[1]
        self.params.update({f"chosen.{k}": v for k, v in self.chosen.params.items()})
        self.params.update(chosen=best[2], valid_spearman_by_candidate=scores)
        self.params["trainable_parameters"] = self.chosen.params.get("trainable_parameters")

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.chosen is None:
            raise RuntimeError("call fit() before predict()")
        return self.chosen.predict(sequences)
