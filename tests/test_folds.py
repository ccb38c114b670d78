"""ProteinGym's fold rules, against the fold columns of its own files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoo import ZooError, folds

MONOTONE = ("A0A1I9GEU1_NEIME_Kennouche_2019", "GFP_AEQVI_Sarkisyan_2016", "R1AB_SARS2_Flynn_2022")


def _positions(frame: pd.DataFrame) -> list[list[int]]:
    return [[int(part[1:-1]) for part in code.split(":")] for code in frame["mutant"]]


def test_the_modulo_rule_reproduces_every_files_own_folds_and_contiguous_the_monotone_ones(data_dir):
    files = sorted((data_dir / "proteingym").glob("*.csv.gz"))
    assert len(files) == 11
    for path in files:
        frame = pd.read_csv(path)
        positions = _positions(frame)
        assert (folds.assign(positions, "modulo") == frame["fold_modulo_5"].to_numpy()).all(), path.name
        contiguous = folds.assign(positions, "contiguous")
        same = (contiguous == frame["fold_contiguous_5"].to_numpy()).all()
        assert same == path.name.startswith(MONOTONE), path.name


def test_random_folds_are_seeded_and_balanced():
    positions = [[i % 37 + 1] for i in range(103)]
    a, b = folds.assign(positions, "random", seed=1), folds.assign(positions, "random", seed=1)
    assert (a == b).all() and not (a == folds.assign(positions, "random", seed=2)).all()
    assert sorted(np.bincount(a, minlength=5).tolist()) == [20, 20, 21, 21, 21]


def test_no_test_position_is_seen_in_training_under_modulo_and_contiguous():
    positions = [[p] for p in range(1, 60) for _ in range(3)]
    for scheme in ("modulo", "contiguous"):
        assigned = folds.assign(positions, scheme)
        for fold in range(5):
            test = {p[0] for p, f in zip(positions, assigned) if f == fold}
            train = {p[0] for p, f in zip(positions, assigned) if f != fold}
            assert test and not test & train


@pytest.mark.parametrize(
    ("scheme", "k", "words"),
    [("blocks", 5, "choose one of random, modulo, contiguous"), ("modulo", 1, "at least 2 folds")],
)
def test_a_bad_scheme_or_k_is_one_line(scheme, k, words):
    with pytest.raises(ZooError, match=words):
        folds.assign([[1]], scheme, k)
