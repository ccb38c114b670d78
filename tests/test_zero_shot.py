"""Issue 14.3-14.5: zero-shot (UniRep's log-likelihood, N = 0) and augmented models (one-hot + a
pretrained feature) on real stability rows, the approach each model declares, and how the board
uses them: the N = 0 point, the chance verdict, and "best pretrained" over every approach."""

from __future__ import annotations

import numpy as np
import pytest
import zoo_plugins.linear.plugin as linear_plugin
import zoo_plugins.unirep.plugin as unirep_plugin
import zoo_tasks.tape as tape_plugin

from zoo import analysis, hookimpl, page
from zoo.contract import ContractError, build_spec
from zoo.plugins import build
from zoo.runner import Runner, plan
from zoo.tracking import Tracker


@pytest.mark.parametrize(
    "given, words",
    [
        ({"pretrained": False, "approach": "frozen"}, "approach='frozen' does not fit pretrained=False"),
        ({"pretrained": True, "approach": "supervised"}, "Fix: approach is one of frozen, fine-tuned"),
        ({"pretrained": True, "approach": "zeroshot"}, "approach='zeroshot' does not fit"),
    ],
)
def test_an_approach_that_contradicts_pretrained_is_refused(given, words):
    with pytest.raises(ContractError, match=words):
        build_spec("model", "m", given)


def test_approach_defaults_say_no_more_than_the_plugin_did():
    assert build_spec("model", "m", {"pretrained": False}).approach == "supervised"
    assert build_spec("model", "m", {"pretrained": True}).approach == "pretrained"
    registry = build([("unirep", "0.1.0", unirep_plugin)])
    approaches = {name: registry.models[name].spec.approach for name in registry.models}
    assert approaches["unirep-64"] == "frozen" and approaches["unirep-64-finetune"] == "fine-tuned"
    assert approaches["unirep-64-zeroshot"] == "zero-shot" and approaches["unirep-augmented"] == "augmented"


@pytest.fixture(scope="module")
def board_runs(subset_dir, mlflow_uri, tmp_path_factory):
    """linear, UniRep-64 zero-shot and both augmented UniRep-64 models on 400 real stability rows,
    at N = 48 and the full split, with a fresh cache."""
    import os

    os.environ["ZOO_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    registry = build(
        [("linear", "0.1.0", linear_plugin), ("unirep", "0.1.0", unirep_plugin), ("tape-tasks", "0.1.0", tape_plugin)]
    )
    models = ["linear", "unirep-64-zeroshot", "unirep-64-augmented", "unirep-64-augmented-embedding"]
    jobs = plan(registry, models, ["stability"], seeds=2, train_sizes=[48, None])
    tracker = Tracker(experiment="zero-shot")
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    yield jobs, outcomes, tracker
    os.environ.pop("ZOO_CACHE_DIR", None)


def test_a_zero_shot_model_runs_once_and_reads_no_label(board_runs, subset_dir):
    jobs, outcomes, tracker = board_runs
    assert [j.name for j in jobs if "zeroshot" in j.model] == ["unirep-64-zeroshot/stability/seed0"]
    assert all(o.status == "ok" for o in outcomes), [o.message for o in outcomes if o.status != "ok"]
    run = next(r for r in tracker.job_runs() if r["tags.model"] == "unirep-64-zeroshot")
    assert run["tags.approach"] == "zero-shot" and run["params.hp.trainable_parameters"] == "0"
    frame = tracker.predictions(run["run_id"])
    expected = unirep_plugin.features(64, {"batch_size": 8}).log_likelihood(list(frame["sequence"]))
    assert np.allclose(frame["prediction"], expected, atol=1e-3)  # the likelihood itself, not a fitted model


def test_augmented_models_stack_one_hot_and_the_pretrained_feature(board_runs):
    _, _, tracker = board_runs
    runs = {(r["tags.model"], r["tags.train_size"], r["tags.seed"]): r for r in tracker.job_runs()}
    density = runs[("unirep-64-augmented", "full", "0")]
    embedding = runs[("unirep-64-augmented-embedding", "full", "0")]
    one_hot = int(runs[("linear", "full", "0")]["params.hp.trainable_parameters"])
    assert int(density["params.hp.trainable_parameters"]) == one_hot + 1
    assert int(embedding["params.hp.trainable_parameters"]) == one_hot + 64
    assert density["params.hp.extra_emphasis"] == "10.0" and density["tags.approach"] == "augmented"
    assert ("unirep-64-augmented", "48", "1") in runs  # on the curve, every seed draws its own subset


def test_the_board_puts_zero_shot_at_n_0_and_lets_every_approach_compete(board_runs):
    _, _, tracker = board_runs
    runs = tracker.job_runs()
    board = analysis.analyse(runs, tracker.predictions)
    curves = board.curves["stability"]
    assert [p.n for p in curves["unirep-64-zeroshot"].points] == [0]
    assert curves["unirep-64-zeroshot"].at(48) is curves["unirep-64-zeroshot"].points[0]  # holds at every N
    [row] = analysis.zero_shot(board.tables)["stability"]
    assert row.ci[0] <= row.score <= row.ci[1]
    assert analysis.chance_word(row) in ("beats chance", "worse than chance", "not distinguishable from chance")
    pairs = {p.n: p for p in board.pairs["stability"]}
    assert set(pairs) == {48, 400}  # N = 0 has no supervised side: it is judged against chance instead
    for p in pairs.values():
        assert p.pre_approach in ("zero-shot", "augmented")
    text = page.render(board)
    assert "## Zero-shot (N = 0)" in text and "| N=0 | N=48 | N=400 |" in text
    best_pre = board.verdicts["stability"].pre
    assert f"{best_pre.label} ({best_pre.approach}) {best_pre.score:.3f}" in text  # the verdict names the approach
    table = text.split("\n# stability\n")[1].split("\n# ")[0]
    assert "| unirep-64-zeroshot | zero-shot |" in table and "| linear | supervised |" in table


def test_a_zero_shot_curve_is_a_level_on_the_figure(board_runs, tmp_path):
    from zoo import figures

    _, _, tracker = board_runs
    curves = analysis.curves(tracker.job_runs())["stability"]
    path = figures.learning_curve("stability", curves, tmp_path / "curve.png")
    assert path.stat().st_size > 5000


class Relabelled:
    """A model that says it is zero-shot but is not pretrained: refused where it registers."""

    @hookimpl
    def register_models(self, register):
        register("confused", lambda **kw: None, pretrained=False, approach="zero-shot")


def test_a_plugin_with_a_contradictory_approach_is_broken_not_run():
    registry = build([("confused", "1", Relabelled())])
    assert "confused" not in registry.models
    assert "does not fit pretrained=False" in registry.plugins["confused"].error


def test_the_cli_says_why_a_zero_shot_model_runs_once(subset_dir, mlflow_uri, capsys, tmp_path, monkeypatch):
    from zoo.cli import main

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    args = ["eval", "--model", "unirep-64-zeroshot", "--task", "stability", "--train-sizes", "48,full"]
    assert main([*args, "--data-dir", str(subset_dir)]) == 0
    out = capsys.readouterr().out
    assert "1 jobs (1 models x 1 tasks)" in out and "1 ok" in out
    assert "unirep-64-zeroshot: zero-shot, no label read: one job on the full task stands for every" in out


def test_the_curve_figure_draws_lines_and_levels_not_single_points():
    """The stability figure had 30 legend entries, colours repeating: every configuration run on the
    full split alone (an option tried once) was a lone marker at the right edge. Those stay in the
    task's table and bar chart; the figure draws what has a curve, and the zero-shot levels."""
    from zoo import figures
    from zoo.analysis import Curve, Point

    run = {"metrics.test_spearman": "0.5"}
    curves = {
        "linear": Curve("linear", False, [Point(24, [run]), Point(96, [run])]),
        "cnn (filters=256)": Curve("cnn (filters=256)", False, [Point(96, [run])]),
        "unirep-64-zeroshot": Curve("unirep-64-zeroshot", True, [Point(0, [run])], approach="zero-shot"),
    }
    assert list(figures.drawn_curves(curves)) == ["linear", "unirep-64-zeroshot"]
