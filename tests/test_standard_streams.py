"""The standard streams as a user's shell may hand them over: full (``>/dev/full``),
closed (``>&-``, ``2>&-``, ``<&-``). Whatever the tool cannot write is one line on
stderr and exit 2, like any other failed write; never a traceback, never exit 1 or 0
(issue 13, point 2). What it cannot tell (stderr itself is full) changes nothing else:
the exit code is the command's own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

TABLE = ("table", "option-3", "--driver", "file", "--frontend", "blockdev")
WRITERS = {
    "help": ("--help",),
    "version": ("--version",),
    "command help": ("report", "--help"),
    "command": TABLE,
}
"""Everything that writes to stdout: click's own text and a command's result."""

FULL = "optcompare: error: stdout: cannot write: No space left on device"
CLOSED = "optcompare: error: stdout: cannot write: Bad file descriptor"


def run(args: tuple[str, ...], *, stdout: IO[str] | int | None = subprocess.PIPE,
        stderr: IO[str] | int | None = subprocess.PIPE,
        close: tuple[int, ...] = (), cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The console script, with the descriptors in ``close`` closed when it starts."""
    preexec: Callable[[], None] | None = None
    if close:
        def preexec() -> None:
            for fd in close:
                os.close(fd)
    return subprocess.run([sys.executable, "-m", "optcompare", *args], stdout=stdout,
                          stderr=stderr, stdin=subprocess.DEVNULL, preexec_fn=preexec,
                          text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("args", WRITERS.values(), ids=WRITERS.keys())
def test_a_full_stdout_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        proc = run(args, stdout=full)
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [FULL])


@pytest.mark.parametrize("args", WRITERS.values(), ids=WRITERS.keys())
def test_a_closed_stdout_is_one_line_and_exit_2(args: tuple[str, ...]) -> None:
    proc = run(args, stdout=None, close=(1,))
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [CLOSED])


def test_with_stdout_closed_an_output_file_is_written_as_usual(tmp_path: Path) -> None:
    expected = run(TABLE).stdout
    target = tmp_path / "table.txt"
    proc = run((*TABLE, "-o", str(target)), stdout=None, close=(1,))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert target.read_text() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.txt"]


@pytest.mark.parametrize("args", [("report", "-p", "no-such-policy"), ("report", "--no-such"),
                                  ("table", "no-such-policy")],
                         ids=["domain error", "usage error", "unknown policy"])
def test_an_error_keeps_its_exit_code_when_stderr_is_full(args: tuple[str, ...]) -> None:
    with open("/dev/full", "w") as full:
        proc = run(args, stderr=full)
    assert (proc.returncode, proc.stdout) == (2, "")


def test_bare_optcompare_keeps_its_exit_code_when_stderr_is_full() -> None:
    with open("/dev/full", "w") as full:
        proc = run((), stderr=full)
    assert (proc.returncode, proc.stdout) == (2, "")


def test_a_result_still_reaches_stdout_when_stderr_is_full() -> None:
    expected = run(TABLE).stdout
    with open("/dev/full", "w") as full:
        proc = run(TABLE, stderr=full)
    assert (proc.returncode, proc.stdout) == (0, expected)


def test_every_stream_closed(tmp_path: Path) -> None:
    bad = run(("report", "-p", "no-such-policy"), stdout=None, stderr=None, close=(0, 1, 2))
    assert bad.returncode == 2
    target = tmp_path / "table.txt"
    good = run((*TABLE, "-o", str(target)), stdout=None, stderr=None, close=(0, 1, 2))
    assert good.returncode == 0
    assert target.read_text() == run(TABLE).stdout


PROBE = """
import os, sys
from optcompare import streams
streams.hold_closed()
fd = os.open(os.devnull, os.O_RDONLY)
try:
    sys.stdout.write("x")
    sys.stdout.flush()
except OSError as error:
    failure = error.strerror
sys.stderr.write(f"{fd} {sys.stdin.read()!r} {failure}\\n")
"""


def test_a_closed_slot_is_held_so_nothing_the_tool_opens_lands_there() -> None:
    """A file opened with stdout closed would otherwise become descriptor 1, and what a
    child the tool starts writes to its stdout would go into it."""
    proc = subprocess.run([sys.executable, "-c", PROBE], stdin=None, stdout=None,
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          preexec_fn=lambda: (os.close(0), os.close(1)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "3 '' Bad file descriptor\n"
