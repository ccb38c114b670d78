"""Ridge on one-hot plus pairwise (epistatic) features: issue 13's "past the paper" direction for
landscapes of variants around one parent (GFP, GB1).

A variant's mutations are the positions where it differs from the reference, the per-position most
common residue of the training sequences. Each pair of mutations that occurs together in at least
``min_count`` training sequences becomes a 0/1 column (the ``max_pairs`` most frequent kept), beside
the flattened one-hot. Sequences with more than ``max_mutations`` mutations (e.g. stability's
unrelated designs) get no pair columns: the model is then the one-hot ridge. The features are
sparse, so the ridge is scikit-learn's conjugate-gradient solver on a CSR matrix (a dense X'X of
this many columns would not fit the eigendecomposition path of ``zoo_plugins.shared.ridge``); alpha is
chosen on valid, as for ``linear``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Sequence

import numpy as np

from zoo import Split

from ..shared import onehot
from ..shared.ridge import ALPHAS, pick_alpha


class PairwiseRidge:
    def __init__(self, min_count: int = 2, max_pairs: int = 20000, max_mutations: int = 10, alpha=None):
        self.min_count, self.max_pairs, self.max_mutations, self.alpha = min_count, max_pairs, max_mutations, alpha
        self.params: dict = {
            "features": "flattened one-hot + pairs of co-occurring mutations (0/1)",
            "head": "ridge (sparse conjugate gradient), alpha on valid",
            "min_count": min_count,
            "max_pairs": max_pairs,
            "max_mutations": max_mutations,
        }
        self._ridge: Any = None

    def _mutations(self, sequences: Sequence[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Tokens, and per sequence the one-hot column ids of its mutations (none past max_mutations)."""
        tok = onehot.tokens(sequences, self.length)
        differs = tok != self.reference
        columns = np.arange(self.length) * onehot.VOCAB + tok
        many = differs.sum(axis=1) > self.max_mutations
        return tok, [np.empty(0, np.int64) if many[i] else columns[i][differs[i]] for i in range(len(tok))]

    def _pair_codes(self, mutations: list[np.ndarray]) -> list[np.ndarray]:
        width = self.length * onehot.VOCAB
        return [np.array([a * width + b for a, b in combinations(m, 2)], dtype=np.int64) for m in mutations]

    def _features(self, sequences: Sequence[str]):
        """The sparse one-hot, then a 0/1 column per pair kept at fit time (other pairs have none)."""
        from scipy import sparse

        _, mutations = self._mutations(sequences)
        rows, cols = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        for i, codes in enumerate(self._pair_codes(mutations)):
            found = (self.pair_index.get(int(c)) for c in codes)
            kept = np.array([j for j in found if j is not None], dtype=np.int64)
            rows.append(np.full(len(kept), i))
            cols.append(kept)
        r, c = np.concatenate(rows), np.concatenate(cols)
        pairs = sparse.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(mutations), len(self.pair_index)))
        return sparse.hstack([onehot.sparse_onehot(sequences, self.length), pairs], format="csr")

    def fit(self, train: Split, valid: Split) -> None:
        from sklearn.linear_model import Ridge

        self.length = max(map(len, train.sequences))
        tok = onehot.tokens(train.sequences, self.length)
        # the reference: each position's most common training token
        counts = np.apply_along_axis(np.bincount, 0, tok, minlength=onehot.VOCAB)
        self.reference = counts.argmax(axis=0)
        _, mutations = self._mutations(train.sequences)
        codes = np.concatenate([*self._pair_codes(mutations), np.empty(0, np.int64)])
        unique, seen = np.unique(codes, return_counts=True)
        frequent = np.flatnonzero(seen >= self.min_count)
        frequent = frequent[np.argsort(-seen[frequent], kind="stable")][: self.max_pairs]
        self.pair_index = {int(code): j for j, code in enumerate(unique[np.sort(frequent)])}
        x, xv = self._features(train.sequences), self._features(valid.sequences)
        alphas = ALPHAS if self.alpha is None else (self.alpha,)
        fits = {a: Ridge(alpha=a, solver="sparse_cg").fit(x, train.targets) for a in alphas}
        best, chosen = pick_alpha({a: ridge.predict(xv) for a, ridge in fits.items()}, valid.targets)
        self._ridge = fits[best]
        self.params.update(
            chosen,
            alpha_chosen_on="valid" if self.alpha is None else "fixed by -o alpha",
            pair_features=len(self.pair_index),
            sequences_with_pairs=int(sum(len(m) >= 2 for m in mutations)),
            trainable_parameters=x.shape[1] + 1,
        )

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self._ridge is None:
            raise RuntimeError("call fit() before predict()")
        return np.asarray(self._ridge.predict(self._features(sequences)), dtype=np.float64)
