"""An ensemble as a model of its own: members trained one after the other, each with its own seed,
checkpoint and per-epoch metrics (``zoo.training.part``), their predictions averaged. A killed
job resumes at the member and epoch it had reached."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from zoo import Split, training


class Ensemble:
    """``make_member(k)`` builds member k (0 … size − 1), its seed its own."""

    def __init__(self, make_member: Callable[[int], Any], size: int):
        self.make_member, self.size = make_member, size
        self.members: list[Any] = []
        self.params: dict = {"members": size, "combine": "mean of predictions"}

    def fit(self, train: Split, valid: Split) -> None:
        self.members = []
        for k in range(self.size):
            member = self.make_member(k)
            with training.part(f"member{k}"):
                member.fit(train, valid)
            self.members.append(member)
        first = dict(self.members[0].params)
        total = sum(int(m.params.get("trainable_parameters", 0)) for m in self.members)
        own = ("trainable_parameters", "best_epoch", "reused_training", "resumed_from_epoch")
        self.params.update({k: v for k, v in first.items() if k not in own})
        self.params["trainable_parameters"] = total
        self.params["member_seeds"] = [m.seed for m in self.members]
        self.params["member_best_epochs"] = [m.params.get("best_epoch") for m in self.members]
        # a member another job had trained (the same recipe, seed and data) is taken, not trained again
        self.params["member_reused"] = [bool(m.params.get("reused_training")) for m in self.members]

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if not self.members:
            raise RuntimeError("call fit() before predict()")
        return np.mean([m.predict(sequences) for m in self.members], axis=0)
