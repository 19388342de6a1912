"""The standard streams as the tool finds them: closed, full or broken.

A tool started with a standard descriptor closed (``optcompare report >&-``)
would hand that number to the first file it opens, and a child it starts
would write its output there. :func:`hold_closed` puts ``/dev/null`` in each
closed slot first; slot 1 is opened for reading only, so a write to stdout
fails as the shell's own commands do (``Bad file descriptor``) instead of
vanishing, and is reported like any other failed write.

The commands report their own failed writes (see ``deliver``); the only
text written elsewhere is click's: ``--help`` and ``--version``.
:func:`failed_echo` recognises a failure of that writer. Every message on
stderr goes through :func:`to_stderr`, which a full or broken stderr cannot
turn into a traceback or a different exit code.
"""

from __future__ import annotations

import io
import os
import sys
from types import TracebackType
from typing import TextIO

_SLOTS = ((0, os.O_RDONLY, "stdin"), (1, os.O_RDONLY, "stdout"), (2, os.O_WRONLY, "stderr"))
"""Each standard descriptor, how its stand-in is opened, and its name in :mod:`sys`."""


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def hold_closed() -> None:
    """Put ``/dev/null`` in every standard descriptor that is closed, lowest first (an
    open returns the lowest free number, so each lands in its own slot)."""
    for fd, flags, name in _SLOTS:
        if not _closed(fd):
            continue
        held = os.open(os.devnull, flags)
        if held != fd:  # a lower slot is open and this one is not the lowest free
            os.dup2(held, fd)
            os.close(held)
        if getattr(sys, name) is None:
            mode = "r" if name == "stdin" else "w"
            raw = io.FileIO(fd, mode, closefd=False)
            setattr(sys, name, io.TextIOWrapper(raw, encoding="utf-8", errors="strict",
                                                write_through=name == "stderr"))


def cannot_write(error: OSError) -> str:
    """What a failed write to stdout is reported as."""
    return f"stdout: cannot write: {error.strerror or error}"


def _to_null(stream: TextIO) -> None:
    """Point the descriptor behind ``stream`` at /dev/null, so that what is left in its
    buffer goes nowhere: the interpreter flushes it again at exit, and a second failure
    there would print a traceback and exit 120."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor behind it (a test's capture)
        pass


def drop_stdout() -> None:
    """After a failed write to stdout: nothing more goes there."""
    _to_null(sys.stdout)


def stdout_failed(error: OSError) -> None:
    """A write to stdout that no command reported (click's, or the last flush): nothing
    more goes there, and stderr says so in the command's own words."""
    drop_stdout()
    to_stderr(f"optcompare: error: {cannot_write(error)}")


def to_stderr(line: str) -> None:
    """Write one line on stderr. When stderr cannot take it (full, broken) there is no
    one left to tell: the line is dropped, with whatever else is left for stderr, and
    the command still ends with its own exit code."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        _to_null(sys.stderr)


def failed_echo(error: OSError) -> bool:
    """Whether ``error`` came out of click's writer (the help, the version)."""
    import typer

    echo = typer.echo.__code__
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is echo:
            return True
        tb = tb.tb_next
    return False
