"""The console script: the process a user starts, from its first import to its end.

Three things only the whole process can do, all for speed:

- hold off cyclic garbage collection from before the first import: importing
  typer and the analyses builds tens of thousands of objects and no garbage,
  and every automatic collection on the way walks all of them again (the
  commands themselves run with it held off: :mod:`optcompare.garbage`);
- end without taking the heap apart: once a command has finished, the exit
  handlers have run and the streams are flushed, the interpreter's shutdown
  would free every object of the analysis one at a time (a report's tens of
  thousands of records) only for the process to end;
- start the report's search on the second core before typer is even
  imported, when the arguments ask for the report on the default policies
  (:mod:`optcompare.analysis.speculation`).

``python -m optcompare`` goes through here too. :func:`optcompare.cli.main` is
the same command line without either, for callers that go on running.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from typing import NoReturn


def main() -> NoReturn:
    gc.disable()
    if "report" in sys.argv[1:3]:  # the guess itself is speculation's
        from optcompare.analysis import speculation

        speculation.speculate(sys.argv[1:])
    from optcompare import cli

    try:
        cli.main()
    except SystemExit as leaving:
        end(leaving.code)
    end(0)


def end(code: str | int | None) -> NoReturn:
    """Leave with ``code`` as ``sys.exit`` would, minus the shutdown's teardown; the
    ordinary way when that teardown still has work: a message for an exit code (a
    string), or a thread still running, which the shutdown would wait for."""
    if isinstance(code, str) or threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(_flushed(code or 0))


def _flushed(status: int) -> int:
    """Flush stdout and stderr as the shutdown does; the exit status after it (a failed
    write to stdout is one line on stderr and exit 2, as a command's own write)."""
    from optcompare import streams

    try:
        sys.stdout.flush()
    except OSError as error:
        streams.stdout_failed(error)
        status = 2
    except (AttributeError, ValueError):  # no stdout, or one already closed
        pass
    with contextlib.suppress(OSError, AttributeError, ValueError):
        sys.stderr.flush()
    return status
