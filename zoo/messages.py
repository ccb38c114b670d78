"""Shortening a message for a table cell or a log line without losing what the user acts on."""

from __future__ import annotations


def keep_fix(message: str, limit: int = 240) -> str:
    """Shorten a long message but keep its "Fix: ..." part, the bit a user acts on."""
    if len(message) <= limit:
        return message
    head, sep, fix = message.partition("Fix")
    if not sep:
        return message[: limit - 1] + "…"
    room = max(40, limit - len(fix) - 6)
    return f"{head[:room].rstrip()} … Fix{fix}"
