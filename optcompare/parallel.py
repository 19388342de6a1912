"""Work started in a forked child while the caller goes on with other work.

The report's analyses are independent and pure; on a machine with more than
one core the longest of them (the search) runs beside the rest. A child is
a fork of this process: it sees the same inputs, computes the same value and
sends it back pickled. Whatever goes wrong with the child (no fork on this
platform, one core, a value that does not pickle, an exception, a signal),
the caller computes the value itself when it asks for it, so the answer never
depends on whether the work ran beside the caller or not.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")

_MISSING = object()


def available() -> bool:
    """Whether work can run beside the caller: ``fork`` exists and there is a second core."""
    if not hasattr(os, "fork"):
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores > 1


class Beside(Generic[_T]):
    """``work()``, started now in a child when possible; :meth:`result` collects it.

    Use it as a context manager: leaving the block stops a child whose value
    nobody collected (an exception in the caller), and waits for it.
    """

    def __init__(self, work: Callable[[], _T], *, parallel: bool | None = None) -> None:
        self._work = work
        self._value: object = _MISSING
        self._pid: int | None = None
        self._read: int | None = None
        if parallel if parallel is not None else available():
            self._start()

    def _start(self) -> None:
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: compute, send, leave without running any cleanup
            status = 1
            try:
                os.close(read)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                data = pickle.dumps(self._work(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid, self._read = pid, read

    def result(self) -> _T:
        if self._value is _MISSING:
            self._value = self._collect()
        value: _T = self._value  # type: ignore[assignment]
        return value

    def _collect(self) -> _T:
        if self._pid is not None and self._read is not None:
            with os.fdopen(self._read, "rb") as pipe:
                self._read = None
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            if os.waitstatus_to_exitcode(status) == 0:
                value: _T = pickle.loads(data)
                return value
        # No child, or it failed (the work raised, the value did not pickle, a signal):
        # the work in line gives the value, or raises what the caller must see.
        return self._work()

    def stop(self) -> None:
        """Stop the child, if one still runs, and wait for it."""
        if self._read is not None:
            os.close(self._read)
            self._read = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = None

    def __enter__(self) -> Beside[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
