"""Bootstrap intervals and paired verdicts: checked against scipy and on cases with known answers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoo import analysis, hookimpl, page
from zoo.metrics import (
    _resamples,
    bootstrap_spearman,
    paired_bootstrap_difference,
    paired_bootstrap_mean_difference,
    regression_metrics,
    resampled_spearman,
    spearman,
    two_level_interval,
)


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(3)
    y = rng.normal(size=400)
    return y, y + rng.normal(size=400), rng


@pytest.mark.parametrize("tied_targets", [False, True])
def test_resampled_spearman_equals_scipy_on_every_resample(noisy, tied_targets):
    y, p, _ = noisy
    y = np.round(y, 1) if tied_targets else y  # the second test set has the first one's size
    tied = np.clip(np.round(p), -1, 1)  # heavy ties, as clipping makes
    ours = resampled_spearman(y, tied, resamples=60, seed=5)  # 60: two whole blocks and part of a third
    theirs = [stats.spearmanr(y[i], tied[i]).statistic for i in _resamples(len(y), 60, 5)]
    assert np.allclose(ours, theirs, atol=1e-12)
    assert np.isnan(resampled_spearman(y, np.zeros_like(y), resamples=3)).all()  # no rank order


def test_a_prediction_constant_up_to_rounding_ranks_nothing(noisy):
    """A one-hot ridge predicts one value for variants that differ only where it learned nothing, but a
    threaded BLAS sums some rows in another order: 1 ulp apart, such predictions ranked test items by
    rounding noise (a GFP scan with held-out positions scored -0.116 where 1 thread gave nan)."""
    y, p, _ = noisy
    rounded = np.full(len(y), 3.7052503)
    rounded[::3] = np.nextafter(3.7052503, 4.0)  # the spread seen: 4.4e-16
    assert np.isnan(spearman(y, rounded))
    assert np.isnan(regression_metrics(y, rounded)["pearson"])
    assert np.isnan(resampled_spearman(y, rounded, resamples=3)).all()
    assert np.isnan(spearman(y * 1e-6, rounded * 1e-6))  # rounding is relative to the numbers' size
    small = 3.7 + 1e-9 * p  # a tiny spread that is not rounding still ranks
    assert spearman(y, small) == pytest.approx(stats.spearmanr(y, p).statistic)


def test_bootstrap_interval_agrees_with_scipy(noisy):
    y, p, _ = noisy
    low, high = bootstrap_spearman(y, p, resamples=2000, seed=0)
    ref = stats.bootstrap(
        (y, p),
        lambda a, b: stats.spearmanr(a, b).statistic,
        paired=True,
        vectorized=False,
        n_resamples=2000,
        method="percentile",
        random_state=0,
    ).confidence_interval
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


def fake_run(
    name,
    task="t",
    seed=0,
    pretrained=False,
    score=0.5,
    options="{}",
    data="d1",
    start=1,
    outcome="ok",
    model=None,
    **extra,
):
    return {
        "run_id": name,
        "start_time": start,
        "tags.task": task,
        "tags.model": model or name,
        "tags.seed": str(seed),
        "tags.profile": "default",
        "params.clip_predictions": "False",
        "tags.pretrained": str(pretrained).lower(),
        "tags.outcome": outcome,
        "tags.job_key": name,
        "metrics.test_spearman": score,
        "tags.options": options,
        "tags.plugin": "p",
        "tags.plugin_version": "1",
        "tags.data_sha256": data,
        "metrics.test_pearson": 0.0,
        "metrics.test_mse": 0.0,
        "metrics.fit_seconds": 1.0,
        **extra,
    }


def fake_runs(noisy, gap: float):
    """Two finished runs on one task, a pretrained and a supervised one, with stored predictions."""
    y, p, rng = noisy
    preds = {"sup": p, "pre": p + gap * y + 0.05 * rng.normal(size=len(y))}
    runs = [fake_run(name, pretrained=name == "pre", score=stats.spearmanr(y, preds[name]).statistic) for name in preds]
    frames = {k: pd.DataFrame({"sequence": list("A" * len(y)), "target": y, "prediction": v}) for k, v in preds.items()}
    return runs, frames.__getitem__


DETERMINISTIC = analysis.Facts(deterministic={"pre", "sup"})  # one run each is all there is


def render(runs, predictions=None, facts=DETERMINISTIC, **kw):
    return page.render(analysis.analyse(runs, predictions, facts), **kw)


def front_row(text: str, task: str = "t") -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| [{task}](tasks/{task}.md) |"))


@pytest.mark.parametrize("gap, word", [(1.0, "helps"), (0.0, "inconclusive"), (-0.5, "does not help")])
def test_verdicts_follow_the_interval(noisy, gap, word):
    runs, predictions = fake_runs(noisy, gap)
    text = render(runs, predictions)
    assert f"| **{word}** |" in front_row(text)
    assert "two-level bootstrap over test items and seeds" in text and "95% CI" in text


def test_a_verdict_word_needs_three_seeds_or_a_deterministic_model(noisy):
    """One seed of a model that is not deterministic gave 'helps' before; now the word waits for the
    seeds, and the page prints the command that adds them."""
    runs, predictions = fake_runs(noisy, 1.0)
    text = render(runs, predictions, facts=analysis.Facts(deterministic={"sup"}))
    assert "| provisional (1 seed) |" in front_row(text)
    assert "would read 'helps': a diagnostic, not a verdict" in text
    assert "`zoo eval --model pre --task t --seeds 3`" in text
    three = [
        {**r, "run_id": f"{r['run_id']}{s}", "tags.seed": str(s), "tags.job_key": f"{r['run_id']}{s}"}
        for r in runs
        for s in range(3)
    ]
    frames = {r["run_id"]: predictions(r["run_id"][:-1]) for r in three}
    assert "| **helps** |" in front_row(render(three, frames.__getitem__, facts=analysis.Facts()))
    assert re.search(r"\| sup \| supervised \| [0-9.]+ \| -?\d\.\d{3}–\d\.\d{3} \|", text)  # interval from predictions


def test_compare_refuses_runs_on_different_sequences():
    frames = {
        "a": pd.DataFrame({"sequence": ["AC", "DE"], "target": [1, 2], "prediction": [1, 2]}),
        "b": pd.DataFrame({"sequence": ["AC", "DF"], "target": [1, 2], "prediction": [2, 1]}),
    }
    table = analysis.rows([fake_run("a"), fake_run("b")])["t"]
    with pytest.raises(ValueError, match="different sequences"):
        analysis.compare(frames.__getitem__, table[0], table[1])


def test_two_level_interval_is_the_paired_bootstrap_with_one_seed_and_wider_with_seed_noise(noisy):
    y, p, rng = noisy
    better = y + 0.5 * rng.normal(size=len(y))
    a, b = resampled_spearman(y, better), resampled_spearman(y, p)
    one = paired_bootstrap_difference(y, better, p)
    assert two_level_interval(a[None], b[None]) == pytest.approx((one["low"], one["high"]))
    # three seeds of a that differ a lot (training noise): the interval must widen to hold it
    seeds = np.stack([resampled_spearman(y, better + k * rng.normal(size=len(y))) for k in (0.0, 1.5, 3.0)])
    low, high = two_level_interval(seeds, b[None])
    test_only = paired_bootstrap_mean_difference(
        y, [better + k * rng.normal(size=len(y)) for k in (0.0, 1.5, 3.0)], [p, p, p]
    )
    assert high - low > 1.5 * (test_only["high"] - test_only["low"])


# --- issue 10: one row per configuration, never silently wrong -------------------------------------


def test_different_options_make_different_rows_and_never_average():
    """The report: linear, then linear -o alpha=100, then other data, averaged as 'linear, seeds 3'."""
    runs = [
        fake_run("a", model="linear", score=0.5, start=1),
        fake_run("b", model="linear", score=-0.2, options='{"alpha": 100.0}', start=2),
        fake_run("c", model="linear", score=0.1, data="d0", start=0),
    ]
    board = analysis.analyse(runs)
    assert [(r.label, len(r.runs), round(r.score, 3)) for r in board.tables["t"]] == [
        ("linear", 1, 0.5),
        ("linear (alpha=100.0)", 1, -0.2),
    ]
    text = page.render(board)
    assert "1 older run(s) on other data for this task name were left out" in text
    assert "| linear (alpha=100.0) | supervised | -0.200 |" in text


def test_gpu_runs_are_rows_of_their_own_named_by_their_gpu():
    """Issue 13.6: the same recipe on a GPU and on the CPU are published apart, the GPU named;
    their seeds are never averaged together."""
    cpu = {"tags.machine": "AMD EPYC 9B14, 2 cores, Linux x86_64, no GPU"}
    gpu = {"tags.machine": "Intel Xeon, 16 cores, GPU: NVIDIA H100 80GB HBM3"}
    runs = [
        fake_run("a", model="cnn", score=0.7, **cpu),
        fake_run("b", model="cnn", score=0.6, **gpu),
        fake_run("c", model="cnn", seed=1, score=0.5, **gpu),
    ]
    table = analysis.rows(runs)["t"]
    assert [(r.label, len(r.runs)) for r in table] == [("cnn", 1), ("cnn (on NVIDIA H100 80GB HBM3)", 2)]
    old_style = fake_run("d", model="cnn", **{"tags.machine": "Intel Xeon, 16 cores, GPU"})
    assert analysis.rows([old_style])["t"][0].label == "cnn (on GPU)"


def test_a_gpu_run_of_a_job_the_cpu_ran_is_kept_beside_it():
    """The same job (same key) run on the CPU and later on a GPU: one run per job and device, so the
    GPU's newer run never hides the CPU's (it once replaced it on the page)."""
    cpu = {"tags.machine": "AMD EPYC, 2 cores, Linux x86_64, no GPU", "tags.job_key": "k"}
    gpu = {"tags.machine": "Intel Xeon, 16 cores, GPU: NVIDIA H100 80GB HBM3", "tags.job_key": "k"}
    runs = [
        fake_run("a", model="cnn", score=0.7, start=1, **cpu),
        fake_run("b", model="cnn", score=0.55, start=2, **gpu),
    ]
    board = analysis.analyse(runs)
    assert [(r.label, round(r.score, 2)) for r in board.tables["t"]] == [
        ("cnn", 0.7),
        ("cnn (on NVIDIA H100 80GB HBM3)", 0.55),
    ]


def test_a_raised_recipe_is_a_row_of_its_own_and_the_older_one_is_marked_superseded():
    """Issue 13.5: a model that raises its default recipe on one task (ModelSpec.revisions) gets new
    rows there; its older runs stay, said to be superseded on that task alone."""
    new = {"tags.recipe_revision": "1"}
    runs = [
        fake_run("a", model="cnn", score=0.6),
        fake_run("b", model="cnn", score=0.7, **new),
        fake_run("c", model="cnn", task="u", score=0.5),  # never raised on u
    ]
    tables = analysis.rows(runs)
    assert [r.label for r in tables["t"]] == ["cnn (recipe 1)", "cnn (superseded)"]
    assert [r.label for r in tables["u"]] == ["cnn"]


def test_two_plugins_configurations_are_named_apart():
    runs = [
        fake_run("a", model="knn"),
        {**fake_run("b", model="knn"), "tags.plugin": "other", "tags.plugin_version": "2"},
    ]
    assert sorted(r.label for r in analysis.rows(runs)["t"]) == ["knn [other 2]", "knn [p 1]"]


def test_nan_scores_never_win_and_count_as_failures():
    runs = [
        fake_run("sup", score=0.3),
        fake_run("nan", score=float("nan")),
        fake_run("pre", pretrained=True, score=float("nan")),
    ]
    board = analysis.analyse(runs)
    table = board.tables["t"]
    assert [r.label for r in table if r.ok] == ["sup"] and analysis.best(table) == (None, table[0])
    text = page.render(board)
    assert "nan" not in text.split("## Models that did not run")[0].lower().replace("nan,", "")
    assert "no pretrained model has finished here" in text


def test_a_task_where_nothing_succeeded_gets_a_page_and_a_figure(tmp_path):
    """The report: zoo leaderboard crashed in figures.py when a task's only job ended unavailable."""
    from zoo import publish

    runs = [fake_run("esm2-8m", outcome="unavailable", score=None, **{"tags.message": "weights unavailable: offline"})]
    board = analysis.analyse(runs)
    written = publish.publish(board, tmp_path / "README.md", None)
    text = (tmp_path / "details.md").read_text()
    assert "**esm2-8m** (unavailable, every task): weights unavailable: offline" in text
    assert (tmp_path / "tasks" / "t.png").stat().st_size > 1000
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "README.md",
        "details.md",
        "summary.png",
        "tasks/t.md",
        "tasks/t.png",
    ]


def test_untrusted_text_cannot_become_a_link_an_image_or_html():
    hostile = "![img](http://evil/x.png) [x](javascript:alert(1)) <script>|`code`"
    out = page.md(hostile)
    assert "![" not in out and "](" not in out.replace("\\](", "") and "<script" not in out and "\\|" in out
    runs = [fake_run("m", outcome="failed", score=None, **{"tags.message": hostile, "tags.data_notes": hostile})]
    text = page.render(analysis.analyse(runs))
    assert "![img](" not in text and "[x](javascript" not in text and "<script>" not in text


def test_not_run_models_are_listed_once_per_family():
    runs = [
        fake_run(
            f"{m}-{t}",
            task=t,
            model=m,
            outcome="unavailable",
            score=None,
            pretrained=True,
            **{"tags.message": f"weights unavailable for {m}"},
        )
        for m in ("esm2-8m", "esm2-8m-finetune")
        for t in ("t1", "t2")
    ] + [fake_run("lin", task="t1"), fake_run("lin2", task="t2")]
    text = page.render(analysis.analyse(runs))
    section = text.split("## Models that did not run")[1]
    assert section.count("- **esm2-8m") == 1 and "**esm2-8m, esm2-8m-finetune** (unavailable, every task)" in section
    assert "not run:" not in text  # the per-task tables hold only what ran


def test_each_stopped_training_is_listed_with_how_far_it_got():
    """Two fine-tunes stopped mid-training on two tasks showed as one entry, one task's progress."""
    runs = [
        fake_run(
            f"ft-{t}",
            task=t,
            model="u-finetune",
            outcome="killed",
            score=None,
            pretrained=True,
            **{"tags.message": f"stopped after epoch {e} (best valid Spearman 0.800, epoch {e})"},
        )
        for t, e in (("t1", 7), ("t2", 1))
    ] + [fake_run("lin", task="t1"), fake_run("lin2", task="t2")]
    section = page.render(analysis.analyse(runs)).split("## Models that did not run")[1]
    assert "**u-finetune** (killed, t1): stopped after epoch 7" in section
    assert "**u-finetune** (killed, t2): stopped after epoch 1" in section


# --- low-N learning curves -----------------------------------------------------------------------

from zoo import Split  # noqa: E402
from zoo.runner import nested_subset  # noqa: E402


def test_nested_subsets_are_seeded_and_nested():
    split = Split([f"A{i}" for i in range(500)], np.arange(500.0))
    small, large = nested_subset(split, 24, seed=1), nested_subset(split, 96, seed=1)
    assert set(small.sequences) < set(large.sequences)
    assert nested_subset(split, 24, seed=1).sequences == small.sequences  # the same for every model
    assert len(nested_subset(split, 10_000)) == 500


def test_learning_curves_end_to_end(subset_dir, mlflow_uri, tmp_path):
    import zoo_plugins.cnn.plugin as cnn_plugin
    import zoo_plugins.linear.plugin as linear_plugin
    import zoo_tasks.tape as tape_plugin

    from zoo.plugins import build
    from zoo.runner import Runner, plan
    from zoo.tracking import Tracker

    registry = build(
        [("linear", "0.1.0", linear_plugin), ("cnn", "0.1.0", cnn_plugin), ("tape-tasks", "0.1.0", tape_plugin)]
    )
    tracker = Tracker(experiment="learning-curves")
    jobs = plan(
        registry,
        ["linear", "cnn"],
        ["stability"],
        seeds=2,
        train_sizes=[48, 192, None],
        options={"filters": 8, "epochs": 1},
    )
    assert [j.name for j in jobs][:5] == [
        "linear/stability/seed0/n48",
        "linear/stability/seed1/n48",
        "linear/stability/seed0/n192",
        "linear/stability/seed1/n192",
        "linear/stability/seed0",
    ]
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    assert all(o.status == "ok" for o in outcomes)
    runs = tracker.job_runs()
    curves = analysis.curves(runs)["stability"]
    assert [p.n for p in curves["linear"].points] == [48, 192, 400]
    assert all(
        p.mean_metric("test_spearman_ci_low") <= p.mean <= p.mean_metric("test_spearman_ci_high")
        for p in curves["cnn (epochs=1, filters=8, recipe 1)"].points  # stability: recipe raised
    )
    from zoo import publish

    publish.publish(analysis.analyse(runs), tmp_path / "README.md", None)
    text = (tmp_path / "tasks" / "stability.md").read_text()
    curve = tmp_path / "tasks" / "stability_learning_curve.png"
    assert "## Learning curves" in text and curve.stat().st_size > 5000
    assert "no size has both a pretrained and a supervised run yet" in text
    table = text.split("## Every configuration")[1].split("##")[0]
    # full-size runs only
    assert "| cnn (epochs=1, filters=8, recipe 1) | supervised |" in table and "| 2 | default |" in table

    class Relabelled:  # linear again, registered as if pretrained: a real pair for the curve verdicts
        @hookimpl
        def register_models(self, register):
            register("linear-as-pretrained", linear_plugin.make_ridge, pretrained=True, deterministic=True)

    registry = build(
        [
            ("linear", "0.1.0", linear_plugin),
            ("tape-tasks", "0.1.0", tape_plugin),
            ("relabelled", "0.1.0", Relabelled()),
        ]
    )
    jobs = plan(registry, ["linear-as-pretrained"], ["stability"], seeds=2, train_sizes=[48, 192, 1000, None])
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    too_big = [o for o in outcomes if o.job.train_size == 1000]  # the subset's train split has 400
    assert len(too_big) == 2 and all(o.status == "skipped" and "has only 400 sequences" in o.message for o in too_big)
    assert all(o.status == "ok" for o in outcomes if o not in too_big)
    runs = tracker.job_runs()
    curves = analysis.curves(runs)["stability"]
    twins = {k: v for k, v in curves.items() if k.startswith("linear")}  # one model under two names
    pairs = analysis.curve_pairs(twins, tracker.predictions)
    assert [p.n for p in pairs] == [48, 192, 400] and [p.seeds for p in pairs] == [2, 2, 1]
    assert all(p.difference == 0 and p.low == 0 == p.high for p in pairs)
    # fewer than 3 seeds: the interval's 'inconclusive' is no verdict word yet
    assert [p.word for p in pairs] == ["provisional (2 seeds)", "provisional (2 seeds)", "provisional (1 seed)"]
    assert all(analysis.word(p.low, p.high) == "inconclusive" for p in pairs)
    text = render(runs, tracker.predictions)
    assert "| train N | best supervised | best pretrained |" in text
    assert "On the learning curves, pretraining helps" not in text  # the twins never differ


def test_curve_statement_groups_sizes_by_verdict():
    pairs = [
        analysis.Pair(n, "p", "frozen", 0, "s", 0, 1, 0, low, high)
        for n, low, high in ((24, 0.01, 0.2), (96, -0.1, 0.1), (53614, -0.1, -0.01))
    ]
    assert page.curve_statement("t", pairs) == (
        "**t** (pretrained against supervised): pretraining helps at N=24; inconclusive at N=96; "
        "pretraining does not help at N=53,614."
    )


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


def test_the_page_names_the_unclipped_best_supervised_row_even_without_a_verdict():
    """Clipping raises Spearman; a clipped row must not become 'best supervised' on the page."""
    clipped = {**fake_run("a", model="linear", score=0.7), "params.clip_predictions": "True", "tags.profile": "paper"}
    text = page.render(analysis.analyse([clipped, fake_run("b", model="linear", score=0.6)]))
    assert "| linear (supervised) 0.600 | none finished |" in front_row(text)
    assert "Best supervised: linear 0.600" in text


def test_the_page_carries_no_folder_of_the_machine_that_made_it():
    message = "weights unavailable: esm.pt is not in /root/.cache/torch/hub/checkpoints/esm.pt; see https://x.org/a/b"
    runs = [fake_run("m", outcome="unavailable", score=None, **{"tags.message": message}), fake_run("n")]
    text = page.render(analysis.analyse(runs))
    assert "/root/" not in text and "…/esm.pt" in text and "https://x.org/a/b" in text


def test_the_capacity_view_orders_pretrained_models_by_their_parameters():
    runs = [
        fake_run(
            f"{name}-{task}",
            task=task,
            model=name,
            pretrained=True,
            score=score,
            **{"tags.pretrained_parameters": params},
        )
        for name, params in (("big", "1000000"), ("small", "1000"))
        for task, score in (("t1", 0.5), ("t2", 0.6))
        if not (name == "big" and task == "t2")
    ] + [fake_run("lin", task="t1")]
    section = page.render(analysis.analyse(runs)).split("## Pretrained capacity")[1].split("##")[0]
    assert "| task | small (1,000) | big (1,000,000) |" in section
    assert "| t1 | 0.500 | 0.500 |" in section and "| t2 | 0.600 | – |" in section


def test_each_sides_best_is_chosen_on_valid_never_on_test():
    """The verdict compares the configuration each side would pick without test labels: the best mean
    valid Spearman. Taking the higher test score instead favours the side with more configurations (the
    max of many noisy test scores). A row with no valid score ranks after those with one, by test."""
    runs = [
        fake_run("grid", model="cnn-grid", score=0.82, **{"metrics.valid_spearman": 0.78}),
        fake_run("pairs", model="linear-pairwise", score=0.80, **{"metrics.valid_spearman": 0.87}),
        fake_run("novalid", model="knn", score=0.95),
        fake_run("frozen", model="unirep", pretrained=True, score=0.79, **{"metrics.valid_spearman": 0.70}),
        fake_run("aug", model="unirep-augmented", pretrained=True, score=0.78, **{"metrics.valid_spearman": 0.75}),
    ]
    table = analysis.analyse(runs).tables["t"]
    pre, sup = analysis.best(table)
    assert (pre.label, sup.label) == ("unirep-augmented", "linear-pairwise")
    text = page.render(analysis.analyse(runs))
    assert "| linear-pairwise (supervised) 0.800 | unirep-augmented (pretrained) 0.780 |" in front_row(text)
    assert "best mean valid Spearman" in text
    only_test = [fake_run("a", model="a", score=0.6), fake_run("b", model="b", score=0.7)]
    assert analysis.best(analysis.analyse(only_test).tables["t"])[1].label == "b"
    # a valid split of 3 rows cannot rank configurations: test chooses, and the verdict says so
    tiny = [{**run, "params.selection_sequences": "3"} for run in runs if run["run_id"] != "novalid"]
    pre, sup = analysis.best(analysis.analyse(tiny).tables["t"])
    assert (pre.label, sup.label) == ("unirep", "cnn-grid")
    assert "**Chosen on test:** its valid split has 3 row(s)" in page.render(analysis.analyse(tiny))
    assert "Chosen on test" not in text


def test_every_fine_tuned_row_says_how_long_it_trained_and_which_checkpoint_it_kept():
    """Issue 14: a fine-tuned row records its epochs, its steps and the checkpoint selected, and the page
    shows them, so a bounded run is never read as a converged one."""

    def tuned(name, done, steps, best, early, cap="20", bound="None", **extra):
        hp = {"epochs": cap, "epochs_done": done, "steps_done": steps, "stopped_early": early, "patience": "3"}
        hp |= {"max_seconds": bound, **({"best_epoch": best} if best else {})}
        return fake_run(
            name,
            pretrained=True,
            **{"tags.approach": "fine-tuned", "metrics.valid_spearman": 0.6},
            **{f"params.hp.{k}": v for k, v in hp.items()},
            **extra,
        )

    runs = [
        tuned("early", "18", "14166", "15", "True"),
        tuned("cap", "20", "6740", "19", "False"),
        tuned("bounded", "0", "874", None, "False", bound="330.0"),
        tuned("seeds0", "4", "16", "1", "True", model="seeds", seed=0),
        tuned("seeds1", "5", "20", "2", "True", model="seeds", seed=1),
        fake_run("frozen", pretrained=True, **{"tags.approach": "frozen"}),
        fake_run("silent", pretrained=True, **{"tags.approach": "fine-tuned"}),  # a plugin that reports nothing
    ]
    section = render(runs).split("## Fine-tuned training")[1].split("\n## ")[0]
    early = "stopped early (3 epochs without a better valid)"
    assert f"| t | early | 18 of 20 | 14,166 | epoch 15 | {early} | 0.600 | 0.500 |" in section
    assert "| t | cap | 20 of 20 | 6,740 | epoch 19 | reached the epoch cap |" in section
    last = "the last step (no epoch finished)"
    assert f"| t | bounded | 0 of 20 | 874 | {last} | stopped by its step or time bound |" in section
    assert f"| t | seeds | 4, 5 of 20 | 16, 20 | epoch 1, 2 | {early} |" in section
    assert "frozen" not in section
    assert f"| t | silent | – of – | – | {last} | not recorded |" in section
