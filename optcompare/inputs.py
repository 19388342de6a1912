"""Reading the user's files within bounds: their kind, their size, their nesting.

Every file a command parses (scenario files, schema replies) is read here.
Only a regular file is read, and never more than its limit: a FIFO, a
device or a symlink to ``/dev/zero`` is refused at once instead of blocking
or filling memory. A parsed value nested deeper than :data:`MAX_NESTING`
levels, or holding an integer outside 64 bits, is refused too: no real
scenario or schema comes close, and either would make later steps slow or
make them fail far from the input.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from optcompare.errors import InputError

SCENARIO_LIMIT = 1 << 20
"""Bytes of one scenario file (1 MiB; the built-ins are under 2 KiB)."""

SCHEMA_LIMIT = 16 << 20
"""Bytes of one schema reply or QMP transcript (16 MiB; QEMU 8.1's reply is 300 KB)."""

ACCEPT_LIMIT = 1 << 20
"""Bytes of one accept file of finding ids (1 MiB: an id is one line of a few hundred
bytes at most)."""

MAX_NESTING = 64
"""Levels of arrays and objects (tables) in one parsed value."""

INT_MIN = -(1 << 63)
INT_MAX = (1 << 64) - 1
"""The widest integers QAPI has (int64 and uint64)."""
TOML_INT_MAX = (1 << 63) - 1
"""TOML integers are int64: a wider one "must" be an error (TOML 1.0)."""

NESTED_TOO_DEEPLY = f"nested deeper than {MAX_NESTING} levels of arrays and tables"
INTEGER_TOO_LONG = "integer out of range: QAPI and TOML integers have at most 64 bits"


def read_bytes(path: Path, limit: int) -> bytes:
    """The content of the regular file at ``path`` (symlinks followed), at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", path=str(path)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"cannot read: not a regular file ({_kind(info.st_mode)})",
                             path=str(path))
        if info.st_size > limit:
            raise InputError(_too_big(info.st_size, limit), path=str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # the file may grow while it is read
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", path=str(path)) from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(_too_big(size, limit), path=str(path))
    return b"".join(chunks)


def read_text(path: Path, limit: int, encoding: str = "utf-8") -> str:
    """:func:`read_bytes`, decoded; text that is not UTF-8 is an InputError."""
    data = read_bytes(path, limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text (byte {error.start})", path=str(path)) from None


def _too_big(size: int, limit: int) -> str:
    return f"too large: {size} bytes or more; the limit is {limit >> 20} MiB ({limit} bytes)"


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISDIR, "a directory"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def bounds_problem(value: object, largest: int = INT_MAX) -> str | None:
    """Why a parsed JSON or TOML value is out of bounds, or None.

    Walked with an explicit stack: a value nested deeper than the
    interpreter's recursion limit is reported, not crashed on.
    """
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not INT_MIN <= item <= largest:
                return INTEGER_TOO_LONG
            continue
        children: list[object]
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= MAX_NESTING:
            return NESTED_TOO_DEEPLY
        pending.extend((child, depth + 1) for child in children)
    return None
