"""The results: ``zoo leaderboard``, ``zoo compare``, ``zoo export`` and ``zoo import``."""

from __future__ import annotations

import argparse
from pathlib import Path

from zoo import ZooError
from zoo.commands import command

BUNDLE = "leaderboard/runs"


def add(sub, common) -> None:
    p = command(
        sub,
        "leaderboard",
        leaderboard,
        help="write the markdown leaderboard from MLflow (or a results bundle)",
        description="Read the job runs from the MLflow store (or, with --from, from a results bundle "
        "and no store at all) and write the markdown leaderboard with its figures beside it.",
    )
    p.add_argument(
        "--output",
        default="leaderboard/README.md",
        help="file to write, relative to the current folder, "
        "or - for stdout (default leaderboard/README.md); figures go into the same folder",
    )
    p.add_argument(
        "--reference",
        default=None,
        help="CSV of published numbers to show as reference rows "
        "(default: published.csv beside the output, e.g. leaderboard/published.csv)",
    )
    p.add_argument(
        "--from",
        dest="bundle",
        default=None,
        metavar="BUNDLE",
        help=f"read the runs from a results bundle (e.g. {BUNDLE}) instead of MLflow; nothing is logged",
    )

    p = command(
        sub,
        "compare",
        compare,
        help="paired bootstrap of two configurations' test Spearman on a task",
        description="Compare two configurations (model names, or labels as the leaderboard shows "
        "them) on one task: the difference of mean-over-seeds test Spearman with a 95% "
        "interval from a two-level bootstrap over test items and seeds.",
    )
    p.add_argument("a", help="first model or configuration label")
    p.add_argument("b", help="second model or configuration label")
    p.add_argument("--task", required=True, help="the task both ran on")

    p = command(
        sub,
        "export",
        export,
        help="write the leaderboard's runs to a results bundle in the repository",
        description="Write the runs the leaderboard uses (or, with --all, every finished job run) "
        "with their tags, params, metrics, datasets and test predictions to a folder "
        "of JSON lines and compressed arrays (format: zoo/bundle.py).",
    )
    p.add_argument("output", nargs="?", default=BUNDLE, help=f"the bundle folder (default {BUNDLE})")
    p.add_argument("--all", action="store_true", help="every finished job run, not only those the leaderboard uses")

    p = command(
        sub,
        "import",
        import_bundle,
        help="load a results bundle into the MLflow store",
        description="Create the bundle's runs in MLFLOW_TRACKING_URI (default sqlite:///mlflow.db), "
        "with their job keys, so `zoo eval` skips them and `zoo ui` shows them. "
        "Importing twice creates no duplicates.",
    )
    p.add_argument("bundle", nargs="?", default=BUNDLE, help=f"the bundle folder (default {BUNDLE})")


def _store_source():
    from zoo.tracking import Tracker

    tracker = Tracker()
    return tracker, tracker.job_runs(), _cached(tracker.predictions)


def _cached(predictions):
    from functools import lru_cache

    return lru_cache(maxsize=None)(predictions)  # verdicts, intervals and curves read the same runs


def leaderboard(args: argparse.Namespace) -> int:
    from zoo import analysis, publish
    from zoo.bundle import Bundle

    if args.bundle:
        bundle = Bundle(args.bundle)
        tracker, runs, predictions = None, bundle.runs(), _cached(bundle.predictions)
    else:
        tracker, runs, predictions = _store_source()
    if args.bundle:
        check_recorded(bundle, runs, args.bundle)
    board = analysis.analyse(runs, predictions, facts())
    output = args.output if args.output == "-" else Path(args.output)
    reference = publish.reference_for(Path(args.output), args.reference)
    written = publish.publish(board, output, reference, tracker=tracker)
    if written:
        source = f"the bundle {args.bundle}" if args.bundle else "MLflow (and logged there as a leaderboard run)"
        print(
            f"wrote {written[0]} and {len(written) - 1} pages and figures beside it, from {board.runs_read} runs "
            f"in {source}"
        )
    return 0


def facts():
    """What the installed plugins declare about models and tasks, for the verdicts' evidence rules."""
    from zoo.analysis import Facts
    from zoo.plugins import discover

    registry = discover()
    return Facts(
        deterministic={name for name, e in registry.models.items() if e.spec.deterministic},
        fits_on_selection={name for name, e in registry.models.items() if e.spec.fits_on_selection},
        caveats={name: e.spec.caveat for name, e in registry.tasks.items() if getattr(e.spec, "caveat", "")},
    )


# float32 predictions tie a few values that float64 kept apart: on the published bundle the recorded and the
# recomputed test Spearman differ by at most 0.008; a larger gap is an edit, not rounding
RECORDED_TOLERANCE = 0.01


def check_recorded(bundle, runs: list[dict], folder: str) -> None:
    """``--from``: every run with stored predictions must give its recorded test Spearman from them (the
    page's headline numbers are recomputed so); one that does not is refused, never shown."""
    from zoo import names
    from zoo.analysis import succeeded
    from zoo.metrics import spearman

    for run in runs:
        if not succeeded(run) or "testset" not in run:
            continue
        frame = bundle.predictions(run["run_id"])
        value = spearman(frame["target"].to_numpy(), frame["prediction"].to_numpy())
        recorded = float(run[f"metrics.{names.TEST_SPEARMAN}"])
        if abs(recorded - value) > RECORDED_TOLERANCE:
            raise ZooError(
                f"{folder}: run {run['run_id']} records test_spearman {recorded:.4f}, but its stored "
                f"predictions give {value:.4f}. Fix: restore the bundle from git, or export it again."
            )


def _row(table, name: str, task: str, where: str):
    rows = [r for r in table if r.ok and (r.label == name or r.model == name)]
    if not rows:
        raise ZooError(
            f"no finished run of {name!r} on {task!r} in {where}. Fix: zoo eval --model {name} --task {task}"
        )
    exact = [r for r in rows if r.label == name]
    if len(rows) > 1 and not exact:
        raise ZooError(
            f"{name!r} has several configurations on {task!r}: {', '.join(r.label for r in rows)}. "
            f"Fix: name one of them as the leaderboard labels it."
        )
    return (exact or rows)[0]


def compare(args: argparse.Namespace) -> int:
    from zoo import analysis

    tracker, runs, predictions = _store_source()
    table = analysis.analyse(runs).tables.get(args.task, [])
    a, b = (_row(table, name, args.task, tracker.uri) for name in (args.a, args.b))
    result = analysis.compare(predictions, a, b)
    print(
        f"{args.task}: Spearman({a.label}) - Spearman({b.label}) = {result['difference']:+.4f}, 95% CI "
        f"{result['low']:+.4f} to {result['high']:+.4f} (mean over {len(a.runs)} and {len(b.runs)} seed(s); "
        f"two-level bootstrap, 1000 resamples of test items and seeds)"
    )
    return 0


def export(args: argparse.Namespace) -> int:
    from zoo import analysis
    from zoo.bundle import Bundle
    from zoo.bundle import export as write_bundle

    tracker, runs, predictions = _store_source()
    chosen = [r for r in runs if analysis.succeeded(r)] if args.all else analysis.used_runs(runs)
    counts = write_bundle(chosen, predictions, args.output, histories=tracker.metric_histories)
    size = Bundle(args.output).size_bytes()
    print(
        f"wrote {args.output}: {counts['runs']} runs, {counts['predictions']} prediction files, "
        f"{counts['testsets']} test sets, {size / 1e6:.1f} MB, from {tracker.uri}"
    )
    return 0


def import_bundle(args: argparse.Namespace) -> int:
    from zoo.bundle import Bundle
    from zoo.bundle_import import import_into
    from zoo.tracking import Tracker

    bundle = Bundle(args.bundle)
    tracker = Tracker()
    counts = import_into(bundle, tracker)
    print(
        f"imported {counts['created']} runs into {tracker.uri} ({counts['skipped']} already there). Browse them: zoo ui"
    )
    return 0
