"""Options and their values: not given, or one value of the option's domain.

Most options are booleans (``on``/``off``); an enum option (a QAPI enum)
takes one of its strings. A domain lists the values an option takes on
one driver, in the order tables show them; ``combinations`` adds "not
given" to each.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

READ_ONLY = "read-only"
AUTO_READ_ONLY = "auto-read-only"
DYNAMIC_READ_ONLY = "dynamic-read-only"

Value = bool | str
"""An option's value: a boolean, or one of an enum's strings."""
TriState = bool | None
Written = Mapping[str, Value]
"""Options as the user wrote them: only the given ones, in the driver's order."""
Domain = tuple[Value, ...]
"""The values an option takes on one driver."""

BOOLEAN: Domain = (True, False)
"""A boolean option's domain: on, off."""


def on_off(value: bool) -> str:
    return "on" if value else "off"


def value_text(value: Value) -> str:
    """``on``/``off`` for a boolean, the string itself for an enum value."""
    return on_off(value) if isinstance(value, bool) else value


def is_boolean(domain: Domain) -> bool:
    return domain == BOOLEAN


def domain_text(domain: Domain) -> str:
    """``on, off`` or the enum's values, for messages."""
    return ", ".join(value_text(v) for v in domain)


def combinations(names: Sequence[str], domains: Mapping[str, Domain] | None = None
                 ) -> Iterator[dict[str, Value]]:
    """Every combination of ``names``: each value of its domain, then not given.

    ``domains`` maps an option to its values; an option it does not name is
    boolean (on, off).
    """
    known = domains or {}
    choices = [(*known.get(name, BOOLEAN), None) for name in names]
    for values in itertools.product(*choices):
        yield {name: value for name, value in zip(names, values, strict=True)
               if value is not None}


def format_options(options: Written, order: Sequence[str] | None = None) -> str:
    """``read-only=on,auto-read-only=off``; ``(none)`` when nothing is given."""
    names = list(order) if order is not None else list(options)
    names += [n for n in options if n not in names]
    text = ",".join(f"{n}={value_text(options[n])}" for n in names if n in options)
    return text or "(none)"


def parse_options(text: str, domains: Mapping[str, Domain] | None = None) -> dict[str, Value]:
    """The inverse of :func:`format_options`; raises ValueError on bad text.

    An option ``domains`` gives a non-boolean domain takes one of its
    values (as a string, ``on`` included); every other option on or off.
    """
    if text.strip() in ("", "(none)"):
        return {}
    known = domains or {}
    result: dict[str, Value] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name:
            raise ValueError(f"expected name=value, got {part.strip()!r}")
        domain = known.get(name, BOOLEAN)
        if is_boolean(domain):
            if value not in ("on", "off"):
                raise ValueError(f"expected {name}=on or {name}=off, got {part.strip()!r}")
            result[name] = value == "on"
        elif value in domain:
            result[name] = value
        else:
            raise ValueError(f"{name}: expected one of {domain_text(domain)}, got {value!r}")
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
