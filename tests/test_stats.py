"""Bootstrap intervals and paired verdicts: checked against scipy and on cases with known answers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoo import leaderboard
from zoo import hookimpl
from zoo.metrics import (_rowwise_spearman, bootstrap_spearman, paired_bootstrap_difference,
                         paired_bootstrap_mean_difference)


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
    assert summary.endswith(f"| {word} | not run |")  # no learning curve on this task
    assert "paired bootstrap on the seed-0 runs" in text and "95% CI" in text
    assert re.search(r"\| sup \| no \| [0-9.]+ \| -?\d\.\d{3}–\d\.\d{3} \|", text)  # interval filled from predictions


def test_compare_refuses_runs_on_different_sequences(noisy):
    frames = {"a": pd.DataFrame({"sequence": ["AC", "DE"], "target": [1, 2], "prediction": [1, 2]}),
              "b": pd.DataFrame({"sequence": ["AC", "DF"], "target": [1, 2], "prediction": [2, 1]})}
    with pytest.raises(ValueError, match="different sequences"):
        leaderboard.compare(frames.__getitem__, "a", "b")


# --- low-N learning curves -----------------------------------------------------------------------

from zoo import Split  # noqa: E402
from zoo.runner import nested_subset  # noqa: E402


def test_nested_subsets_are_seeded_and_nested():
    split = Split([f"A{i}" for i in range(500)], np.arange(500.0))
    small, large = nested_subset(split, 24), nested_subset(split, 96)
    assert set(small.sequences) < set(large.sequences)
    assert nested_subset(split, 24).sequences == small.sequences  # same for every model and seed
    assert len(nested_subset(split, 10_000)) == 500


def test_learning_curves_end_to_end(subset_dir, mlflow_uri, tmp_path):
    import zoo_plugins.cnn as cnn_plugin
    import zoo_plugins.linear as linear_plugin
    import zoo_tasks.tape as tape_plugin
    from zoo.plugins import build
    from zoo.runner import Runner, plan
    from zoo.tracking import Tracker

    registry = build([("linear", "0.1.0", linear_plugin), ("cnn", "0.1.0", cnn_plugin), ("tape-tasks", "0.1.0", tape_plugin)])
    tracker = Tracker(experiment="learning-curves")
    jobs = plan(registry, ["linear", "cnn"], ["stability"], seeds=2, train_sizes=[48, 192, None],
                options={"filters": 8, "epochs": 1})
    assert [j.name for j in jobs][:5] == ["linear/stability/seed0/n48", "linear/stability/seed1/n48",
                                         "linear/stability/seed0/n192", "linear/stability/seed1/n192",
                                         "linear/stability/seed0"]
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    assert all(o.status == "ok" for o in outcomes)
    runs = tracker.job_runs()
    curves = leaderboard.learning_curves(runs)["stability"]
    assert [p[0] for p in curves[("linear", False)]] == [48, 192, 400]
    assert all(p[2] <= p[1] <= p[3] for p in curves[("cnn", False)])
    text = leaderboard.render(runs, figure_dir=tmp_path)
    assert "## Learning curves" in text and (tmp_path / "stability_learning_curve.png").stat().st_size > 5000
    assert "no size has both a pretrained and a supervised run yet" in text
    table = text.split("## stability")[1].split("##")[0]
    assert "| cnn | no |" in table and "| 2 | default |" in table  # the main table counts full-size runs only

    class Relabelled:  # linear again, registered as if pretrained: a real pair for the curve verdicts
        @hookimpl
        def register_models(self, register):
            register("linear-as-pretrained", linear_plugin.make_ridge, pretrained=True, deterministic=True)

    registry = build([("linear", "0.1.0", linear_plugin), ("tape-tasks", "0.1.0", tape_plugin),
                      ("relabelled", "0.1.0", Relabelled())])
    jobs = plan(registry, ["linear-as-pretrained"], ["stability"], seeds=2, train_sizes=[48, 192, 1000, None])
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    too_big = [o for o in outcomes if o.job.train_size == 1000]  # the subset's train split has 400
    assert len(too_big) == 2 and all(o.status == "skipped" and "has only 400 sequences" in o.message for o in too_big)
    assert all(o.status == "ok" for o in outcomes if o not in too_big)
    runs = tracker.job_runs()
    curves = leaderboard.learning_curves(runs)["stability"]
    twins = {k: v for k, v in curves.items() if k[0].startswith("linear")}  # one model under two names
    pairs = leaderboard.curve_pairs(runs, twins, tracker.predictions, "stability")
    assert [p["n"] for p in pairs] == [48, 192, 400] and [p["seeds"] for p in pairs] == [2, 2, 1]
    assert all(p["difference"] == 0 and p["low"] == 0 == p["high"] and p["word"] == "inconclusive" for p in pairs)
    text = leaderboard.render(runs, predictions=tracker.predictions)
    assert "| train N | best supervised | best pretrained |" in text and "(paired bootstrap 95% CI" in text
    summary = next(line for line in text.splitlines() if line.startswith("| stability |"))
    assert summary.endswith("| no size |")  # the twins never differ, so nowhere does pretraining help


def test_curve_statement_groups_sizes_by_verdict():
    pairs = [{"n": 24, "low": 0.01, "high": 0.2}, {"n": 96, "low": -0.1, "high": 0.1},
             {"n": 53614, "low": -0.1, "high": -0.01}]
    for p in pairs:
        p["word"] = leaderboard._word(p)
    assert leaderboard.curve_statement("t", pairs) == (
        "**t:** pretraining helps at N=24; inconclusive at N=96; pretraining does not help at N=53,614 "
        "(paired bootstrap 95% CI of the seed-averaged difference).")


def test_seed_averaged_paired_difference(noisy):
    y, p, _ = noisy
    rng = np.random.default_rng(3)
    better = y + 0.1 * rng.normal(size=len(y))
    one = paired_bootstrap_difference(y, better, p)
    assert paired_bootstrap_mean_difference(y, [better], [p]) == one
    assert paired_bootstrap_mean_difference(y, [better, better], [p, p]) == pytest.approx(one)
    mixed = paired_bootstrap_mean_difference(y, [better, p], [p, p])  # one seed gains, one ties
    assert mixed["difference"] == pytest.approx(one["difference"] / 2)
    assert 0 < mixed["low"] < mixed["high"]
