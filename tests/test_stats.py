"""Bootstrap intervals and paired verdicts: checked against scipy and on cases with known answers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoo import leaderboard
from zoo.metrics import _rowwise_spearman, bootstrap_spearman, paired_bootstrap_difference


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(3)
    y = rng.normal(size=400)
    return y, y + rng.normal(size=400), rng


def test_resampled_spearman_equals_scipy_with_ties(noisy):
    y, p, rng = noisy
    tied = np.clip(np.round(p), -1, 1)  # heavy ties, as clipping makes
    idx = rng.integers(0, len(y), size=(6, len(y)))
    ours = _rowwise_spearman(y, tied, idx)
    assert np.allclose(ours, [stats.spearmanr(y[i], tied[i]).statistic for i in idx], atol=1e-12)


def test_bootstrap_interval_agrees_with_scipy(noisy):
    y, p, _ = noisy
    low, high = bootstrap_spearman(y, p, resamples=2000, seed=0)
    ref = stats.bootstrap((y, p), lambda a, b: stats.spearmanr(a, b).statistic, paired=True, vectorized=False,
                          n_resamples=2000, method="percentile", random_state=0).confidence_interval
    assert abs(low - ref.low) < 0.01 and abs(high - ref.high) < 0.01
    assert low < stats.spearmanr(y, p).statistic < high
    assert bootstrap_spearman(y, p, resamples=2000, seed=0) == (low, high)  # seeded


def test_paired_difference_known_cases(noisy):
    y, p, rng = noisy
    same = paired_bootstrap_difference(y, p, p)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}
    better = paired_bootstrap_difference(y, y + 0.1 * rng.normal(size=len(y)), p)
    assert better["low"] > 0.1
    worse = paired_bootstrap_difference(y, p, y + 0.1 * rng.normal(size=len(y)))
    assert worse["high"] < -0.1


def fake_runs(noisy, gap: float):
    """Two finished runs on one task, a pretrained and a supervised one, with stored predictions."""
    y, p, rng = noisy
    preds = {"sup": p, "pre": p + gap * y + 0.05 * rng.normal(size=len(y))}
    runs = []
    for name, pretrained in (("sup", "false"), ("pre", "true")):
        rho = stats.spearmanr(y, preds[name]).statistic
        runs.append({"run_id": name, "start_time": 1, "tags.task": "t", "tags.model": name, "tags.seed": "0",
                     "tags.profile": "default", "params.clip_predictions": "False", "tags.pretrained": pretrained,
                     "tags.outcome": "ok", "tags.job_key": name, "metrics.test_spearman": rho,
                     "metrics.test_pearson": 0.0, "metrics.test_mse": 0.0, "metrics.fit_seconds": 1.0})
    frames = {k: pd.DataFrame({"sequence": list("A" * len(y)), "target": y, "prediction": v}) for k, v in preds.items()}
    return runs, frames.__getitem__


@pytest.mark.parametrize("gap, word", [(1.0, "helps"), (0.0, "inconclusive"), (-0.5, "does not help")])
def test_verdicts_follow_the_paired_interval(noisy, gap, word):
    runs, predictions = fake_runs(noisy, gap)
    text = leaderboard.render(runs, predictions=predictions)
    summary = next(line for line in text.splitlines() if line.startswith("| t |"))
    assert summary.endswith(f"| {word} |")
    assert "paired bootstrap on the seed-0 runs" in text and "95% CI" in text
    assert re.search(r"\| sup \| no \| [0-9.]+ \| -?\d\.\d{3}–\d\.\d{3} \|", text)  # interval filled from predictions


def test_compare_refuses_runs_on_different_sequences(noisy):
    frames = {"a": pd.DataFrame({"sequence": ["AC", "DE"], "target": [1, 2], "prediction": [1, 2]}),
              "b": pd.DataFrame({"sequence": ["AC", "DF"], "target": [1, 2], "prediction": [2, 1]})}
    with pytest.raises(ValueError, match="different sequences"):
        leaderboard.compare(frames.__getitem__, "a", "b")
