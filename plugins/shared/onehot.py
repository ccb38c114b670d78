"""Amino-acid tokens and one-hot features (numpy only)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from zoo import ALPHABET

PAD = len(ALPHABET)  # token 20 marks positions past the end of a sequence
VOCAB = len(ALPHABET) + 1

_LOOKUP = np.full(256, -1, dtype=np.int16)
_LOOKUP[np.frombuffer(ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(ALPHABET))


def tokens(sequences: Sequence[str], length: int | None = None) -> np.ndarray:
    """(n, length) int64 tokens, PAD-filled; longer sequences are cut to ``length``."""
    length = length or max(map(len, sequences))
    out = np.full((len(sequences), length), PAD, dtype=np.int64)
    for i, seq in enumerate(sequences):
        codes = _LOOKUP[np.frombuffer(seq[:length].encode("ascii", "replace"), dtype=np.uint8)]
        if (codes < 0).any():
            bad = seq[int(np.argmax(codes < 0))]
            raise ValueError(f"sequence {i} has {bad!r}, outside {ALPHABET}")
        out[i, : len(codes)] = codes
    return out


def flat_onehot(sequences: Sequence[str], length: int) -> np.ndarray:
    """(n, length * VOCAB) float32 flattened one-hot, the paper's linear-model input."""
    tok = tokens(sequences, length)
    out = np.zeros((len(sequences), length, VOCAB), dtype=np.float32)
    np.put_along_axis(out, tok[:, :, None], 1.0, axis=2)
    return out.reshape(len(sequences), -1)


def sparse_onehot(sequences: Sequence[str], length: int):
    """The same features as ``flat_onehot`` as a scipy CSR matrix: one nonzero per position, so a
    product with it costs n * length, not n * length * VOCAB."""
    from scipy import sparse

    tok = tokens(sequences, length)
    n = len(tok)
    columns = (np.arange(length) * VOCAB + tok).ravel()
    return sparse.csr_matrix(
        (np.ones(n * length), columns, np.arange(0, n * length + 1, length)), shape=(n, length * VOCAB)
    )
