"""Issue 11: the published runs travel with the repository (export, import, a page from the bundle alone)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zoo.bundle import Bundle
from zoo.cli import main
from zoo.tracking import Tracker

ROOT = Path(__file__).resolve().parents[1]


def _page(path: Path) -> str:
    return re.sub(r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", "(time)", path.read_text())


def _pages(folder: Path) -> dict[str, str]:
    """Every page of a leaderboard in ``folder`` (front, details, tasks), time stamps aside."""
    return {p.relative_to(folder).as_posix(): _page(p) for p in sorted(folder.rglob("*.md"))}


@pytest.fixture(scope="module")
def source_store(tmp_path_factory, subset_dir):
    """A real store: linear and a tiny CNN on stability (full split and a curve point), and one failure."""
    root = tmp_path_factory.mktemp("source")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.setenv("ZOO_CACHE_DIR", str(root / "cache"))  # the CNNs train here, not reuse another test's training
    mp.chdir(root)
    assert (
        main(
            [
                "eval",
                "--model",
                "linear",
                "--model",
                "cnn",
                "--task",
                "stability",
                "--seeds",
                "2",
                "--train-sizes",
                "100,full",
                "-o",
                "filters=8",
                "-o",
                "epochs=1",
                "--data-dir",
                str(subset_dir),
            ]
        )
        == 0
    )
    assert (
        main(["eval", "--model", "linear", "--task", "stability", "-o", "alpha=1e25", "--data-dir", str(subset_dir)])
        == 1
    )  # constant predictions: a failed run the page names
    mp.undo()
    return root, uri


def test_export_import_and_a_page_from_the_bundle_alone(source_store, tmp_path, monkeypatch, capsys):
    root, uri = source_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "board").mkdir()
    (tmp_path / "board" / "published.csv").write_text((ROOT / "leaderboard" / "published.csv").read_text())
    assert main(["leaderboard", "--output", "board/README.md"]) == 0
    assert main(["export", "bundle"]) == 0
    assert "MB, from" in capsys.readouterr().out
    bundle = Bundle(tmp_path / "bundle")
    records = bundle.records
    assert len(records) == 8  # linear (full + 2 curve seeds), cnn (2 full + 2 curve seeds), the failed alpha run
    assert sum("testset" in r for r in records) == 7 and len(list((tmp_path / "bundle" / "testsets").iterdir())) == 1
    assert all(r["tags"]["job_key"] and r["datasets"] for r in records)
    assert {d["context"] for d in records[0]["datasets"]} == {"train", "valid", "test"}
    lines = (tmp_path / "bundle" / "runs.jsonl").read_text().splitlines()
    assert lines == sorted(lines, key=lambda line: json.loads(line)["run_id"])  # diff-friendly order

    # the page from the bundle alone, no store: the same as from the store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # any store access would fail
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "published.csv").write_text((tmp_path / "board" / "published.csv").read_text())
    assert main(["leaderboard", "--from", "bundle", "--output", "again/README.md"]) == 0
    assert _pages(tmp_path / "again") == _pages(tmp_path / "board")
    assert (tmp_path / "again" / "tasks" / "stability.png").stat().st_size > 5000
    assert "linear (alpha=1e+25)" in _page(tmp_path / "again" / "tasks" / "stability.md")

    # import into a fresh store, twice: no duplicates; job keys kept, so zoo eval skips the jobs
    fresh = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", fresh)
    assert main(["import", "bundle"]) == 0
    assert "imported 8 runs" in capsys.readouterr().out
    assert main(["import", "bundle"]) == 0
    assert "imported 0 runs into" in capsys.readouterr().out
    imported = Tracker(fresh).job_runs()
    assert len(imported) == 8 and all(r["datasets"] for r in imported)
    assert sorted(r["tags.job_key"] for r in imported) == sorted(r["tags"]["job_key"] for r in records)
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "published.csv").write_text((tmp_path / "board" / "published.csv").read_text())
    assert main(["leaderboard", "--output", "third/README.md"]) == 0
    assert _pages(tmp_path / "third") == _pages(tmp_path / "board")
    assert (tmp_path / "fresh" / "mlartifacts").is_dir()  # a sqlite store keeps its artifacts beside it

    # the training curves come too: an imported run drew no curve, its per-epoch metrics all at step 0
    def curves(uri: str) -> dict:
        tracker = Tracker(uri)
        return {
            (r["run_name"], r["tags.job_key"], key): [
                (m.step, m.value) for m in tracker.client.get_metric_history(r["run_id"], key)
            ]
            for r in tracker.job_runs()
            for key in ("epoch_train_loss", "epoch_valid_spearman")
            if f"metrics.{key}" in r
        }

    source_curves = curves(uri)
    assert len(source_curves) == 8 and all(points == [(1, points[0][1])] for points in source_curves.values())
    assert curves(fresh) == source_curves

    # browse them: `zoo ui` serves the imported store, and the runs come back over MLflow's REST API
    from conftest import zoo_ui

    with zoo_ui(fresh) as (_, search, _output):
        served = search(Tracker(fresh).experiment_id, "tags.kind = 'job'")
    assert sorted(r["info"]["run_name"] for r in served) == sorted(r["run_name"] for r in records)
    keys = {next(t["value"] for t in r["data"]["tags"] if t["key"] == "job_key") for r in served}
    assert keys == {r["tags"]["job_key"] for r in records}
    one = next(r for r in served if r["info"]["status"] == "FINISHED")
    assert {d["dataset"]["name"].rsplit("-", 1)[1] for d in one["inputs"]["dataset_inputs"]} == {
        "train",
        "valid",
        "test",
    }


def test_importing_into_the_source_store_changes_nothing(source_store, tmp_path, monkeypatch, capsys):
    root, uri = source_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "bundle"]) == 0
    before = len(Tracker(uri).job_runs())
    assert main(["import", "bundle"]) == 0
    assert "imported 0 runs" in capsys.readouterr().out and len(Tracker(uri).job_runs()) == before


def test_a_folder_that_is_not_a_bundle_is_named(tmp_path, capsys):
    assert main(["leaderboard", "--from", str(tmp_path), "--output", "-"]) == 2
    assert "is not a results bundle: runs.jsonl is missing" in capsys.readouterr().err


def test_the_published_page_is_the_bundles_page(tmp_path):
    """Every publication updates the bundle with the pages: every page `zoo leaderboard --from
    leaderboard/runs` makes must be the published one, apart from the generation time; the front page
    stays under 25 KB."""
    board = ROOT / "leaderboard"
    if not (board / "runs" / "runs.jsonl").exists():
        pytest.skip("no results bundle published yet")
    out = tmp_path / "README.md"
    (tmp_path / "published.csv").write_text((board / "published.csv").read_text())
    assert main(["leaderboard", "--from", str(board / "runs"), "--output", str(out)]) == 0
    made = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md"))
    published = sorted(p.relative_to(board).as_posix() for p in board.rglob("*.md") if "runs" not in p.parts)
    assert made == published
    for name in made:
        assert _page(tmp_path / name) == _page(board / name), name
        assert "/work/" not in (board / name).read_text() and str(ROOT) not in (board / name).read_text()
    assert (board / "README.md").stat().st_size <= 25_000


def test_from_refuses_a_run_whose_recorded_score_its_predictions_do_not_give(
    source_store, tmp_path, monkeypatch, capsys
):
    """A hand-edited test_spearman of 0.999 became the headline; with the manifest re-sealed over the edit,
    the recomputation from the stored predictions still refuses it."""
    from zoo.bundle import write_manifest

    folder = _small_bundle(source_store, tmp_path, monkeypatch)
    lines = (folder / "runs.jsonl").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "testset" in line)
    record = json.loads(lines[index])
    record["metrics"]["test_spearman"] = 0.999
    lines[index] = json.dumps(record, sort_keys=True)
    (folder / "runs.jsonl").write_text("\n".join(lines) + "\n")
    write_manifest(folder)
    capsys.readouterr()
    assert main(["leaderboard", "--from", str(folder), "--output", str(tmp_path / "page" / "README.md")]) == 2
    err = capsys.readouterr().err
    assert f"run {record['run_id']} records test_spearman 0.9990, but its stored predictions give" in err


def test_a_run_imported_without_its_curve_exports_none_rather_than_one_at_step_0(tmp_path):
    """Runs imported before bundles kept curves hold their epoch metrics at step 0 alone; exporting that
    as a curve would show a training of one point at epoch 0."""
    from zoo.bundle import export

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    old = {"run_id": "a" * 32, "run_name": "cnn/stability/seed0", "status": "KILLED", "start_time": 1}
    old |= {"tags": {"kind": "job"}, "params": {}, "metrics": {"epoch_train_loss": 0.5}}
    tracker.import_run(old, None, {})
    trained = tracker.start_run("cnn/stability/seed1", {"kind": "job"})
    for epoch, loss in ((1, 0.9), (2, 0.7)):
        tracker.log_metrics(trained, {"epoch_train_loss": loss}, epoch)
    tracker.end_run(trained, "KILLED")
    export(tracker.job_runs(), None, tmp_path / "bundle", histories=tracker.metric_histories)
    histories = {r["run_name"]: r.get("histories") for r in Bundle(tmp_path / "bundle").records}
    assert histories == {"cnn/stability/seed0": None, "cnn/stability/seed1": {"epoch_train_loss": [[1, 0.9], [2, 0.7]]}}


def test_an_imported_runs_predictions_file_is_byte_for_byte_what_pandas_writes():
    """zoo import formats test_predictions.csv itself (fast); the file must be the one zoo eval logs."""
    bundle = Bundle(ROOT / "leaderboard" / "runs")
    first_of_each = {}
    for record in bundle.records:
        if "testset" in record:
            first_of_each.setdefault(record["testset"], record["run_id"])
    assert len(first_of_each) >= 7
    for run_id in first_of_each.values():
        assert bundle.predictions_csv(run_id) == bundle.predictions(run_id).to_csv(index=False)


def test_an_import_shared_among_worker_processes_makes_the_same_store_as_one_process(
    source_store, tmp_path, monkeypatch
):
    from zoo import bundle_import as bundle_module
    from zoo.bundle import IMPORTED_FROM
    from zoo.bundle_import import import_into

    _, uri = source_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "bundle"]) == 0
    bundle = Bundle(tmp_path / "bundle")
    monkeypatch.setattr(bundle_module, "CHUNK", 2)  # 8 runs: four chunks, so two workers share them

    def store(name: str, workers: int) -> dict:
        tracker = Tracker(f"sqlite:///{tmp_path / name / 'mlflow.db'}")
        assert import_into(bundle, tracker, workers=workers) == {"created": 8, "skipped": 0}
        runs = {}
        for run in tracker.job_runs():
            run_id = run.pop("run_id")
            if run.get("tags.testset") or "metrics.test_spearman" in run:
                run["predictions"] = tracker.predictions(run_id).to_csv(index=False)
            runs[run[f"tags.{IMPORTED_FROM}"]] = run
        return runs

    assert store("serial", 1) == store("shared", 2)


def _small_bundle(source_store, tmp_path, monkeypatch) -> Path:
    _, uri = source_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "bundle"]) == 0
    return tmp_path / "bundle"


def _first_with_predictions(folder: Path) -> str:
    return next(
        json.loads(line)["run_id"] for line in (folder / "runs.jsonl").read_text().splitlines() if "testset" in line
    )


def _edit_metric(folder: Path) -> None:
    lines = (folder / "runs.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["metrics"]["test_spearman"] = 0.999
    (folder / "runs.jsonl").write_text("\n".join([json.dumps(record, sort_keys=True), *lines[1:]]) + "\n")


def _drop_first_line(folder: Path) -> None:
    (folder / "runs.jsonl").write_text("\n".join((folder / "runs.jsonl").read_text().splitlines()[1:]) + "\n")


def _drop_a_prediction_file(folder: Path) -> None:
    (folder / "predictions" / f"{_first_with_predictions(folder)}.npz").unlink()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_edit_metric, r"1 file\(s\) differ from the manifest, e.g. runs.jsonl"),
        (
            lambda f: (f / "runs.jsonl").write_text("\n".join((f / "runs.jsonl").read_text().splitlines()[1:]) + "\n"),
            "runs.jsonl holds 7 runs, its manifest says 8",
        ),
        (
            lambda f: (f / "predictions" / f"{_first_with_predictions(f)}.npz").unlink(),
            "listed file\\(s\\) are missing",
        ),
    ],
)
def test_a_damaged_bundle_is_refused_by_import_and_from_in_one_line(
    source_store, tmp_path, monkeypatch, capsys, damage, words
):
    """Before: a hand-edited test_spearman became the headline, a deleted line imported fewer runs
    without a word, and a missing prediction file was a traceback."""
    folder = _small_bundle(source_store, tmp_path, monkeypatch)
    damage(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}")
    capsys.readouterr()
    assert main(["import", str(folder)]) == 2
    assert main(["leaderboard", "--from", str(folder), "--output", str(tmp_path / "page.md")]) == 2
    err = capsys.readouterr().err
    assert len(re.findall(words, err)) == 2 and "Traceback" not in err and "Fix: restore the bundle" in err
    assert not (tmp_path / "page.md").exists()


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("garbage", r"cannot be read \(.*Fix: restore the bundle"),
        ("short", r"holds 3 predictions for a test set of \d+"),
        ("not a run", r"runs.jsonl, line 1: not a run \(a JSON object with a run_id\)"),
    ],
)
def test_a_bundle_of_an_older_zoo_is_read_with_a_notice_and_its_damage_is_one_line(
    source_store, tmp_path, monkeypatch, capsys, damage, words
):
    import numpy as np

    folder = _small_bundle(source_store, tmp_path, monkeypatch)
    (folder / "MANIFEST.json").unlink()  # as an older zoo wrote it
    run_id = _first_with_predictions(folder)
    if damage == "garbage":
        (folder / "predictions" / f"{run_id}.npz").write_bytes(b"PK\x03\x04 not really a zip")
    elif damage == "short":
        np.savez(folder / "predictions" / f"{run_id}.npz", prediction=np.zeros(3, np.float32))
    else:
        lines = (folder / "runs.jsonl").read_text().splitlines()
        (folder / "runs.jsonl").write_text("\n".join(['["a list"]', *lines[1:]]) + "\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}")
    capsys.readouterr()
    assert main(["import", str(folder)]) == 2
    err = capsys.readouterr().err
    assert re.search(words, err) and "Traceback" not in err, err
    if damage != "not a run":
        assert "has no MANIFEST.json (made by an older zoo)" in err


def test_an_older_bundle_without_a_manifest_still_imports(source_store, tmp_path, monkeypatch, capsys):
    folder = _small_bundle(source_store, tmp_path, monkeypatch)
    (folder / "MANIFEST.json").unlink()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}")
    capsys.readouterr()
    assert main(["import", str(folder)]) == 0
    out = capsys.readouterr()
    assert "imported 8 runs" in out.out and "notice" in out.err


@pytest.mark.parametrize("target", ["afile", "folder_with_readme"])
def test_export_writes_only_into_a_new_or_empty_folder_or_a_bundle(source_store, tmp_path, monkeypatch, capsys, target):
    """Before: `zoo export dir/` overwrote the user's dir/README.md; `zoo export afile` was a NotADirectoryError."""
    _, uri = source_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    if target == "afile":
        (tmp_path / "afile").write_text("mine")
    else:
        (tmp_path / target).mkdir()
        (tmp_path / target / "README.md").write_text("my notes")
    assert main(["export", target]) == 2
    err = capsys.readouterr().err
    assert "Fix: give a" in err and "Traceback" not in err
    assert (
        (tmp_path / "afile").read_text() == "mine"
        if target == "afile"
        else ((tmp_path / target / "README.md").read_text() == "my notes")
    )
    assert main(["export", "bundle"]) == 0 and main(["export", "bundle"]) == 0  # over its own bundle: fine
