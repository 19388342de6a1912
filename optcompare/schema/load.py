"""Read a ``query-qmp-schema`` reply from a file or from monitor text.

Three shapes are accepted:

- the bare JSON array of SchemaInfo objects;
- the QMP reply ``{"return": [...]}``;
- a QMP transcript, one message per line: the greeting, the ``{"return": {}}``
  of ``qmp_capabilities``, events and other replies are skipped and the first
  reply whose ``return`` is a list of SchemaInfo objects is taken.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from optcompare.errors import InputError
from optcompare.inputs import INTEGER_TOO_LONG, NESTED_TOO_DEEPLY, SCHEMA_LIMIT, bounds_problem
from optcompare.inputs import read_text as read_bounded
from optcompare.schema.query import SchemaIndex

_JSON_VALUE_START = re.compile(r"[^ \t\n\r]")


class _Message(NamedTuple):
    line: int
    value: Any


def load_schema(path: Path) -> list[dict[str, Any]]:
    """The SchemaInfo entries stored in ``path``; raises InputError on any problem.

    Only a regular file of at most :data:`~optcompare.inputs.SCHEMA_LIMIT` bytes is read.
    """
    return parse_schema_text(read_bounded(path, SCHEMA_LIMIT, "utf-8-sig"), str(path))


def parse_schema_text(text: str, source: str) -> list[dict[str, Any]]:
    """The SchemaInfo entries in ``text``; ``source`` names it in error messages."""
    messages = _decode_messages(text, source)
    if not messages:
        raise InputError("empty input: no JSON value", path=source)
    if len(messages) == 1:
        return _schema_from_document(messages[0].value, source)
    return _schema_from_transcript(messages, source)


def _schema_from_document(document: Any, source: str) -> list[dict[str, Any]]:
    """A bare SchemaInfo array or a single ``{"return": [...]}`` reply."""
    if isinstance(document, dict) and isinstance(document.get("return"), list):
        document = document["return"]
    if not isinstance(document, list):
        raise InputError("not a query-qmp-schema reply (a list of SchemaInfo objects)", path=source)
    return _checked_schema(document, source, line=None)


def _decode_messages(text: str, source: str) -> list[_Message]:
    """Every JSON value in ``text``, in order, with the line it starts on."""
    decoder = json.JSONDecoder(parse_int=_bounded_int)
    messages: list[_Message] = []
    line, scanned, position = 1, 0, 0
    while True:
        start = _JSON_VALUE_START.search(text, position)
        if start is None:
            return messages
        position = start.start()
        line += text.count("\n", scanned, position)
        scanned = position
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise InputError(
                f"not JSON: {error.msg} (column {error.colno})", path=source, line=error.lineno
            ) from error
        except RecursionError:
            raise InputError(f"not a schema: {NESTED_TOO_DEEPLY}", path=source,
                             line=line) from None
        except ValueError:  # from _bounded_int
            raise InputError(f"not a schema: {INTEGER_TOO_LONG}", path=source, line=line) from None
        problem = bounds_problem(value)
        if problem is not None:
            raise InputError(f"not a schema: {problem}", path=source, line=line)
        messages.append(_Message(line, value))
        position = end


def _bounded_int(digits: str) -> int:
    """A JSON integer, refused before conversion when it has more digits than 64 bits need."""
    if len(digits.lstrip("-")) > 20:
        raise ValueError(INTEGER_TOO_LONG)
    return int(digits)


def _schema_from_transcript(messages: list[_Message], source: str) -> list[dict[str, Any]]:
    """The first ``query-qmp-schema`` reply among QMP messages."""
    for message in messages:
        line = message.line
        if not isinstance(message.value, dict):
            raise InputError("not a QMP message (expected a JSON object)", path=source, line=line)
        reply = message.value.get("return")
        if isinstance(reply, list) and _looks_like_schema(reply):
            return _checked_schema(reply, source, line=line)
    raise InputError("no query-qmp-schema reply (a list of SchemaInfo objects)", path=source)


def _looks_like_schema(entries: list[Any]) -> bool:
    return any(isinstance(entry, dict) and "meta-type" in entry for entry in entries)


def _checked_schema(entries: list[Any], source: str, line: int | None) -> list[dict[str, Any]]:
    """``entries`` once every one is a SchemaInfo object with a unique name."""
    if not _looks_like_schema(entries):
        raise InputError(
            "not a query-qmp-schema reply: no entry has a meta-type", path=source, line=line
        )
    try:
        SchemaIndex(entries)
    except InputError as error:
        raise InputError(error.detail, path=source, line=line) from error
    return entries
