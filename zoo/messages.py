"""Wording every message shares: the "did you mean" hint, and shortening without losing the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, known: Iterable[str]) -> str:
    """The hint ` Did you mean 'x'?` for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def keep_fix(message: str, limit: int = 240) -> str:
    """Shorten a long message but keep its "Fix: ..." part, the bit a user acts on."""
    if len(message) <= limit:
        return message
    head, sep, fix = message.partition("Fix")
    if not sep:
        return message[: limit - 1] + "…"
    room = max(40, limit - len(fix) - 6)
    return f"{head[:room].rstrip()} … Fix{fix}"
