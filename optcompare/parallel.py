"""Work started in a forked child while the caller goes on with other work.

The report's analyses are independent and pure; on a machine with more than
one core the longest of them (the search) runs beside the rest. A child is
a fork of this process: it sees the same inputs, computes the same value and
sends it back pickled. Whatever goes wrong with the child (no fork on this
platform, one core, a value that does not pickle, an exception, a signal),
the caller computes the value itself when it asks for it, so the answer never
depends on whether the work ran beside the caller or not.

Work that can go to either side (:class:`Shared`: a list of small tasks) is
taken one task at a time by whichever side is free first, so that neither
waits long for the other. Work can also start before the caller knows its
tasks (:class:`Ahead`): their numbers go into the pipe later.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

_T = TypeVar("_T")
_S = TypeVar("_S")

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
                import pickle  # here: a speculation forks before anything needs it

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
        found = self.from_child()
        if found is not None:
            return found[0]
        # No child, or it failed (the work raised, the value did not pickle, a signal):
        # the work in line gives the value, or raises what the caller must see.
        return self._work()

    def from_child(self) -> tuple[_T] | None:
        """The child's value (alone in a tuple); None when no child computed one: none
        was started, or it failed. Waits for the child; call it once."""
        if self._pid is None or self._read is None:
            return None
        with os.fdopen(self._read, "rb") as pipe:
            self._read = None
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.waitstatus_to_exitcode(status) != 0:
            return None
        import pickle

        value: _T = pickle.loads(data)
        return (value,)

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


class Tokens:
    """Task numbers in a pipe that both sides of a fork read, one number a read.

    The pipe is made before the fork; the numbers are written once, with one
    write, before or after it (:meth:`issue`), and the pipe's end closed, so
    that a read either takes exactly one number or finds none left.
    """

    _SIZE = 2
    """Bytes per number."""
    LIMIT = 2048
    """Past this many tasks none is issued (one write must fit in the pipe's atomic
    size): every task is then computed in line."""

    def __init__(self) -> None:
        self._read: int | None
        self._write: int | None
        self._read, self._write = os.pipe()

    def issue(self, count: int) -> None:
        """Write the numbers ``0`` to ``count - 1`` (none past :data:`LIMIT`) and close
        the writing end: readers find the end once the numbers are taken."""
        if self._write is None:
            return
        try:
            if count <= self.LIMIT:
                os.write(self._write, b"".join(index.to_bytes(self._SIZE, "little")
                                               for index in range(count)))
        finally:
            self.forgo()

    def forgo(self) -> None:
        """Close the writing end without writing: in a child, which never issues, so that
        its readers see the end when the one who issues is done or gone."""
        if self._write is not None:
            os.close(self._write)
            self._write = None

    def taken(self) -> Iterator[int]:
        """Numbers, one at a time, until none is left (blocks until they are issued)."""
        while self._read is not None:
            token = os.read(self._read, self._SIZE)
            if len(token) < self._SIZE:
                return
            yield int.from_bytes(token, "little")

    def close(self) -> None:
        for fd in (self._read, self._write):
            if fd is not None:
                os.close(fd)
        self._read = self._write = None


class Ahead(Generic[_T]):
    """Work started in a child before the caller knows what it will share with it.

    ``work`` runs in the child with the :class:`Tokens` whose numbers the
    caller issues once it knows its tasks; :attr:`child` brings the value back
    (:meth:`Beside.from_child`: nothing is computed in line for it, the caller
    decides what its work would have been). Stopped when the process ends if
    nothing stopped it before.
    """

    def __init__(self, work: Callable[[Tokens], _T]) -> None:
        self.tokens = Tokens()
        self.child: Beside[_T] = Beside(functools.partial(_ahead, work, self.tokens),
                                        parallel=True)
        atexit.register(self.stop)

    def stop(self) -> None:
        self.child.stop()
        self.tokens.close()


def _ahead(work: Callable[[Tokens], _T], tokens: Tokens) -> _T:
    tokens.forgo()  # the child never issues: its readers see the end when the caller is done
    return work(tokens)


class Shared(Generic[_S]):
    """Tasks that both sides of a fork take, one at a time, until none is left.

    The task numbers wait in a pipe made before the fork; a read takes one, so
    each task runs once, on the side that took it. :meth:`complete` puts the
    results of both sides together in order, and computes in line any task
    whose result did not come back (a child that failed), so the results never
    depend on who computed them.
    """

    LIMIT = Tokens.LIMIT

    def __init__(self, tasks: Sequence[Callable[[], _S]], *, parallel: bool,
                 tokens: Tokens | None = None) -> None:
        """``tokens``: numbers someone else issues (:meth:`Tokens.issue`), maybe after
        the fork; else they are made and issued now, when ``parallel``."""
        self._tasks = tuple(tasks)
        self._tokens = tokens
        if tokens is None and parallel:
            self._tokens = Tokens()
            self._tokens.issue(len(self._tasks))

    def take(self) -> dict[int, _S]:
        """Run tasks until none is left to take; their results by task number (none when
        nothing is shared: :meth:`complete` computes them all)."""
        done: dict[int, _S] = {}
        if self._tokens is None:
            return done
        for index in self._tokens.taken():
            if index < len(self._tasks):
                done[index] = self._tasks[index]()
        return done

    def complete(self, *parts: dict[int, _S]) -> tuple[_S, ...]:
        """Every task's result, in the tasks' order: from ``parts``, else computed now."""
        found = {index: value for part in parts for index, value in part.items()}
        return tuple(found[index] if index in found else task()
                     for index, task in enumerate(self._tasks))

    def close(self) -> None:
        if self._tokens is not None:
            self._tokens.close()

    def __enter__(self) -> Shared[_S]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
