"""``zoo eval``: plan the jobs, run them (here or on Ray), print what happened, pick the exit code."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from zoo import ZooError
from zoo.commands import command

EXIT_JOB_FAILED = 1
EXIT_UNSYNCED = 3  # every job ran, but some results wait in the spool for `zoo sync`


def add(sub, common) -> None:
    p = command(
        sub,
        "eval",
        run,
        parents=[common["data_dir"]],
        help="train and test models on tasks, tracked in MLflow",
        description="Run every (model, task, seed) job; finished jobs are skipped unless --force.",
    )
    p.add_argument("--all", action="store_true", help="every installed model on every installed task")
    p.add_argument("--model", action="append", metavar="M", help="a model to run (repeatable; default: all)")
    p.add_argument(
        "--task",
        action="append",
        metavar="T",
        help="a task to run on, or an assay file "
        "(path/to/assay.csv[.gz]: a task named after it) (repeatable; default: all)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="seeds per trainable model, at least 1 (default 3; deterministic models run once on the full split)",
    )
    p.add_argument(
        "--profile",
        default="default",
        help="a recipe profile the models declare: 'default' "
        "(CPU-sized) or 'paper' (the paper's recipe) for the built-in models",
    )
    clip = p.add_mutually_exclusive_group()
    clip.add_argument(
        "--clip",
        dest="clip",
        action="store_true",
        default=None,
        help="clip test predictions to the training-label range (default: as the model's profile says; "
        "on for the built-in models under --profile paper)",
    )
    clip.add_argument("--no-clip", dest="clip", action="store_false", help="never clip predictions")
    p.add_argument(
        "-o",
        "--option",
        action="append",
        type=parse_option,
        default=[],
        metavar="KEY=VALUE",
        help="a model option, e.g. -o alpha=0.5 or -o filters=512 (JSON values; checked against the "
        "model's declared types)",
    )
    p.add_argument("--force", action="store_true", help="rerun jobs that already finished, training afresh")
    p.add_argument(
        "--train-sizes",
        type=parse_sizes,
        default=None,
        metavar="N,N,...,full",
        help="also train on nested, seeded subsets of the train split of these sizes "
        "(learning curves), e.g. 24,96,384,1536,6144,full; sizes not below a task's "
        "train split are skipped for it",
    )
    p.add_argument(
        "--wild-type",
        metavar="FASTA",
        default=None,
        help="wild type for an assay file (--task FILE.csv) with mutation codes (mutant column, e.g. A42G:L50P)",
    )
    p.add_argument(
        "--split",
        choices=("random", "positions"),
        default=None,
        help="how an assay file without a split column is split: 'random' 80/10/10 (the default) or 'positions' "
        "(held-out mutated positions: no test position seen in training); only for assay files",
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: 'local' (here, one after another; default) or 'ray' (one Ray task per job, "
        "with the CPUs and GPUs its plugin asks for)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="with --executor ray: the cluster to join, e.g. auto or "
        "ray://HEAD:10001 (default: start Ray on this machine)",
    )


def parse_sizes(text: str) -> list[int | None]:
    sizes: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part == "full":
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"expected positive integers or 'full', e.g. 24,96,384,full; got {part!r}")
    return sizes


def parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def run(args: argparse.Namespace) -> int:
    from zoo.cache import cache_dir, check_folder
    from zoo.commands.output import console as make_console
    from zoo.contract import ZERO_SHOT
    from zoo.plugins import discover
    from zoo.progress import Reporter
    from zoo.runner import Runner, plan
    from zoo.tracking import Tracker
    from zoo.training import CHECKPOINT_DIR, checkpoint_root, checkpoint_seconds

    if not (args.all or args.model or args.task):
        raise ZooError("say what to run: --all, or --model and/or --task. See `zoo eval --help`.")
    if args.all and (args.model or args.task):
        raise ZooError(
            "--all runs every model on every task, so --model and --task would be dropped. Fix: give --all "
            "alone, or --model and/or --task without --all."
        )
    registry = discover()
    console = make_console()
    for info in registry.broken:
        console.print(f"warning: {info.error}", markup=False, highlight=False)
    tasks = [assay_task(registry, t, args) for t in args.task or []] or sorted(registry.tasks)
    files = [t for t in tasks if registry.task(t).plugin == "assay-files"]
    if args.split and not files:
        raise ZooError(
            f"--split {args.split}: --split applies to assay files (--task path/to/assay.csv); the tasks "
            f"here ({', '.join(tasks)}) come with their own splits. Fix: drop --split."
        )
    for name in files:  # a file that cannot be read is the user's input: say so once, before any job
        registry.task(name).factory(data_dir=args.data_dir)
    models = args.model or sorted(registry.models)
    jobs = plan(
        registry,
        models,
        tasks,
        seeds=args.seeds,
        profile=args.profile,
        clip=args.clip,
        options=dict(args.option),
        train_sizes=args.train_sizes,
    )
    tracker = Tracker()  # fails here, before any compute, if the store is unreachable
    check_folder(cache_dir(), "ZOO_CACHE_DIR")
    check_folder(checkpoint_root(), CHECKPOINT_DIR)
    checkpoint_seconds()  # a bad ZOO_CHECKPOINT_SECONDS fails here, not minutes into a training
    synced = tracker.sync_pending()  # results kept while the server was down count before planning
    if synced:
        console.print(f"synced {synced} tracking writes kept while {tracker.uri} was unreachable", markup=False)
    executor = make_executor(args, tracker)
    console.print(
        f"{len(jobs)} jobs ({len(set(models))} models x {len(set(tasks))} tasks); tracking to {tracker.uri}",
        markup=False,
        highlight=False,
    )
    if args.train_sizes and args.train_sizes != [None]:
        untrained = sorted({m for m in models if registry.model(m).spec.approach == ZERO_SHOT})
        if untrained:  # the plan ran them once; say why there are fewer jobs than sizes
            console.print(
                f"{', '.join(untrained)}: zero-shot, no label read: one job on the full task stands for every "
                f"--train-sizes size (the N = 0 point of the learning curves)",
                markup=False,
                highlight=False,
            )
    with Reporter() as reporter:
        outcomes = Runner(registry, tracker, data_dir=args.data_dir, force=args.force, progress=reporter).run(
            jobs, invocation(args, models, tasks), executor
        )
    print_summary(console, outcomes)
    return exit_code(console, outcomes, tracker)


def assay_task(registry, name: str, args: argparse.Namespace) -> str:
    """``--task path/to/assay.csv``: the file becomes a task named after it (zoo/assay.py)."""
    from zoo import assay

    if assay.is_assay_path(name):
        return assay.register(registry, name, wild_type=args.wild_type, split=args.split)
    if name.endswith((".csv", ".csv.gz")):
        raise ZooError(f"--task {name}: no such file. Fix: give the path of an assay CSV, or a task from `zoo tasks`.")
    return name


def invocation(args: argparse.Namespace, models: list[str], tasks: list[str]) -> dict[str, Any]:
    """What the parent run records about this command."""
    return {
        # as typed, without --force: what resumes this invocation's unfinished jobs
        "command": shlex.join(["zoo", *(a for a in args.argv if a != "--force")])[:1000] if "argv" in args else "-",
        "models": ",".join(models),
        "tasks": ",".join(tasks),
        "seeds": args.seeds,
        "train_sizes": ",".join("full" if n is None else str(n) for n in args.train_sizes or [None]),
        "profile": args.profile,
        "clip": args.clip,
        "force": args.force,
        "data_dir": args.data_dir or "(download)",
        "wild_type": args.wild_type or "-",
        "split": args.split,
        "executor": args.executor,
        "ray_address": args.address or ("(local)" if args.executor == "ray" else "-"),
    }


def make_executor(args: argparse.Namespace, tracker):
    if args.address and args.executor != "ray":
        raise ZooError("--address is for --executor ray. Fix: add --executor ray, or drop --address.")
    if args.executor != "ray":
        return None
    from zoo.ray_executor import RayExecutor

    executor = RayExecutor(args.address)
    executor.check(tracker)
    return executor


def print_summary(console, outcomes) -> None:
    from rich.table import Table

    from zoo.commands.output import plain
    from zoo.messages import keep_fix

    table = Table(title="zoo eval summary")
    table.add_column("job", no_wrap=True)
    for col in ("status", "test spearman", "valid spearman", "fit s", "note"):
        table.add_column(col)
    colours = {"ok": "green", "failed": "red", "unavailable": "yellow", "skipped": "dim"}
    for o in outcomes:
        m = o.metrics
        table.add_row(
            plain(o.job.name),
            f"[{colours[o.status]}]{o.status}[/]",
            f"{m['test_spearman']:.3f}" if m else "",
            f"{m.get('valid_spearman', float('nan')):.3f}" if m else "",
            f"{m['fit_seconds']:.1f}" if m else "",
            plain(keep_fix(o.message)),
        )
    console.print(table)
    counts = {s: sum(o.status == s for o in outcomes) for s in colours}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n), highlight=False)


def exit_code(console, outcomes, tracker) -> int:
    if any(o.status == "failed" for o in outcomes):
        return EXIT_JOB_FAILED
    if tracker.unsynced():
        console.print(
            f"The tracking server {tracker.uri} dropped during the run. Every finished result is kept in "
            f"{tracker.spool_dir()}. Fix: restart the server, then run `zoo sync` (the next `zoo eval` "
            f"also syncs first).",
            markup=False,
            highlight=False,
        )
        return EXIT_UNSYNCED
    return 0
