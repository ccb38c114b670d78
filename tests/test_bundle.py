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
    return re.sub(r"- Generated: .*", "- Generated: (time)", path.read_text())


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
    assert _page(tmp_path / "again" / "README.md") == _page(tmp_path / "board" / "README.md")
    assert (tmp_path / "again" / "stability.png").stat().st_size > 5000
    assert "(alpha=1e+25)" in _page(tmp_path / "again" / "README.md") or "alpha=1e+25" in _page(
        tmp_path / "again" / "README.md"
    )

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
    assert _page(tmp_path / "third" / "README.md") == _page(tmp_path / "board" / "README.md")
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
    """Every publication updates the bundle with the page: leaderboard/README.md must be what
    `zoo leaderboard --from leaderboard/runs` makes, apart from the generation time."""
    published = ROOT / "leaderboard" / "README.md"
    if not (ROOT / "leaderboard" / "runs" / "runs.jsonl").exists():
        pytest.skip("no results bundle published yet")
    out = tmp_path / "README.md"
    (tmp_path / "published.csv").write_text((ROOT / "leaderboard" / "published.csv").read_text())
    assert main(["leaderboard", "--from", str(ROOT / "leaderboard" / "runs"), "--output", str(out)]) == 0
    assert _page(out) == _page(published)
    assert "/work/" not in published.read_text() and str(ROOT) not in published.read_text()


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
