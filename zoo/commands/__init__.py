"""One module per group of ``zoo`` commands, each command's options beside its handler.

Every module has ``add(sub, common)``: it adds its sub-parsers to ``sub`` with :func:`command`.
``common`` holds parent parsers shared by several commands (``--data-dir``).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, Sequence


def command(
    sub: Any,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
    description: str = "",
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.ArgumentParser:
    """A sub-command whose handler is ``func``; ``description`` (for its --help) defaults to ``help``."""
    parser = sub.add_parser(name, help=help, description=description or help, parents=list(parents))
    parser.set_defaults(func=func)
    return parser
