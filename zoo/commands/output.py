"""Terminal output shared by the commands: a console, and text that is never read as markup."""

from __future__ import annotations

import sys


def console():
    from rich.console import Console

    # logs and pipes get wide lines rather than error messages folded into 80 columns
    return Console() if sys.stdout.isatty() else Console(width=200)


def plain(text: object):
    """A rich Text: a plugin's description or an error message with ``[/]`` in it is shown as written."""
    from rich.text import Text

    return Text(str(text))


def keep_fix(message: str, limit: int = 240) -> str:
    """Shorten a long message but keep its "Fix: ..." part, the bit a user acts on."""
    if len(message) <= limit:
        return message
    head, sep, fix = message.partition("Fix")
    if not sep:
        return message[: limit - 1] + "…"
    room = max(40, limit - len(fix) - 6)
    return f"{head[:room].rstrip()} … Fix{fix}"
