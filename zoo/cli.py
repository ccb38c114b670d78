"""The ``zoo`` command. Heavy modules (torch, mlflow, pandas) are imported inside commands only."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from zoo import ZooError, __version__

EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_UNSYNCED = 3  # every job ran, but some results wait in the spool for `zoo sync`


def _console():
    from rich.console import Console

    # logs and pipes get wide lines rather than error messages folded into 80 columns
    return Console() if sys.stdout.isatty() else Console(width=200)


def _parse_sizes(text: str) -> list[int | None]:
    sizes = []
    for part in text.split(","):
        part = part.strip()
        if part == "full":
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"expected positive integers or 'full', e.g. 24,96,384,full; got {part!r}")
    return sizes


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def cmd_eval(args: argparse.Namespace) -> int:
    from zoo.plugins import discover

    registry = discover()
    console = _console()
    for info in registry.broken:
        console.print(f"[yellow]warning:[/] {info.error}", markup=True, highlight=False)
    if not (args.all or args.model or args.task):
        raise ZooError("say what to run: --all, or --model and/or --task. See `zoo eval --help`.")
    models = args.model or sorted(registry.models)
    tasks = args.task or sorted(registry.tasks)
    from zoo.runner import Runner, plan

    jobs = plan(registry, models, tasks, seeds=args.seeds, profile=args.profile, clip=args.clip,
                options=dict(args.option), train_sizes=args.train_sizes)
    from zoo.progress import Reporter
    from zoo.tracking import Tracker

    tracker = Tracker()  # fails here, before any compute, if the store is unreachable
    _sync(console, tracker)  # results kept while the server was down count as finished before planning
    console.print(f"{len(jobs)} jobs ({len(models)} models x {len(tasks)} tasks); tracking to {tracker.uri}",
                  highlight=False)
    invocation = {"models": ",".join(models), "tasks": ",".join(tasks), "seeds": args.seeds,
                  "train_sizes": ",".join("full" if n is None else str(n) for n in args.train_sizes or [None]),
                  "profile": args.profile, "clip": args.clip, "force": args.force,
                  "data_dir": args.data_dir or "(download)"}
    executor = None
    if args.address and args.executor != "ray":
        raise ZooError("--address is for --executor ray. Fix: add --executor ray, or drop --address.")
    if args.executor == "ray":
        from zoo.ray_executor import RayExecutor

        executor = RayExecutor(args.address)
        executor.check(tracker)
        invocation.update(executor="ray", ray_address=args.address or "(local)")
    with Reporter() as reporter:
        runner = Runner(registry, tracker, data_dir=args.data_dir, force=args.force, progress=reporter)
        outcomes = runner.run(jobs, invocation, executor)
    _print_summary(console, outcomes)
    if any(o.status == "failed" for o in outcomes):
        return EXIT_JOB_FAILED
    from zoo import spool

    if spool.pending(tracker.uri) or tracker.journal:
        console.print(f"[yellow]The tracking server {tracker.uri} dropped during the run.[/] Every finished result "
                      f"is kept in {spool.spool_dir(tracker.uri)}. Fix: restart the server, then run `zoo sync` "
                      f"(the next `zoo eval` also syncs first).", highlight=False)
        return EXIT_UNSYNCED
    return 0


def _sync(console, tracker) -> int:
    from zoo import spool

    if not spool.pending(tracker.uri):
        return 0
    applied = tracker.sync()
    console.print(f"synced {applied} tracking writes kept while {tracker.uri} was unreachable", highlight=False)
    return applied


def cmd_sync(args: argparse.Namespace) -> int:
    from zoo import spool
    from zoo.tracking import Tracker

    tracker = Tracker()  # a clear error if the server is still down
    if not _sync(_console(), tracker):
        print(f"nothing to sync for {tracker.uri} (spool: {spool.spool_dir(tracker.uri)})")
    return 0


def _print_summary(console, outcomes) -> None:
    from rich.table import Table

    table = Table(title="zoo eval summary")
    table.add_column("job", no_wrap=True)
    for col in ("status", "test spearman", "valid spearman", "fit s", "note"):
        table.add_column(col)
    colours = {"ok": "green", "failed": "red", "unavailable": "yellow", "skipped": "dim"}
    for o in outcomes:
        m = o.metrics
        table.add_row(o.job.name, f"[{colours[o.status]}]{o.status}[/]",
                      f"{m['test_spearman']:.3f}" if m else "", f"{m['valid_spearman']:.3f}" if m else "",
                      f"{m['fit_seconds']:.1f}" if m else "", o.message[:200])
    console.print(table)
    counts = {s: sum(o.status == s for o in outcomes) for s in colours}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n), highlight=False)


def cmd_plugins(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.plugins import discover

    registry = discover()
    console = _console()
    table = Table(title="plugins")
    for col in ("plugin", "version", "models", "tasks", "status"):
        table.add_column(col)
    for info in sorted(registry.plugins.values(), key=lambda p: p.name):
        status = "[green]ok[/]" if info.error is None else "[red]broken[/] (below)"
        table.add_row(info.name, info.version, ", ".join(info.models), ", ".join(info.tasks), status)
    console.print(table)
    for info in registry.broken:  # full messages, not folded into a table cell
        console.print(f"[red]broken plugin[/] {info.name}: {info.error}", highlight=False, soft_wrap=True)
    models = Table(title="models")
    for col in ("model", "pretrained", "plugin", "availability", "description"):
        models.add_column(col)
    for entry in sorted(registry.models.values(), key=lambda e: e.name):
        models.add_row(entry.name, "yes" if entry.pretrained else "no", entry.plugin, entry.availability(),
                       entry.description)
    console.print(models)
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.plugins import discover

    table = Table(title="tasks")
    for col in ("task", "plugin", "source", "description"):
        table.add_column(col)
    for entry in sorted(discover().tasks.values(), key=lambda e: e.name):
        table.add_row(entry.name, entry.plugin, entry.spec.source, entry.description)
    _console().print(table)
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from zoo import leaderboard
    from zoo.tracking import Tracker

    tracker = Tracker()
    runs = tracker.job_runs()
    ref_path = args.reference or leaderboard.default_reference_path(args.data_dir)
    from functools import lru_cache  # the CI fallback and the paired verdict read the same runs
    from pathlib import Path

    figure_dir = None if args.output == "-" else Path(args.output).parent
    if figure_dir is not None:
        figure_dir.mkdir(parents=True, exist_ok=True)
    text = leaderboard.render(runs, leaderboard.read_reference(ref_path), reference_path=ref_path and str(ref_path),
                              predictions=lru_cache(maxsize=None)(tracker.predictions), figure_dir=figure_dir)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        leaderboard.write_atomic(args.output, text)
        # the published page and its figures are MLflow artifacts too, in a run of their own
        run_id = tracker.start_run(f"zoo leaderboard {time.strftime('%Y-%m-%d %H:%M:%S')}",
                                   {"kind": "leaderboard", "runs_read": str(len(runs))})
        for path in [Path(args.output), *sorted(figure_dir.glob("*.png"))]:
            tracker.log_file(run_id, path)
        tracker.end_run(run_id)
        print(f"wrote {args.output} and one figure per task beside it, from {len(runs)} runs; "
              f"logged them to MLflow as run {run_id}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from zoo import leaderboard
    from zoo.tracking import Tracker

    tracker = Tracker()
    rows = {r["model"]: r for r in leaderboard.summarise(tracker.job_runs()).get(args.task, []) if r["status"] == "ok"}
    for model in (args.a, args.b):
        if model not in rows:
            raise ZooError(f"no finished run of {model!r} on {args.task!r} in {tracker.uri}. Fix: "
                           f"zoo eval --model {model} --task {args.task}")
    result = leaderboard.compare(tracker.predictions, rows[args.a]["run_id"], rows[args.b]["run_id"])
    print(f"{args.task}: Spearman({args.a}) - Spearman({args.b}) = {result['difference']:+.4f}, 95% CI "
          f"{result['low']:+.4f} to {result['high']:+.4f} (paired bootstrap, 1000 test resamples, seed-0 runs)")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    import subprocess

    from zoo.tracking import Tracker

    tracker = Tracker()
    # MLflow 3 opens an experiment on its GenAI overview; the runs table is this page
    print(f"MLflow UI for {tracker.uri}\nruns table: http://{args.host}:{args.port}/#/experiments/"
          f"{tracker.experiment_id}/runs\nCtrl-C to stop.", flush=True)
    uri = tracker.uri
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host,
           "--port", str(args.port)]
    # the zoo has no use for MLflow's GenAI job runners: half a dozen extra processes
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo.scaffold import new_plugin

    root = new_plugin(args.name, Path(args.dir))
    print(f"wrote {root}\nnext: cd {root} && pip install -e . && zoo plugins && "
          f"zoo eval --model {args.name} --task fluorescence")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo", description="protein-zoo: is pretraining necessary for protein fitness-landscape prediction?",
        epilog="Environment: ZOO_DATA_DIR (local data), ZOO_LOAD_PLUGINS (which plugins load), "
               "ZOO_CACHE_DIR (downloads), MLFLOW_TRACKING_URI (default sqlite:///mlflow.db).")
    parser.add_argument("--version", action="version", version=f"protein-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"),
                          help="folder holding <task>/ data (default: $ZOO_DATA_DIR; unset: each task downloads its official data)")

    p = sub.add_parser("eval", parents=[data_dir], help="train and test models on tasks, tracked in MLflow",
                       description="Run every (model, task, seed) job; finished jobs are skipped unless --force.")
    p.add_argument("--all", action="store_true", help="every installed model on every installed task")
    p.add_argument("--model", action="append", metavar="M", help="a model to run (repeatable; default: all)")
    p.add_argument("--task", action="append", metavar="T", help="a task to run on (repeatable; default: all)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per trainable model (default 3; "
                   "deterministic models run once on the full split)")
    p.add_argument("--profile", default="default", help="'default' (CPU-sized) or 'paper' (the paper's recipe)")
    clip = p.add_mutually_exclusive_group()
    clip.add_argument("--clip", dest="clip", action="store_true", default=None,
                      help="clip test predictions to the training-label range (default: on for --profile paper)")
    clip.add_argument("--no-clip", dest="clip", action="store_false", help="never clip predictions")
    p.add_argument("-o", "--option", action="append", type=_parse_option, default=[], metavar="KEY=VALUE",
                   help="a model option, e.g. -o alpha=0.5 or -o filters=512 (JSON values)")
    p.add_argument("--force", action="store_true", help="rerun jobs that already finished")
    p.add_argument("--train-sizes", type=_parse_sizes, default=None, metavar="N,N,...,full",
                   help="also train on nested, seeded subsets of the train split of these sizes "
                        "(learning curves), e.g. 24,96,384,1536,6144,full; sizes not below a task's "
                        "train split are skipped for it")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="where jobs run: 'local' (here, one after another; default) or 'ray' (one Ray task per job, "
                        "with the CPUs and GPUs its plugin asks for)")
    p.add_argument("--address", default=None, help="with --executor ray: the cluster to join, e.g. auto or "
                   "ray://HEAD:10001 (default: start Ray on this machine)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("sync", help="send results kept while the tracking server was down",
                       description="Replay, in order, the MLflow writes that `zoo eval` kept on disk while the "
                                   "tracking server was unreachable. Safe to interrupt and rerun.")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("plugins", help="list plugins, their models and their status",
                       description="List installed plugins (broken ones with their error) and their models.")
    p.set_defaults(func=cmd_plugins)
    p = sub.add_parser("tasks", help="list tasks", description="List installed tasks.")
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("leaderboard", parents=[data_dir], help="write the markdown leaderboard from MLflow",
                       description="Read every job run from MLflow and write the markdown leaderboard.")
    p.add_argument("--output", default="leaderboard/README.md", help="file to write, or - for stdout "
                   "(default leaderboard/README.md)")
    p.add_argument("--reference", default=None, help="published_results.csv to show as reference rows "
                   "(default: $ZOO_REFERENCE, else <data-dir>/../reference/published_results.csv)")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("compare", help="paired bootstrap of two models' test Spearman on a task",
                       description="Compare two models on one task: the difference in test Spearman with a 95% "
                                   "interval from a paired bootstrap over the same test resamples (seed-0 runs).")
    p.add_argument("a", help="first model")
    p.add_argument("b", help="second model")
    p.add_argument("--task", required=True, help="the task both ran on")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("plugin", help="tools for plugin authors", description="Tools for plugin authors.")
    plugin_sub = p.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND", required=True)
    q = plugin_sub.add_parser("new", help="write a new plugin package", description="Write zoo-NAME/: a plugin "
                              "package with its entry point, a simple model and a passing test.")
    q.add_argument("name", help="the plugin's and its model's name (lowercase, e.g. my-model)")
    q.add_argument("--dir", default=".", help="folder to create zoo-NAME/ in (default: here)")
    q.set_defaults(func=cmd_plugin_new)

    p = sub.add_parser("ui", help="start the MLflow UI on this machine against the same store",
                       description="Start `mlflow ui` against MLFLOW_TRACKING_URI (default sqlite:///mlflow.db).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
