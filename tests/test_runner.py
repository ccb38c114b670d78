"""Jobs end to end on real data subsets: MLflow logging, resume, failures, the CLI and the leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import zoo_plugins.cnn.plugin as cnn_plugin
import zoo_plugins.linear.plugin as linear_plugin
import zoo_tasks.tape as tape_plugin

from zoo import ZooError, analysis, hookimpl, page, publish
from zoo.cli import main
from zoo.files import write_atomic
from zoo.plugins import build
from zoo.runner import Runner, plan
from zoo.tracking import Tracker

TINY_CNN = {"filters": 16, "epochs": 2, "batch_size": 64}
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


class Broken:
    """Models that misbehave the ways a plugin author's model can."""

    class NaNs:
        params: dict = {}

        def fit(self, train, valid):
            pass

        def predict(self, sequences):
            return np.full(len(sequences), np.nan)

    class WrongShape(NaNs):
        def predict(self, sequences):
            return np.zeros((len(sequences), 2))

    class Strings(NaNs):
        def predict(self, sequences):
            return np.array(["high"] * len(sequences))

    class Raises(NaNs):
        def fit(self, train, valid):
            raise RuntimeError("CUDA out of memory (pretend)")

    @hookimpl
    def register_models(self, register):
        register("nan-model", lambda **kw: Broken.NaNs(), pretrained=True, deterministic=True)
        register("shape-model", lambda **kw: Broken.WrongShape(), pretrained=False, deterministic=True)
        register("raising-model", lambda **kw: Broken.Raises(), pretrained=False, deterministic=True)
        register("string-model", lambda **kw: Broken.Strings(), pretrained=False, deterministic=True)
        register("not-a-model", lambda **kw: object(), pretrained=False, deterministic=True)


@pytest.fixture(scope="module")
def registry():
    return build(
        [
            ("linear", "0.1.0", linear_plugin),
            ("cnn", "0.1.0", cnn_plugin),
            ("tape-tasks", "0.1.0", tape_plugin),
            ("broken", "9.9", Broken()),
        ]
    )


@pytest.fixture(scope="module")
def evaluated(registry, subset_dir, mlflow_uri):
    """One real evaluation: linear and a tiny CNN (2 seeds) on both tasks, plus the broken models."""
    tracker = Tracker(experiment="runner-tests")
    jobs = plan(registry, ["linear", "cnn"], ["fluorescence", "stability"], seeds=2, options=TINY_CNN)
    jobs += plan(registry, ["nan-model", "shape-model", "raising-model", "string-model", "not-a-model"], ["stability"])
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {"test": True})
    return tracker, jobs, outcomes


def test_plan_runs_deterministic_models_once(registry):
    jobs = plan(registry, ["linear", "cnn"], ["stability"], seeds=3)
    assert [j.name for j in jobs] == [
        "linear/stability/seed0",
        "cnn/stability/seed0",
        "cnn/stability/seed1",
        "cnn/stability/seed2",
    ]
    assert all(not j.clip for j in jobs)
    # on a subset the seed draws the training examples, so a deterministic model needs every seed
    sized = plan(registry, ["linear"], ["stability"], seeds=3, train_sizes=[24, None])
    assert [j.name for j in sized] == [
        "linear/stability/seed0/n24",
        "linear/stability/seed1/n24",
        "linear/stability/seed2/n24",
        "linear/stability/seed0",
    ]
    assert all(j.clip for j in plan(registry, ["linear"], ["stability"], profile="paper"))
    with pytest.raises(ZooError, match="Unknown option 'filtres'.*Did you mean 'filters'"):
        plan(registry, ["cnn"], ["stability"], options={"filtres": 3})


def test_jobs_are_logged_to_mlflow(evaluated):
    tracker, jobs, outcomes = evaluated
    ok = [o for o in outcomes if o.status == "ok"]
    assert len(ok) == 6  # linear x 2 tasks + cnn x 2 tasks x 2 seeds
    runs = {r["tags.mlflow.runName"]: r for r in tracker.job_runs()}
    run = runs["cnn/stability/seed1"]
    assert run["status"] == "FINISHED"
    for tag, value in {
        "model": "cnn",
        "task": "stability",
        "seed": "1",
        "profile": "default",
        "plugin": "cnn",
        "plugin_version": "0.1.0",
        "pretrained": "false",
        "outcome": "ok",
    }.items():
        assert run[f"tags.{tag}"] == value
    assert len(run["tags.git_commit"]) in (7, 40) or run["tags.git_commit"] == "unknown"
    assert len(run["tags.data_sha256"]) == 64
    assert "differ from TAPE's" in run["tags.data_notes"]
    assert run["params.option.filters"] == "16" and run["params.hp.layers"] == "3"
    # 3 conv layers of 16 filters, kernel 5, over 21 tokens, plus the head
    assert run["params.hp.trainable_parameters"] == str(5 * 21 * 16 + 16 + 2 * (16 * 16 * 5 + 16) + 17)
    assert run["tags.pretrained_parameters"] == "0" and run["metrics.test_predict_seq_per_s"] > 0
    assert run["metrics.test_spearman_ci_low"] < run["metrics.test_spearman"] < run["metrics.test_spearman_ci_high"]
    assert run["params.clip_predictions"] == "False"
    for metric in (
        "test_spearman",
        "test_pearson",
        "test_mse",
        "valid_spearman",
        "fit_seconds",
        "test_predict_seconds",
    ):
        assert np.isfinite(run[f"metrics.{metric}"])
    parent = tracker.client.get_run(run["tags.mlflow.parentRunId"])
    assert parent.data.tags["kind"] == "invocation" and parent.info.status == "FAILED"  # broken jobs failed
    local = tracker.client.download_artifacts(run["run_id"], "test_predictions.csv")
    frame = pd.read_csv(local)
    assert list(frame.columns) == ["sequence", "target", "prediction"] and len(frame) == 150
    scatter = tracker.client.download_artifacts(run["run_id"], "test_scatter.png")
    assert open(scatter, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_models_fail_alone_with_their_plugin_named(evaluated):
    _, _, outcomes = evaluated
    by_model = {o.job.model: o for o in outcomes if o.job.task == "stability" and o.job.seed == 0}
    assert by_model["linear"].status == "ok"
    assert by_model["nan-model"].status == "failed"
    assert (
        "'nan-model' (plugin 'broken'): predict() returned 100 NaN or infinite values" in by_model["nan-model"].message
    )
    assert "returned shape (100, 2) for 100 sequences; expected (100,)" in by_model["shape-model"].message
    assert by_model["raising-model"].message == "RuntimeError: CUDA out of memory (pretend)"
    assert (
        "'string-model' (plugin 'broken'): predict() returned dtype <U4, not real numbers"
        in by_model["string-model"].message
    )
    assert "the factory returned object, which lacks fit, predict, params" in by_model["not-a-model"].message


def test_rerun_resumes_and_force_reruns(evaluated, registry, subset_dir):
    tracker, jobs, _ = evaluated
    again = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    status = {o.job.name: o.status for o in again}
    assert status["cnn/fluorescence/seed1"] == "skipped" and status["linear/stability/seed0"] == "skipped"
    assert status["nan-model/stability/seed0"] == "failed"  # failures are retried
    linear_job = [j for j in jobs if j.model == "linear" and j.task == "stability"]
    forced = Runner(registry, tracker, data_dir=str(subset_dir), force=True).run(linear_job, {})
    assert [o.status for o in forced] == ["ok"]
    runs = tracker.job_runs()
    linear_runs = [r for r in runs if r["tags.mlflow.runName"] == "linear/stability/seed0"]
    assert len(linear_runs) == 2
    assert (
        len([r for r in analysis.latest_per_job(runs) if r["tags.model"] == "linear" and r["tags.task"] == "stability"])
        == 1
    )


def test_leaderboard_from_mlflow_runs(evaluated):
    tracker, _, _ = evaluated
    reference = publish.read_reference(publish.reference_for(ROOT / "leaderboard" / "README.md", None))
    text = page.render(analysis.analyse(tracker.job_runs()), reference)
    assert "\n# fluorescence\n" in text and "\n# stability\n" in text  # a page per task
    stability = text.split("\n# stability\n")[1].split("\n# ")[0]
    cnn_row = next(line for line in stability.splitlines() if line.startswith("| cnn (batch_size=64"))
    assert " ± " in cnn_row and "| 2 | default | no |" in cnn_row  # two seeds, mean ± sd
    assert "Did not finish here: nan-model, not-a-model, raising-model, shape-model, string-model" in stability
    assert "- **nan-model** (failed, stability): model 'nan-model' (plugin 'broken'): predict() returned" in text
    # the broken pretrained model never finished, so no verdict on pretraining may be claimed
    assert "**stability:** no pretrained model has finished here" in text
    assert "## Published reference numbers (not run here)" in text and "From `published.csv` in this folder" in text
    assert "| stability | CNN ensemble of 3 | no | 0.79 | Shanehsazzadeh et al. 2020" in text
    assert "differ from TAPE's" in text  # subset data is flagged on the board
    assert str(ROOT) not in text  # no absolute path of this machine


def test_runs_carry_intervals_and_compare(evaluated):
    tracker, _, _ = evaluated
    board = analysis.analyse(tracker.job_runs(), tracker.predictions)
    rows = {r.model: r for r in board.tables["stability"] if r.ok}
    low, high = rows["cnn"].ci
    assert low < rows["cnn"].score < high
    result = analysis.compare(tracker.predictions, rows["linear"], rows["cnn"])
    assert result["low"] <= result["difference"] <= result["high"]


def test_leaderboard_figures(evaluated, tmp_path):
    tracker, _, _ = evaluated
    reference = publish.read_reference(ROOT / "leaderboard" / "published.csv")
    publish.publish(
        analysis.analyse(tracker.job_runs(), tracker.predictions),
        tmp_path / "README.md",
        ROOT / "leaderboard" / "published.csv",
    )
    for task in ("fluorescence", "stability"):
        png = tmp_path / "tasks" / f"{task}.png"
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
        assert (
            f"![{task}: test Spearman by configuration]({task}.png)" in (tmp_path / "tasks" / f"{task}.md").read_text()
        )
    assert "![Each task's difference in test Spearman" in (tmp_path / "README.md").read_text()
    assert (tmp_path / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    assert reference and oct((tmp_path / "README.md").stat().st_mode & 0o777) == "0o644"  # as readable as the figures


def test_verdict_pairs_unclipped_rows_and_escapes_names():
    def row(model, pretrained, score, clip):
        run = {"run_id": model, "tags.seed": "0", "tags.outcome": "ok", "metrics.test_spearman": score}
        return analysis.Row("stability", model, model, pretrained, "default", clip, [run], [])

    table = [row("linear", False, 0.9, True), row("pre|trained", True, 0.7, False), row("cnn", False, 0.75, False)]
    pre, sup = analysis.best(table)
    assert pre.label == "pre|trained" and sup.label == "cnn"  # vs cnn, not the clipped linear
    assert "pre\\|trained (pretrained) 0.700" in page.verdict_line("stability", table, None)


def test_write_atomic_leaves_no_partial_file(tmp_path):
    target = tmp_path / "board" / "README.md"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["README.md"]
    with pytest.raises(ZooError, match="is a folder"):
        write_atomic(tmp_path, "x")
    assert [p.name for p in target.parent.iterdir()] == ["README.md"]


def test_cli_eval_and_leaderboard(subset_dir, mlflow_uri, tmp_path, capsys, data_dir):
    args = ["eval", "--model", "linear", "--task", "stability", "--data-dir", str(subset_dir)]
    assert main(args) == 0
    assert "1 ok" in capsys.readouterr().out
    assert main(args) == 0
    assert "1 skipped" in capsys.readouterr().out
    out = tmp_path / "board.md"
    (tmp_path / "published.csv").write_text((ROOT / "leaderboard" / "published.csv").read_text())
    assert main(["leaderboard", "--output", str(out)]) == 0
    assert "| linear | supervised |" in (tmp_path / "tasks" / "stability.md").read_text()
    assert "Published reference numbers" in (tmp_path / "details.md").read_text()
    assert main(["leaderboard", "--output", str(tmp_path)]) == 2  # a folder: one line, no traceback
    assert "is a folder. Fix: give the page's file name" in capsys.readouterr().err
    tracker = Tracker()
    logged = tracker.client.search_runs([tracker.experiment_id], "tags.kind = 'leaderboard'")
    names = {a.path for a in tracker.client.list_artifacts(logged[0].info.run_id)}
    assert {"board.md", "stability.png"} <= names  # the page and its figures, as MLflow artifacts


def test_cli_failures_give_nonzero_exit_and_keep_going(tmp_path, mlflow_uri, capsys):
    assert (
        main(
            ["eval", "--model", "linear", "--task", "fluorescence", "--task", "stability", "--data-dir", str(tmp_path)]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "2 failed" in out and "no data for task" in out


def test_cli_usage_errors(capsys, mlflow_uri):
    assert main(["eval", "--model", "lineer", "--task", "stability"]) == 2
    assert "Did you mean 'linear'" in capsys.readouterr().err
    assert main(["eval"]) == 2
    assert "say what to run: --all" in capsys.readouterr().err


def test_unreachable_tracking_server_fails_before_compute(monkeypatch, capsys, subset_dir):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert main(["eval", "--model", "linear", "--task", "stability", "--data-dir", str(subset_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the MLflow tracking server at http://127.0.0.1:9" in err
    assert "Nothing was computed" in err


def test_zoo_ui_serves_the_runs_over_rest(evaluated, mlflow_uri):
    """`zoo ui` on 127.0.0.1 against the filled store; the runs come back through MLflow's REST API."""
    from conftest import zoo_ui

    tracker, _, _ = evaluated
    with zoo_ui(mlflow_uri) as (base, search, output):
        runs = search(tracker.experiment_id, "tags.model = 'cnn' and tags.task = 'stability'")
        assert sorted(r["info"]["run_name"] for r in runs) == ["cnn/stability/seed0", "cnn/stability/seed1"]
    assert f"runs table: {base}/#/experiments/{Tracker().experiment_id}/runs" in output[0]


def test_progress_without_a_terminal_is_written_as_lines():
    """nohup, CI and log files get the steps too: a line at each new epoch and every tenth, with rate and eta."""
    import io

    from rich.console import Console

    from zoo.progress import Reporter

    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=False, width=40)) as reporter:  # a narrow log never wraps a line
        reporter.start_job("cnn/stability/seed0", 0, 1)
        for done in range(1, 101):
            reporter.step(done, 100, f"epoch {1 + (done - 1) // 50}/2")
    lines = [line for line in out.getvalue().splitlines() if "step" in line]
    assert lines[0].strip() == "cnn/stability/seed0 epoch 1/2: step 1/100"
    assert any("epoch 2/2: step 51/100" in line for line in lines)
    assert lines[-1].split(":")[1].startswith(" step 100/100")
    assert len(lines) == 12  # steps 1, 10, 20 … 50 of epoch 1; 51, 60 … 100 of epoch 2


def test_the_machine_names_its_gpu(tmp_path, monkeypatch):
    """A run's machine tag names the GPU it ran on (from the NVIDIA driver's /proc files), so the
    leaderboard can publish GPU rows apart from CPU rows."""
    from zoo import provenance

    (tmp_path / "cpuinfo").write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\n")
    assert provenance.describe(tmp_path).endswith("no GPU")
    gpu = tmp_path / "driver" / "nvidia" / "gpus" / "0000:00:05.0"
    gpu.mkdir(parents=True)
    (gpu / "information").write_text("Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 35\n")
    text = provenance.describe(tmp_path)
    assert text.startswith("Intel(R) Xeon(R) Platinum 8480+, ") and text.endswith(", GPU: NVIDIA H100 80GB HBM3")


def test_progress_lines_resume_for_a_jobs_second_pass():
    """A job that reports a second pass with a new total (a frozen model embeds train, then test) kept
    writing nothing after its first pass ended: the second pass's tenths never exceeded the first's."""
    import io

    from rich.console import Console

    from zoo.progress import Reporter

    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=False, width=40)) as reporter:
        reporter.start_job("unirep/fluorescence/seed0", 0, 1)
        for total in (100, 300):
            for done in range(1, total + 1):
                reporter.step(done, total)
    lines = [line for line in out.getvalue().splitlines() if ": step" in line]
    assert any("step 1/300" in line for line in lines) and any("step 150/300" in line for line in lines)
    assert lines[-1].split(":")[1].startswith(" step 300/300")


def test_progress_eta_is_the_average_rate_since_the_job_started_not_the_last_half_minute():
    """A fine-tune's log said '5.2/s, eta 1:43:46' and, one line later, after an epoch's validation
    pass, '0.6/s, eta 15:41:13': the rate was the last 30 s only. The rate and ETA are now the job's
    average since it started (or resumed) in this process, validation pauses included."""
    import io

    from rich.console import Console

    from zoo.progress import Reporter

    now = [0.0]
    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=False, width=40), clock=lambda: now[0]) as reporter:
        reporter.start_job("unirep-64-finetune/fluorescence/seed0", 0, 1)
        reporter.step(400, 1000, "epoch 3/10")  # resumed at step 400: the first report sets the origin
        for done in range(401, 501):
            now[0] += 1.0  # one step a second ...
            reporter.step(done, 1000, "epoch 3/10")
        now[0] += 100.0  # ... then 100 s of validation
        reporter.step(501, 1000, "epoch 4/10")
    last = [line for line in out.getvalue().splitlines() if ": step" in line][-1]
    # 101 steps in 200 s: 0.505/s, and the 499 steps left take 988 s
    assert last.strip() == "unirep-64-finetune/fluorescence/seed0 epoch 4/10: step 501/1000, 0.5/s, eta 0:16:28"


def test_progress_without_a_terminal_writes_a_line_at_least_every_minute():
    """A UniRep-256 fine-tune logged to a file wrote 'epoch 1/20: step 1/134040' and nothing more for
    150 s (a tenth of 20 epochs is two of them), so a probe on a lent GPU came back without its rate."""
    import io

    from rich.console import Console

    from zoo.progress import Reporter

    now = [0.0]
    out = io.StringIO()
    with Reporter(Console(file=out, force_terminal=False, width=40), clock=lambda: now[0]) as reporter:
        reporter.start_job("unirep-256-finetune/stability/seed0", 0, 1)
        for done in range(1, 301):  # one step a second, far from a tenth of 134,040
            reporter.step(done, 134_040, "epoch 1/20")
            now[0] += 1.0
    steps = [line.split(": step ")[1].split("/")[0] for line in out.getvalue().splitlines() if ": step" in line]
    assert steps == ["1", "61", "121", "181", "241"]
