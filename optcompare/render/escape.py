"""Text from scenario files and plugins, made safe to show.

Keys, values, names and messages can come from a user's scenario file or
a third-party plugin. Shown raw, an ESC would drive the terminal, and a
newline or carriage return would start a line of its own: in a markdown
reply, a line that mail software quotes (``>``) or mangles (``From ``);
on stderr, a second line where the contract is one. Every format but JSON
renders a command's result after :func:`printable_model` (the analysis
data and the Document a view makes of it), and every message on stderr
passes through :func:`printable`: each such character is written as an
escape (``\\x1b``, ``\\n``, ``\\u2028``) the way Python's ``repr`` would.
JSON needs nothing: it escapes control characters itself.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

T = TypeVar("T")

# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and
# the bidirectional marks, overrides and isolates (text that reorders itself).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as an escape."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def printable_model(value: T) -> T:
    """``value`` with every string in it :func:`printable`.

    Dataclasses (frozen or not), tuples, lists and dicts are walked; a part
    in which nothing changes is the same object, so a result without
    control characters costs one walk and no copy.
    """
    result: T = _walk(value)
    return result


def _walk(value: Any) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    if isinstance(value, str):
        return printable(value)  # an enum member of str stays itself: it has no controls
    if kind is tuple or kind is list:
        items = [_walk(v) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return kind(items)
    if kind is dict:
        pairs = [(_walk(k), _walk(v)) for k, v in value.items()]
        if all(k is old_k and v is old_v for (k, v), (old_k, old_v)
               in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    names = _fields(kind)
    if names is None:
        return value
    changes = {}
    for name in names:
        old = getattr(value, name)
        new = _walk(old)
        if new is not old:
            changes[name] = new
    return dataclasses.replace(value, **changes) if changes else value


_LEAVES = frozenset({int, float, bool, type(None), bytes})
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _fields(kind: type) -> tuple[str, ...] | None:
    """The init fields of a dataclass, None for any other class (shown as it is)."""
    if kind not in _FIELDS:
        _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind) if f.init) if (
            dataclasses.is_dataclass(kind)) else None
    return _FIELDS[kind]
