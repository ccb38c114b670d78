"""What is installed: ``zoo plugins``, ``zoo tasks``, and ``zoo plugin new`` for plugin authors."""

from __future__ import annotations

import argparse

from zoo.commands import command


def add(sub, common) -> None:
    p = command(
        sub,
        "plugins",
        plugins,
        help="list plugins, their models and their status",
        description="List installed plugins (broken ones with their error), their models, and "
        "names claimed by two plugins; with --model, one model's -o options.",
    )
    p.add_argument(
        "--model", metavar="M", help="list this model's -o options: default, type, bounds or choices, and help"
    )
    command(sub, "tasks", tasks, help="list tasks", description="List installed tasks.")

    p = sub.add_parser("plugin", help="tools for plugin authors", description="Tools for plugin authors.")
    plugin_sub = p.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND", required=True)
    q = command(
        plugin_sub,
        "new",
        plugin_new,
        help="write a new plugin package",
        description="Write zoo-NAME/: a plugin package with its entry point, a simple model (or, with --task, a "
        "task read from a CSV file) and a passing test.",
    )
    q.add_argument("name", help="the plugin's and its model's (or task's) name (lowercase, e.g. my-model)")
    q.add_argument("--task", action="store_true", help="scaffold a task plugin instead of a model plugin")
    q.add_argument("--dir", default=".", help="folder to create zoo-NAME/ in (default: here)")


def plugins(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.commands.output import console as make_console
    from zoo.commands.output import plain
    from zoo.plugins import conflict_message, discover

    registry = discover()
    console = make_console()
    if args.model:
        console.print(options_table(registry.model(args.model)))
        return 0
    table = Table(title="plugins")
    for col in ("plugin", "version", "models", "tasks", "status"):
        table.add_column(col)
    for info in sorted(registry.plugins.values(), key=lambda p: p.name):
        status = "[green]ok[/]" if info.error is None else "[red]broken[/] (below)"
        table.add_row(
            plain(info.name), plain(info.version), plain(", ".join(info.models)), plain(", ".join(info.tasks)), status
        )
    console.print(table)
    for info in registry.broken:  # full messages, not folded into a table cell
        console.print(f"broken plugin {info.name}: {info.error}", markup=False, highlight=False, soft_wrap=True)
    for (kind, name), claims in sorted(registry.conflicts.items()):
        console.print(
            f"not runnable: {conflict_message(kind, name, claims)}", markup=False, highlight=False, soft_wrap=True
        )
    models = Table(title="models")
    for col in ("model", "approach", "plugin", "profiles", "availability", "description"):
        models.add_column(col)
    for entry in sorted(registry.models.values(), key=lambda e: e.name):
        models.add_row(
            plain(entry.name),
            plain(entry.spec.approach),
            plain(entry.plugin),
            plain(", ".join(entry.spec.profiles)),
            plain(entry.availability()),
            plain(entry.description),
        )
    console.print(models)
    for plugin, what in sorted(registry.resolvers().items()):  # models made on demand, e.g. hf:ORG/NAME
        console.print(plain(f"plugin {plugin} makes models by name: {what}"), highlight=False, soft_wrap=True)
    return 0


def options_table(entry):
    """A model's declared -o options, one row each."""
    from rich.table import Table

    from zoo.commands.output import plain

    table = Table(title=f"{entry.name} options (-o NAME=VALUE; profiles: {', '.join(entry.spec.profiles)})")
    for col in ("option", "default", "type", "accepts", "help"):
        table.add_column(col)
    for name, option in sorted(entry.spec.options.items()):
        accepts = [f">= {option.minimum:g}"] if option.minimum is not None else []
        accepts += [f"> {option.above:g}"] if option.above is not None else []
        accepts += [", ".join(sorted(map(str, option.choices)))] if option.choices is not None else []
        kind = option.kind.__name__ if option.kind is not None else "any JSON value"
        default = "unset" if option.default is None else repr(option.default)  # the model decides
        table.add_row(plain(name), plain(default), kind, plain("; ".join(accepts)), plain(option.help))
    return table


def tasks(args: argparse.Namespace) -> int:
    from rich.table import Table

    from zoo.commands.output import console, plain
    from zoo.plugins import discover

    table = Table(title="tasks")
    for col in ("task", "plugin", "source", "data from", "description"):
        table.add_column(col)
    for entry in sorted(discover().tasks.values(), key=lambda e: e.name):
        table.add_row(
            plain(entry.name),
            plain(entry.plugin),
            plain(entry.spec.source),
            plain(entry.spec.url),
            plain(entry.description),
        )
    console().print(table)
    return 0


def plugin_new(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo.scaffold import new_plugin

    root = new_plugin(args.name, Path(args.dir), task=args.task)
    run = (
        f"zoo eval --task {args.name} --model linear"
        if args.task
        else f"zoo eval --model {args.name} --task <a task from `zoo tasks`>"
    )
    print(f"wrote {root}\nnext: cd {root} && pip install -e . && python -m pytest && {run}")
    return 0
