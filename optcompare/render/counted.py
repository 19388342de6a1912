"""A count and its noun, agreeing: "1 denial", "3 denials", "2 policies"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word``, or ``many`` (default: ``word`` + "s") unless it is one."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
