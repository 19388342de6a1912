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
from collections.abc import Callable
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


_PLAIN = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "--",
    "\u2015": "--", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": "'",
    "\u2032": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2022": "*", "\u00b7": "*", "\u2192": "->", "\u2190": "<-", "\u00d7": "x",
})
"""Punctuation with a plain ASCII spelling that compatibility decomposition leaves alone."""


def ascii_text(text: str) -> str:
    """``text`` in ASCII, for a plain-text mailing list: accents dropped ("cafe"),
    compatibility forms decomposed (fullwidth letters, ligatures, the ellipsis),
    dashes and quotes spelled plainly, and anything else written as an escape
    (``\\u4e2d``) the way :func:`printable` writes a control character."""
    if text.isascii():
        return text
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN)).translate(_PLAIN)
    return "".join(
        char if char.isascii() else "" if unicodedata.combining(char) else
        f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
        for char in decomposed)


def printable_model(value: T) -> T:
    """``value`` with every string in it :func:`printable`.

    Dataclasses (frozen or not), tuples, lists and dicts are walked; a part
    in which nothing changes is the same object, so a result without
    control characters costs one walk and no copy.
    """
    result: T = _walk(value, printable)
    return result


def ascii_model(value: T) -> T:
    """``value`` with every string in it :func:`ascii_text` (walked as
    :func:`printable_model` walks)."""
    result: T = _walk(value, ascii_text)
    return result


def _walk(value: Any, fix: Callable[[str], str]) -> Any:
    kind = type(value)
    if kind in _LEAVES:
        return value
    if isinstance(value, str):
        return fix(value)  # an enum member of str stays itself: its value is plain ASCII
    if kind is tuple or kind is list:
        items = [_walk(v, fix) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return kind(items)
    if kind is dict:
        pairs = [(_walk(k, fix), _walk(v, fix)) for k, v in value.items()]
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
        new = _walk(old, fix)
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
