"""The rules a verdict word follows: picks made only on data the rule allows, evidence enough for the word,
three sides, caveats in the row, and headline numbers the bundle reproduces exactly."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from zoo import analysis, page


def run(name, *, approach="supervised", score_gap=0.0, valid=None, seed=0, task="t", extra=None, model=None):
    record = {
        "run_id": f"{name}-{seed}",
        "start_time": 1,
        "tags.task": task,
        "tags.model": model or name,
        "tags.seed": str(seed),
        "tags.profile": "default",
        "params.clip_predictions": "False",
        "tags.pretrained": str(approach != "supervised").lower(),
        "tags.approach": approach,
        "tags.outcome": "ok",
        "tags.job_key": f"{name}-{seed}",
        "metrics.test_spearman": 0.0,
        "tags.options": "{}",
        "tags.plugin": "p",
        "tags.plugin_version": "1",
        "tags.data_sha256": "d",
        "metrics.test_pearson": 0.5,
        "metrics.test_mse": 123456.0,
        "metrics.fit_seconds": 1.0,
        "gap": score_gap,
    }
    if valid is not None:
        record["metrics.valid_spearman"] = valid
    return {**record, **(extra or {})}


@pytest.fixture(scope="module")
def truth():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    return y, rng


def predictions_for(runs, truth):
    """Each run predicts the truth plus noise; its gap adds signal, so a larger gap ranks better."""
    y, rng = truth
    frames = {}
    for r in runs:
        noise = np.random.default_rng(zlib.crc32(r["run_id"].encode())).normal(size=len(y))
        frames[r["run_id"]] = pd.DataFrame(
            {
                "sequence": ["A" * (5 + i % 3) for i in range(len(y))],
                "target": y,
                "prediction": (0.5 + r["gap"]) * y + noise,
            }
        )
    return frames.__getitem__


def board(runs, truth, facts=None):
    return analysis.analyse(
        runs, predictions_for(runs, truth), facts or analysis.Facts(deterministic=set(m["tags.model"] for m in runs))
    )


def test_a_model_that_fits_on_the_selection_split_is_never_a_pick(truth):
    """cnn-linear-blend fits its blend weight on valid and was then ranked on that same valid score: it was
    the supervised pick on 4 of 7 tasks."""
    runs = [
        run("linear", valid=0.60),
        run("blend", valid=0.90, score_gap=0.2),
        run("unirep", approach="frozen", valid=0.5),
    ]
    facts = analysis.Facts(deterministic={"linear", "blend", "unirep"}, fits_on_selection={"blend"})
    b = board(runs, truth, facts)
    assert b.verdicts["t"].sup.model == "linear"
    assert analysis.best_of(b.tables["t"], "supervised").model == "blend"  # without the rule it would be
    text = page.render(b)
    assert "Shown, never a pick: blend: each fits parameters (a blend weight) on the valid split" in text


def test_hybrid_is_a_side_of_its_own(truth):
    """The augmented models contain the supervised ridge; counted as pretrained they tripled that side."""
    runs = [
        run("linear", valid=0.6),
        run("aug", approach="augmented", valid=0.9, score_gap=0.3),
        run("frozen", approach="frozen", valid=0.5, score_gap=-0.2),
    ]
    b = board(runs, truth)
    assert b.verdicts["t"].pre.model == "frozen" and b.verdicts["t"].word == "does not help"
    assert b.hybrid["t"].pre.model == "aug" and b.hybrid["t"].word == "helps"
    row = next(line for line in page.render(b).splitlines() if line.startswith("| [t](tasks/t.md) |"))
    assert "| **does not help** | aug (augmented)" in row and row.count("**helps**") == 1


def test_valid_that_does_not_rank_configurations_is_said_in_the_row(truth):
    """On gb1_two_vs_rest valid ranked 43 configurations against test at Spearman -0.03: the pick is noise."""
    runs = [run(f"s{i}", valid=0.9 - 0.1 * i, score_gap=0.4 * i) for i in range(5)]  # valid ranks backwards
    runs += [run("frozen", approach="frozen", valid=0.5)]
    b = board(runs, truth)
    assert analysis.valid_ranks_test(b.tables["t"], "supervised") == pytest.approx(-1.0)
    assert any(c.startswith("valid does not rank configurations here (ρ = -1.00)") for c in b.verdicts["t"].caveats)
    assert "valid does not rank configurations here" in page.render(b).split("\n")[6]  # the front page's row


def test_a_task_caveat_is_carried_to_every_verdict_on_it(truth):
    runs = [
        run("linear", valid=0.6, task="gb1_sampled"),
        run("frozen", approach="frozen", valid=0.5, task="gb1_sampled"),
    ]
    facts = analysis.Facts(
        deterministic={"linear", "frozen"}, caveats={"gb1_sampled": "FLIP advises against this split"}
    )
    b = board(runs, truth, facts)
    assert "FLIP advises against this split" in b.verdicts["gb1_sampled"].caveats
    text = page.render(b)
    assert "Caveats: gb1_sampled: FLIP advises against this split." in text.split("\n")[2]  # the answer paragraph


def test_zero_shot_rows_have_no_pearson_or_mse_and_a_length_controlled_reading(truth):
    """MSE and Pearson of summed log-likelihoods against fitness values were printed, meaningless."""
    runs = [run("linear", valid=0.6), run("lm", approach="zero-shot")]
    b = board(runs, truth)
    text = page.render(b)
    lm = next(line for line in text.splitlines() if line.startswith("| lm | zero-shot |"))
    cells = [c.strip() for c in lm.split("|")]
    assert cells[5] == "–" and cells[6] == "–" and "123,456" not in lm
    row = next(r for r in b.tables["t"] if r.model == "lm")
    assert np.isfinite(row.length_controlled) and "within sequence lengths" in text


def test_a_curve_pick_is_ranked_on_the_selection_split_not_all_of_valid(truth):
    """At N = 24 on stability, 2,512 labels chose the configuration while the page said N/4."""
    runs = []
    for seed in range(3):
        for name, approach, valid, selection, gap in (
            ("a", "supervised", 0.9, 0.1, 0.0),  # best on all of valid, worst on its own selection rows
            ("b", "supervised", 0.5, 0.6, 0.1),
            ("f", "frozen", 0.5, 0.5, 0.2),
        ):
            runs.append(
                run(
                    name,
                    approach=approach,
                    seed=seed,
                    valid=valid,
                    score_gap=gap,
                    extra={
                        "tags.train_size": "24",
                        "params.train_sequences": "24",
                        "params.selection_sequences": "8",
                        "metrics.selection_spearman": selection,
                    },
                )
            )
    runs += [run("a", valid=0.9, extra={"params.train_sequences": "100"})]  # a full-size run: the task has curves
    pairs = board(runs, truth).pairs["t"]
    [pair] = [p for p in pairs if p.n == 24]
    assert pair.sup == "b" and pair.pre == "f" and pair.word in ("helps", "inconclusive", "does not help")
    unscored = [{k: v for k, v in r.items() if k != "metrics.selection_spearman"} for r in runs]
    [old] = [p for p in board(unscored, truth).pairs["t"] if p.n == 24]
    assert old.word == "not determinable (selection score not recorded: rerun the curve jobs)"


def test_headline_numbers_are_recomputed_from_the_stored_predictions(truth):
    """Two published runs recomputed 0.0005 and 0.008 away from their recorded metric (float32 ties)."""
    runs = [run("linear", valid=0.6), run("frozen", approach="frozen", valid=0.5)]
    b = board(runs, truth)
    row = b.tables["t"][0]
    frame = predictions_for(runs, truth)(row.runs[0]["run_id"])
    from scipy.stats import spearmanr

    assert row.score == pytest.approx(spearmanr(frame["target"], frame["prediction"]).statistic)
    assert float(row.runs[0]["metrics.test_spearman"]) == 0.0  # the recorded value is not what is shown
