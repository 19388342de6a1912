"""QEMU's iotest 232: the read-only/auto-read-only table of the file driver.

The expected output (``iotest-232.out``) lists, for -drive and -blockdev and
for a writable and a chmod a-w image, the outcome of nine option sets. This
module parses such a file and computes the same cells from a build.
"""

from __future__ import annotations

import re
from pathlib import Path

from optcompare.analysis.truth_table import evaluate
from optcompare.errors import InputError
from optcompare.frozen import frozen
from optcompare.model.messages import PATH
from optcompare.model.options import IOTEST_232_OPTION_SETS as OPTION_SETS
from optcompare.policies.base import Build, Frontend


@frozen
class Result:
    """One cell: the node's read-only flag, or the open error."""

    frontend: Frontend
    writable: bool
    options: tuple[tuple[str, bool], ...]
    ro: bool | None
    error: str | None


_SECTION = re.compile(r"^=== -(drive|blockdev) with (read-write|read-only) image")
_NODE = re.compile(r"^\S+: \S+ \((\w+)(, read-only)?\)$")
_ERROR = re.compile(r"^QEMU_PROG: .*?: (Could not open '(?P<path>[^']*)': .*)$")


def parse(path: Path) -> list[Result]:
    """Parse an iotest 232 expected output into its 36 cells."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    results: list[Result] = []
    section: tuple[Frontend, bool] | None = None
    index = 0
    for number, line in enumerate(lines, 1):
        header = _SECTION.match(line)
        if header:
            section = (Frontend(header.group(1)), header.group(2) == "read-write")
            index = 0
            continue
        if section is None or not line.strip() or line.startswith("*** done"):
            continue
        if index >= len(OPTION_SETS):
            raise InputError("more than nine results in a section", path=str(path), line=number)
        options = tuple(OPTION_SETS[index].items())
        node, error = _NODE.match(line), _ERROR.match(line)
        if node:
            results.append(Result(*section, options, bool(node.group(2)), None))
        elif error:
            message = error.group(1).replace(error.group("path"), PATH)
            results.append(Result(*section, options, None, message))
        else:
            raise InputError(f"unrecognised line {line!r}", path=str(path), line=number)
        index += 1
    if len(results) != 4 * len(OPTION_SETS):
        raise InputError(f"expected 36 results, found {len(results)}", path=str(path))
    return results


def compute(build: Build, frontends: tuple[Frontend, ...] = (Frontend.DRIVE, Frontend.BLOCKDEV)
            ) -> list[Result]:
    """The same cells, from the model of a build (driver ``file``)."""
    results = []
    for frontend in frontends:
        for writable in (True, False):
            for options in OPTION_SETS:
                cell = evaluate(build, "file", dict(options), frontend)
                outcome = cell.writable if writable else cell.unwritable
                if outcome is None:
                    error = cell.resolution.error
                    results.append(Result(frontend, writable, tuple(options.items()), None, error))
                elif outcome.error is not None:
                    results.append(
                        Result(frontend, writable, tuple(options.items()), None, outcome.error)
                    )
                else:
                    results.append(
                        Result(frontend, writable, tuple(options.items()), outcome.ro, None)
                    )
    return results
