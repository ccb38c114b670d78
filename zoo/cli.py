"""The ``zoo`` command: the parser is assembled from zoo/commands/, one module per group of commands,
each with its options beside its handler. Heavy modules (torch, mlflow, pandas) load inside handlers.

Exit codes: 0 success; 1 a job failed; 2 a usage or input error (the message names the fix);
3 results wait in the spool for `zoo sync`; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys

from zoo import ZooError, __version__
from zoo.commands import evaluate, info, results, store
from zoo.messages import suggest

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="protein-zoo: is pretraining necessary for protein fitness-landscape prediction?",
        epilog="Environment: ZOO_DATA_DIR (local data), ZOO_LOAD_PLUGINS (which plugins load; -name leaves one "
        "out), ZOO_CACHE_DIR (downloads, embeddings), ZOO_CHECKPOINT_DIR (training checkpoints; default "
        "$ZOO_CACHE_DIR/checkpoints), ZOO_CHECKPOINT_SECONDS (a fine-tune's epoch is also checkpointed inside "
        "itself this often; default 600), MLFLOW_TRACKING_URI (default sqlite:///mlflow.db).",
    )
    parser.add_argument("--version", action="version", version=f"protein-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument(
        "--data-dir",
        default=os.environ.get("ZOO_DATA_DIR"),
        help="folder holding <task>/ data (default: $ZOO_DATA_DIR; unset: each task downloads its official data)",
    )
    common = {"data_dir": data_dir}
    for module in (evaluate, store, info, results):
        module.add(sub, common)
    return parser


def _check_command(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Argparse answers a mistyped command with its list of choices; say which one was meant, as a
    mistyped model, option or profile gets. The top level's options take no value, so the first word
    that is not an option is the command."""
    word = next((a for a in argv if not a.startswith("-")), None)
    commands = next(a for a in parser._actions if a.dest == "command").choices or {}
    if word is not None and word not in commands:
        parser.error(f"unknown command {word!r}.{suggest(word, commands)} Run `zoo --help` for the commands.")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    _check_command(parser, argv)
    args = parser.parse_args(argv)
    args.argv = argv  # recorded, so a stopped job can say how to resume
    try:
        return args.func(args)
    except ZooError as exc:
        print(f"zoo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(
            "zoo: interrupted. Finished jobs are recorded and unfinished runs marked KILLED; run the same "
            "command again to resume.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
