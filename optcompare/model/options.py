"""Tri-state boolean options: not given, on, off."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

READ_ONLY = "read-only"
AUTO_READ_ONLY = "auto-read-only"
DYNAMIC_READ_ONLY = "dynamic-read-only"

TriState = bool | None
Written = Mapping[str, bool]
"""Options as the user wrote them: only the given ones, in the driver's order."""

_STATES: tuple[TriState, ...] = (True, False, None)


def on_off(value: bool) -> str:
    return "on" if value else "off"


def combinations(names: Sequence[str]) -> Iterator[dict[str, bool]]:
    """Every tri-state combination of ``names``: on, off, not given."""
    for states in itertools.product(_STATES, repeat=len(names)):
        yield {name: state for name, state in zip(names, states, strict=True) if state is not None}


def format_options(options: Written, order: Sequence[str] | None = None) -> str:
    """``read-only=on,auto-read-only=off``; ``(none)`` when nothing is given."""
    names = list(order) if order is not None else list(options)
    names += [n for n in options if n not in names]
    text = ",".join(f"{n}={on_off(options[n])}" for n in names if n in options)
    return text or "(none)"


def parse_options(text: str) -> dict[str, bool]:
    """The inverse of :func:`format_options`; raises ValueError on bad text."""
    if text.strip() in ("", "(none)"):
        return {}
    result: dict[str, bool] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or value not in ("on", "off") or not name:
            raise ValueError(f"expected name=on or name=off, got {part.strip()!r}")
        result[name] = value == "on"
    return result


# QEMU's iotest 232: its nine option sets, in the order the test runs them.
IOTEST_232_OPTION_SETS: tuple[dict[str, bool], ...] = (
    {"read-only": True, "auto-read-only": False},
    {"read-only": True, "auto-read-only": True},
    {"read-only": True},
    {"read-only": False, "auto-read-only": False},
    {"read-only": False, "auto-read-only": True},
    {"read-only": False},
    {"auto-read-only": False},
    {"auto-read-only": True},
    {},
)
