"""k-nearest-neighbour regression on one-hot sequences: a complete protein-zoo plugin.

On one-hot vectors of equal length, Euclidean distance is sqrt(2 x Hamming distance), so the
neighbours are the training variants with the fewest differing positions.
"""

from __future__ import annotations

import numpy as np

from zoo import hookimpl

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"


def onehot(sequences, length):
    out = np.zeros((len(sequences), length, len(ALPHABET) + 1), dtype=np.float32)
    for i, seq in enumerate(sequences):
        seq = seq[:length].ljust(length, "-")  # '-' marks padding: the extra channel
        out[i, np.arange(length), [ALPHABET.find(a) if a in ALPHABET else len(ALPHABET) for a in seq]] = 1
    return out.reshape(len(sequences), -1)


class KNN:
    def __init__(self, k: int, weights: str):
        self.k, self.weights = k, weights
        self.params = {"k": k, "weights": weights}
        self.model = None

    def fit(self, train, valid):
        from sklearn.neighbors import KNeighborsRegressor  # heavy import, kept out of discovery

        self.length = max(map(len, train.sequences))
        k = min(self.k, len(train))
        self.model = KNeighborsRegressor(n_neighbors=k, weights=self.weights)
        self.model.fit(onehot(train.sequences, self.length), train.targets)

    def predict(self, sequences):
        if self.model is None:
            raise RuntimeError("call fit() before predict()")
        return self.model.predict(onehot(sequences, self.length)).astype(np.float64)


def make_knn(*, task, seed, profile, options, progress=None):
    return KNN(k=int(options["k"]), weights=str(options["weights"]))


@hookimpl
def register_models(register):
    register(
        "knn",
        make_knn,
        pretrained=False,
        deterministic=True,
        description="k-nearest neighbours on one-hot sequences (example plugin)",
        options={"k": 10, "weights": "distance"},
    )
