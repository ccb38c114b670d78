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
