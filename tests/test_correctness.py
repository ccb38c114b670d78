"""Issue 10: the leaderboard must never be silently wrong. Each test reproduces one reported case."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import zoo_plugins.cnn.plugin as cnn_plugin
import zoo_plugins.linear.plugin as linear_plugin
import zoo_tasks.tape as tape_plugin

from zoo import Split, TaskData, ZooError, hookimpl
from zoo.cli import main
from zoo.contract import ContractError, build_spec
from zoo.plugins import build
from zoo.runner import Job, Runner, nested_subset, plan, selection_split
from zoo.tracking import Tracker
from zoo.validate import check_task_data


@pytest.fixture(scope="module")
def registry():
    return build(
        [("linear", "0.1.0", linear_plugin), ("cnn", "0.1.0", cnn_plugin), ("tape-tasks", "0.1.0", tape_plugin)]
    )


def test_an_option_that_makes_constant_predictions_fails_the_job(registry, subset_dir, mlflow_uri):
    """-o alpha=1e25 made every prediction the mean: Spearman NaN was recorded as ok and ranked first."""
    tracker = Tracker(experiment="nan-options")
    jobs = plan(registry, ["linear"], ["stability"], options={"alpha": 1e25})
    [outcome] = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    assert outcome.status == "failed"
    assert "test Spearman is not a number: the predictions are constant" in outcome.message
    [run] = tracker.job_runs()
    assert run["status"] == "FAILED" and run["tags.outcome"] == "failed"
    assert "metrics.test_spearman" not in run  # NaN is never stored as a score


@pytest.mark.parametrize(
    "options, words",
    [
        ({"epochs": 0}, "option epochs=0 for model 'cnn': must be at least 1"),
        ({"filters": -3}, "option filters=-3 for model 'cnn': must be at least 1"),
        ({"layers": 1.5}, "option layers=1.5 for model 'cnn': expected an integer"),
        ({"alpha": -1}, "option alpha=-1 for model 'linear': must be at least 0"),
        ({"alpha": "big"}, "option alpha='big' for model 'linear': expected a number"),
        (
            {"precision": "bf61"},
            "option precision='bf61' for model 'cnn': choose one of auto, bf16, fp32. Did you mean 'bf16'",
        ),
        ({"init": "jax"}, "option init='jax' for model 'cnn': choose one of flax, torch"),
    ],
)
def test_options_that_make_no_model_are_refused_at_plan_time(registry, options, words):
    with pytest.raises(ContractError, match=words.replace("(", r"\(").replace(")", r"\)")):
        plan(registry, ["linear", "cnn"], ["stability"], options=options)


def test_an_int_where_a_float_is_declared_is_accepted_and_recorded_as_given(registry):
    [job] = plan(registry, ["linear"], ["stability"], options={"alpha": 100})
    assert job.options == (("alpha", 100.0),)


def test_the_plan_holds_each_job_once(registry):
    jobs = plan(registry, ["linear", "linear"], ["stability", "stability"], train_sizes=[20, 20], seeds=2)
    assert [j.name for j in jobs] == ["linear/stability/seed0/n20", "linear/stability/seed1/n20"]


def test_unknown_profile_is_a_usage_error_with_a_suggestion(registry):
    with pytest.raises(ContractError, match="unknown profile 'papr'. Did you mean 'paper'"):
        plan(registry, ["linear", "cnn"], ["stability"], profile="papr")


@pytest.mark.parametrize(
    "argv, words", [(["evl"], "Did you mean 'eval'?"), (["leaderbord", "--from", "x"], "Did you mean 'leaderboard'?")]
)
def test_a_mistyped_command_gets_a_suggestion(capsys, argv, words):
    """`zoo evl` printed argparse's list of choices and no suggestion, unlike a mistyped model or option."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert f"unknown command {argv[0]!r}. {words}" in error and "zoo --help" in error


class DefaultOnly:
    @hookimpl
    def register_models(self, register):
        register("plain", lambda **kw: None, pretrained=False)


def test_a_profile_some_models_do_not_know_names_them():
    registry = build([("linear", "0.1.0", linear_plugin), ("plain", "1", DefaultOnly())])
    with pytest.raises(ContractError, match="profile 'paper' is unknown to plain"):
        plan(registry, ["linear", "plain"], [], profile="paper")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["eval", "--model", "linear", "--seeds", "0"], "--seeds 0: at least one seed is needed"),
        (["eval", "--model", "linear", "--seeds", "-1"], "--seeds -1: at least one seed is needed"),
        (["eval", "--model", "linear", "--profile", "nosuch"], "unknown profile 'nosuch'"),
        (["eval", "--model", "cnn", "-o", "epochs=0"], "option epochs=0 for model 'cnn': must be at least 1"),
    ],
)
def test_cli_usage_errors_exit_2_before_any_compute(argv, words, capsys, mlflow_uri):
    assert main(argv) == 2
    assert words in capsys.readouterr().err


class Typo:
    @hookimpl
    def register_models(self, register):
        register("typo-model", lambda **kw: None, pretrained=False, determinstic=True, option={"k": 1})


def test_an_unknown_registration_field_is_refused_with_a_suggestion():
    registry = build([("typo", "1", Typo())])
    error = registry.plugins["typo"].error
    assert "unknown field 'determinstic'. Did you mean 'deterministic'?" in error
    assert "typo-model" not in registry.models


def _task(train, valid, test, targets=None):
    def split(seqs, ys=None):
        return Split(seqs, np.asarray(ys if ys is not None else np.arange(len(seqs)), float))

    return TaskData(split(train), split(valid), split(test, targets))


@pytest.mark.parametrize(
    "data, words",
    [
        (_task(["ACD", "ACE"], ["ACF", "ACG", "ACH"], ["ACK"]), "the test split has 1 rows"),
        (_task(["ACD", "ACE"], ["ACF", "ACG", "ACH"], ["ACK", "ACL", "ACM"], [1.0, 1.0, 1.0]), "1 distinct targets"),
        (
            _task(["ACD", "ACE"], ["ACF", "ACG", "ACH"], ["ACK", "ACL", "ACM"], [1.0, np.nan, 2.0]),
            "1 test targets are NaN or infinite. Fix the task's data",
        ),
        (_task(["ACD", "ACE"], ["ACF", "ACG", "ACH"], ["ACK", "acl", "ACM"]), "outside the 20 standard amino acids"),
    ],
)
def test_the_host_refuses_task_data_that_cannot_be_scored(data, words):
    with pytest.raises(ZooError, match=words):
        check_task_data(data, "task 'x' (plugin 'p')")


def test_test_sequences_longer_than_train_get_a_data_note():
    data = check_task_data(_task(["ACD", "ACE"], ["ACF", "ACG", "ACH"], ["ACKLM", "ACL", "ACM"]), "t")
    assert "1 test sequences are longer than the longest train sequence (3)" in "; ".join(data.notes)


def test_low_n_selection_uses_a_seeded_valid_subset_of_the_order_of_n():
    valid = Split([f"A{i}" for i in range(1000)], np.arange(1000.0))
    assert len(selection_split(valid, None, 0)) == 1000
    assert len(selection_split(valid, 24, 0)) == 8 and len(selection_split(valid, 384, 0)) == 96
    a, b = selection_split(valid, 384, 0), selection_split(valid, 384, 1)
    assert a.sequences == selection_split(valid, 384, 0).sequences and a.sequences != b.sequences
    train = Split([f"A{i}" for i in range(1000)], np.arange(1000.0))
    assert nested_subset(train, 24, 0).sequences != nested_subset(train, 24, 1).sequences  # seeds differ


def test_a_job_held_by_another_zoo_eval_is_skipped(registry, subset_dir, mlflow_uri):
    tracker = Tracker(experiment="claims")
    runner = Runner(registry, tracker, data_dir=str(subset_dir))
    [job] = plan(registry, ["linear"], ["stability"])
    key = job.key(runner.data_fingerprint("stability"))
    code = (
        "import sys, time; from zoo.tracking import Tracker; t = Tracker(experiment='claims')\n"
        f"with t.claim({key!r}) as mine:\n    print(mine, flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert holder.stdout.readline().strip() == "True"
        [outcome] = runner.run([job], {})
        assert outcome.status == "skipped" and "another zoo eval is running this job" in outcome.message
    finally:
        holder.kill()
        holder.wait()
    [outcome] = runner.run([job], {})
    assert outcome.status == "ok"
    assert runner.run([job], {})[0].status == "skipped"  # finished: one FINISHED run for the key
    assert sum(r["tags.job_key"] == key and r["status"] == "FINISHED" for r in tracker.job_runs()) == 1


def test_runs_left_running_by_a_dead_process_are_marked_killed(mlflow_uri):
    tracker = Tracker(experiment="orphans")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tags = {**Tracker.owner_tags(), "pid": dead.stdout.strip(), "kind": "job"}
    orphan = tracker.start_run("orphan", tags)
    alive = tracker.start_run("alive", {**Tracker.owner_tags(), "kind": "job"})
    assert tracker.end_orphans() == 1
    assert tracker.client.get_run(orphan).info.status == "KILLED"
    assert tracker.client.get_run(alive).info.status == "RUNNING"
    tracker.end_run(alive)


def test_a_killed_training_says_how_far_it_got_and_that_a_rerun_resumes(mlflow_uri):
    """A fine-tune killed at epoch 7 of 20 read only "the zoo eval running it was killed" on the page."""
    tracker = Tracker(experiment="progress")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    tags = {**Tracker.owner_tags(), "pid": dead.stdout.strip(), "kind": "job"}
    single, ensemble, untrained = (tracker.start_run(n, tags) for n in ("single", "ensemble", "untrained"))
    for step, value in enumerate([0.5, 0.7, 0.6], start=1):
        tracker.log_metrics(single, {"epoch_valid_spearman": value, "epoch_train_loss": 1.0}, step)
    tracker.log_metrics(ensemble, {"member0_epoch_train_loss": 1.0, "member0_epoch_valid_spearman": 0.4}, 1)
    tracker.log_metrics(ensemble, {"member1_epoch_train_loss": 1.0, "member1_epoch_valid_spearman": math.nan}, 1)
    assert tracker.end_orphans() == 3
    message = {r: tracker.client.get_run(r).data.tags["message"] for r in (single, ensemble, untrained)}
    assert message[single].startswith("stopped after epoch 3 (best valid Spearman 0.700, epoch 2)")
    # the checkpoint may be gone by the time the page is read (a machine given back): the fix must not promise it
    assert message[single].endswith(
        "Fix: rerun the same zoo eval: it resumes from its last checkpoint (that epoch's, or one saved inside a "
        "later epoch) where ZOO_CHECKPOINT_DIR (unset: ZOO_CACHE_DIR) still holds it, else it starts over"
    )
    assert message[ensemble].startswith(
        "stopped with member0 after epoch 1 (best valid Spearman 0.400, epoch 1); member1 after epoch 1. Fix:"
    )
    assert message[untrained] == "the zoo eval running it was killed"  # no epoch ended: nothing to resume


def test_each_job_logs_its_splits_as_mlflow_datasets(registry, subset_dir, mlflow_uri):
    tracker = Tracker(experiment="datasets")
    jobs = plan(registry, ["linear"], ["stability"], train_sizes=[40], seeds=1)
    [outcome] = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    run = tracker.client.get_run(outcome.run_id)
    found = {d.dataset.name: (d.tags[0].value, d.dataset.digest) for d in run.inputs.dataset_inputs}
    assert set(found) == {"stability-train", "stability-valid", "stability-test"}
    assert found["stability-train"][0] == "train" and len(found["stability-test"][1]) == 16
    assert run.data.params["train_sequences"] == "40" and run.data.params["selection_sequences"] == "10"


def test_job_key_changes_with_every_part_of_the_configuration():
    base = Job("linear", "stability", 0, "default", False, (("alpha", 1.0),), None, "linear", "0.1.0")
    variants = [
        Job("linear", "stability", 0, "default", False, (("alpha", 2.0),), None, "linear", "0.1.0"),
        Job("linear", "stability", 0, "default", True, (("alpha", 1.0),), None, "linear", "0.1.0"),
        Job("linear", "stability", 0, "paper", False, (("alpha", 1.0),), None, "linear", "0.1.0"),
        Job("linear", "stability", 0, "default", False, (("alpha", 1.0),), 24, "linear", "0.1.0"),
    ]
    keys = {base.key("d"), base.key("e"), *(v.key("d") for v in variants)}
    assert len(keys) == 6
    raised = Job("linear", "stability", 0, "default", False, (("alpha", 1.0),), None, "linear", "0.1.0", revision=1)
    assert raised.key("d") not in keys
    # revision 0 adds nothing: the keys of every store written before revisions existed still match
    assert base.key("d") == "35bd0e2bfe48d11ba570"


def test_a_recipe_revision_reaches_only_its_profile_and_task():
    """Issue 13.5: `cnn`'s default recipe was raised on stability alone: only those jobs get new keys."""
    registry = build([("cnn", "0.1.0", cnn_plugin), ("tape", "0.1.0", tape_plugin)])
    spec = registry.model("cnn").spec
    jobs = plan(registry, ["cnn"], ["stability", "fluorescence"], seeds=1, profile="default")
    assert [(j.task, j.revision) for j in jobs] == [("stability", 1), ("fluorescence", 0)]
    assert spec.revision("default", "stability") == 1
    assert spec.revision("paper", "stability") == spec.revision("default", "fluorescence") == 0
    with pytest.raises(ContractError, match=r"revisions=.*Fix: e.g. revisions="):
        build_spec("model", "m", {"pretrained": False, "revisions": {"stability": 1}})


# --- issue 10.3 and 10.5: what the user sees on the command line ---------------------------------


class Markup:
    """Text with rich markup in it: a description, an error message."""

    class Fails:
        params: dict = {}

        def fit(self, train, valid):
            raise ValueError("bad value [/] in [bold]column[/bold]")

        def predict(self, sequences):
            return np.zeros(len(sequences))

    class Interrupted(Fails):
        def fit(self, train, valid):
            raise KeyboardInterrupt

    @hookimpl
    def register_models(self, register):
        register(
            "markup-model",
            lambda **kw: Markup.Fails(),
            pretrained=False,
            deterministic=True,
            description="a [/] description with [red]markup[/red]",
        )
        register("ctrl-c-model", lambda **kw: Markup.Interrupted(), pretrained=False, deterministic=True)


def test_markup_in_plugin_text_is_shown_as_written(subset_dir, mlflow_uri, capsys):
    from zoo.testing import registered

    with registered(Markup(), "markup"):
        assert main(["plugins"]) == 0
        out = capsys.readouterr().out
        assert (
            "a [/] description with [red]markup[/red]" in out.replace("\n", " ").replace("│", " ")
            or "[red]markup[/red]" in out
        )
        assert main(["eval", "--model", "markup-model", "--task", "stability", "--data-dir", str(subset_dir)]) == 1
        out = capsys.readouterr().out
        assert "bad value [/] in [bold]column[/bold]" in out


def test_ctrl_c_gives_one_line_and_marks_the_runs_killed(subset_dir, mlflow_uri, capsys):
    from zoo.testing import registered

    with registered(Markup(), "markup"):
        code = main(["eval", "--model", "ctrl-c-model", "--task", "stability", "--data-dir", str(subset_dir)])
    err = capsys.readouterr().err
    assert code == 130 and "zoo: interrupted." in err and "Traceback" not in err
    runs = [r for r in Tracker().job_runs() if r["tags.model"] == "ctrl-c-model"]
    assert runs and all(r["status"] == "KILLED" for r in runs)
    # and the page says why, not "incomplete: the run did not finish"
    assert all(r.get("tags.outcome") == "killed" and "interrupted" in r.get("tags.message", "") for r in runs)


def test_a_read_only_store_is_one_line(tmp_path, subset_dir, capsys, monkeypatch):
    store = tmp_path / "ro.db"
    Tracker(f"sqlite:///{store}")  # an existing store...
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///file:{store}?mode=ro&uri=true")  # ...opened read-only
    assert main(["eval", "--model", "linear", "--task", "stability", "--data-dir", str(subset_dir)]) == 2
    err = capsys.readouterr().err
    assert "refused a write (OperationalError: the store is read-only" in err or "the store is read-only" in err
    assert "Traceback" not in err and sum(line.startswith("zoo: error") for line in err.splitlines()) == 1


@pytest.mark.parametrize("variable", ["ZOO_CACHE_DIR", "ZOO_CHECKPOINT_DIR"])
def test_a_cache_or_checkpoint_folder_that_cannot_be_one_is_one_line_before_any_compute(
    variable, tmp_path, subset_dir, mlflow_uri, capsys, monkeypatch
):
    """ZOO_CHECKPOINT_DIR under a file failed each job after its first epoch with a bare NotADirectoryError;
    ZOO_CACHE_DIR there ended in a traceback."""
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv(variable, str(tmp_path / "a file" / "folder"))
    assert main(["eval", "--model", "cnn", "--task", "stability", "--data-dir", str(subset_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{variable}={tmp_path / 'a file' / 'folder'}: cannot make that folder" in err and "Fix: point" in err
    assert "Traceback" not in err and sum(line.startswith("zoo: error") for line in err.splitlines()) == 1
    assert not [r for r in Tracker().job_runs() if r["tags.model"] == "cnn"]  # nothing started


@pytest.mark.parametrize("value", ["ten minutes", "-5"])
def test_a_checkpoint_interval_that_is_not_seconds_is_one_line_before_any_compute(
    value, tmp_path, subset_dir, mlflow_uri, capsys, monkeypatch
):
    """ZOO_CHECKPOINT_SECONDS is read inside a training's first epoch: a typo there must not cost the epoch."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("ZOO_CHECKPOINT_SECONDS", value)
    assert main(["eval", "--model", "cnn", "--task", "stability", "--data-dir", str(subset_dir)]) == 2
    err = capsys.readouterr().err
    assert f"ZOO_CHECKPOINT_SECONDS={value!r} is not a number of seconds" in err and "Fix: set it to 0 or more" in err
    assert "Traceback" not in err and sum(line.startswith("zoo: error") for line in err.splitlines()) == 1
    assert not [r for r in Tracker().job_runs() if r["tags.model"] == "cnn"]  # nothing started


def test_zoo_load_plugins_can_leave_one_out(monkeypatch):
    from zoo.plugins import discover

    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "-cnn,-esm")
    registry = discover()
    assert "cnn" not in registry.plugins and "esm" not in registry.plugins and "linear" in registry.models
    monkeypatch.setenv("ZOO_LOAD_PLUGINS", "linear,tape-tasks")
    assert set(discover().plugins) == {"linear", "tape-tasks"}


def test_task_scaffold_passes_its_own_test_kit(tmp_path):
    from zoo.scaffold import new_plugin
    from zoo.testing import check_task

    root = new_plugin("my-assay", tmp_path, task=True)
    sys.path.insert(0, str(root))
    try:
        from zoo_my_assay.plugin import load

        data = check_task(load)
    finally:
        sys.path.remove(str(root))
    assert len(data.train) == 80 and len(data.files) == 1
    assert "https://github.com/)" not in (root / "README.md").read_text()
    with pytest.raises(ZooError, match="plugin name 'x' \\* 70|is not allowed"):
        new_plugin("x" * 70, tmp_path)


def test_check_task_blames_a_task_without_file_digests():
    from zoo.testing import check_task, tiny_task

    with pytest.raises(AssertionError, match="TaskData.files is empty"):
        check_task(lambda data_dir=None: tiny_task())


def test_a_half_built_store_of_a_killed_process_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f".mlflow.db.{dead.stdout.strip()}.creating"
    leftover.write_bytes(b"half a store")
    Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert not leftover.exists() and (tmp_path / "mlflow.db").exists()


def test_importing_into_a_read_only_store_is_one_line(tmp_path, capsys, monkeypatch):
    """Before: three SQLAlchemy tracebacks, where zoo eval on the same store already said one line."""
    from pathlib import Path

    store = tmp_path / "ro.db"
    Tracker(f"sqlite:///{store}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///file:{store}?mode=ro&uri=true")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    bundle = Path(__file__).resolve().parents[1] / "leaderboard" / "runs"
    assert main(["import", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "the store is read-only" in err and "Traceback" not in err
    assert sum(line.startswith("zoo: error") for line in err.splitlines()) == 1


def test_two_zoo_evals_on_a_store_that_does_not_exist_yet_both_finish_and_run_every_job(tmp_path, subset_dir):
    """Before: started two seconds apart on a fresh store, the first exited 2 with a false 'store is
    read-only' (the second had renamed its own new store over the first's), its runs were lost, and one
    job never got a run."""
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "ZOO_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "zoo.cli", "eval", "--model", "linear", "--model", "global-epistasis"]
    command += ["--task", "stability", "--data-dir", str(subset_dir)]
    pipes = dict(env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first, second = subprocess.Popen(command, **pipes), subprocess.Popen(command, **pipes)
    outputs = [first.communicate(timeout=600)[0], second.communicate(timeout=600)[0]]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    runs = Tracker(env["MLFLOW_TRACKING_URI"]).job_runs()
    done = {r["tags.model"] for r in runs if r.get("tags.outcome") == "ok"}
    assert done == {"linear", "global-epistasis"}, outputs


def test_a_damaged_store_is_refused_when_opened(tmp_path, capsys, monkeypatch, subset_dir):
    """Before: 4 KB of random bytes inside mlflow.db went unnoticed: eval ok, the leaderboard written."""
    store = tmp_path / "mlflow.db"
    Tracker(f"sqlite:///{store}")
    data = bytearray(store.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = np.random.default_rng(0).bytes(4096)
    store.write_bytes(bytes(data))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    assert main(["eval", "--model", "linear", "--task", "stability", "--data-dir", str(subset_dir)]) == 2
    err = capsys.readouterr().err
    assert f"the MLflow store {store} is damaged (SQLite quick_check" in err and "Fix: restore it" in err
    assert "Traceback" not in err


def test_plugin_new_into_a_file_is_one_line(tmp_path, capsys):
    """Before: NotADirectoryError."""
    (tmp_path / "afile").write_text("mine")
    assert main(["plugin", "new", "x", "--dir", str(tmp_path / "afile")]) == 2
    err = capsys.readouterr().err
    assert "that is a file. Fix: give a folder" in err and "Traceback" not in err


@pytest.mark.parametrize("signum", [15, 2])
def test_stopping_zoo_ui_stops_its_server(tmp_path, signum):
    """Before: SIGTERM to `zoo ui` left the MLflow server running on the port."""
    import signal
    import socket
    import time
    import urllib.request

    store = tmp_path / "mlflow.db"
    Tracker(f"sqlite:///{store}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{store}")
    ui = subprocess.Popen([sys.executable, "-m", "zoo.cli", "ui", "--port", str(port)], env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/health"

    def answers() -> bool:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except OSError:
            return False

    deadline = time.time() + 90
    while not answers() and time.time() < deadline:
        time.sleep(0.5)
    assert answers(), "the server did not start"
    ui.send_signal(signal.Signals(signum))  # to zoo ui alone, as a service manager or `kill` does
    assert ui.wait(timeout=60) == 0
    deadline = time.time() + 30
    while answers() and time.time() < deadline:
        time.sleep(0.5)
    assert not answers(), "the MLflow server outlived zoo ui"
