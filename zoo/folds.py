"""Cross-validation folds of a mutational scan, as ProteinGym's supervised benchmark draws them.

- ``random``: variants to folds at random (seeded), as evenly as k allows;
- ``modulo``: a variant's mutated position (1-based) mod k: neighbouring positions fall in other folds,
  and no test position is ever seen in training;
- ``contiguous``: the sorted mutated positions cut into k contiguous segments (``numpy.array_split``),
  so a test fold is a whole region of the protein.

The rules reproduce the fold columns of ProteinGym's own files: modulo on all eleven shared assays, and
contiguous where a file's contiguous folds are monotone in position (NEIME, GFP, R1AB; the others were
cut otherwise, so a file's own fold columns are always used when it has them). A variant with several
mutations takes the fold of its first position.
"""

from __future__ import annotations

import numpy as np

SCHEMES = ("random", "modulo", "contiguous")


def assign(positions: list[list[int]], scheme: str, k: int = 5, seed: int = 0) -> np.ndarray:
    """Each variant's fold, 0..k-1; ``positions`` are each variant's mutated positions, 1-based."""
    from zoo import ZooError

    if scheme not in SCHEMES:
        raise ZooError(f"--cv {scheme}: choose one of {', '.join(SCHEMES)}")
    if k < 2:
        raise ZooError(f"-k {k}: cross-validation needs at least 2 folds. Fix: -k 5 (the default).")
    if scheme == "random":
        order = np.random.default_rng(seed).permutation(len(positions))
        folds = np.empty(len(positions), dtype=int)
        folds[order] = np.arange(len(positions)) % k
        return folds
    if any(not p for p in positions):
        raise ZooError(f"--cv {scheme} needs a mutated position for every variant (the wild type has none)")
    first = np.array([p[0] for p in positions])
    if scheme == "modulo":
        return first % k
    segment = {}
    for fold, chunk in enumerate(np.array_split(np.unique(first), k)):
        segment.update({int(position): fold for position in chunk})
    return np.array([segment[int(position)] for position in first])
