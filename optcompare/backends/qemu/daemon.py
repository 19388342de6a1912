"""A real ``qemu-storage-daemon`` driven over QMP, for checking the model.

The daemon runs as an unprivileged user, bound to die with us, in a temp
dir of its own (see :mod:`optcompare.backends.qemu.process`).
:class:`QemuDaemon` always cleans up: QMP disconnected, process group
killed and reaped, temp dir removed, whatever way the ``with`` block is
left (normal exit, exception, KeyboardInterrupt or a terminating signal,
daemon crash). The ``-drive`` emulator
(:mod:`optcompare.backends.qemu.emulator`) is the same QMP process with
another command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Collection, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self, TypeVar

from qemu.qmp import ExecuteError, QMPClient, QMPError

from optcompare.backends.qemu import process
from optcompare.backends.qemu.process import UNPRIVILEGED_GID, UNPRIVILEGED_UID
from optcompare.errors import BackendError
from optcompare.frozen import frozen

__all__ = [
    "UNPRIVILEGED_GID",
    "UNPRIVILEGED_UID",
    "DaemonDied",
    "FdMode",
    "JobResult",
    "QemuDaemon",
    "QemuTools",
    "QmpCommandError",
    "QmpTimeout",
    "find_qemu",
]

DEBIAN_PACKAGES = "qemu-system-common (qemu-storage-daemon) and qemu-utils (qemu-img)"

FdMode = Literal["ro", "rw", "closed"]
_T = TypeVar("_T")


class QmpCommandError(BackendError):
    """QEMU answered a command with an error. ``desc`` is QEMU's exact text."""

    def __init__(self, error_class: str, desc: str, command: str = "") -> None:
        self.error_class = error_class
        self.desc = desc
        self.command = command
        super().__init__(f"{command}: {error_class}: {desc}" if command else desc)


def opt_value(text: str) -> str:
    """``text`` as a value inside a QEMU option string (``key=value,...``, QemuOpts):
    a comma is written twice, or it would end the value (a TMPDIR with a comma)."""
    return text.replace(",", ",,")


class QmpTimeout(BackendError):
    """A QMP call or a job wait did not finish in time."""


class DaemonDied(BackendError):
    """The daemon process exited (or was killed) while we were using it."""

    def __init__(self, returncode: int, stderr_tail: str = "",
                 program: str = "qemu-storage-daemon") -> None:
        self.returncode = returncode
        #: the signal number when killed by a signal, else None
        self.signal: int | None = -returncode if returncode < 0 else None
        self.stderr_tail = stderr_tail
        if self.signal is not None:
            try:
                how = f"killed by {signal.Signals(self.signal).name}"
            except ValueError:
                how = f"killed by signal {self.signal}"
        else:
            how = f"exited with status {returncode}"
        msg = f"{program} {how}"
        if stderr_tail:
            msg += f": {stderr_tail}"
        super().__init__(msg)


class JobResult(NamedTuple):
    """What :meth:`QemuDaemon.wait_job` saw."""

    status: str  # the job's status when the wait ended ("null" once dismissed)
    error: str | None  # the job's error message, if any
    reached: bool  # whether one of the wanted statuses was reached


@frozen
class QemuTools:
    storage_daemon: Path
    qemu_img: Path
    setpriv: Path | None  # needed (and found) only when running as root


def find_qemu() -> QemuTools:
    """Locate the binaries, or raise a one-line :class:`BackendError`."""
    qsd = shutil.which("qemu-storage-daemon")
    img = shutil.which("qemu-img")
    missing = [n for n, p in (("qemu-storage-daemon", qsd), ("qemu-img", img)) if p is None]
    if missing:
        raise BackendError(
            f"{' and '.join(missing)} not found: install the Debian packages {DEBIAN_PACKAGES}"
        )
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0:
        process.identity(Path(setpriv) if setpriv else None)  # raises without setpriv
    assert qsd is not None and img is not None
    return QemuTools(Path(qsd), Path(img), Path(setpriv) if setpriv else None)


def _discard(coro: Coroutine[Any, Any, Any]) -> None:
    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        coro.close()


def _quiet_about_interrupts(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An interrupt raised inside a task propagates out of the loop (and is
    reported there); its copy left on the task is not news. Nor is a task that
    close() cancelled and that never ran again: an interrupt raised between the
    loop taking the task's next step off its queue and running it loses that
    step, and the task is destroyed pending."""
    if isinstance(context.get("exception"), KeyboardInterrupt):
        return
    task = context.get("task")
    if isinstance(task, asyncio.Task) and not task.done() and (
            task.cancelling() or getattr(task.get_coro(), "cr_frame", True) is None):
        return  # cancelled by close(), or its coroutine ran to the end: nothing was lost
    loop.default_exception_handler(context)


class QemuDaemon:
    """``with QemuDaemon() as d: d.execute("query-version")``.

    The synchronous API wraps qemu.qmp's asyncio ``QMPClient`` in a private
    event loop (the legacy sync wrapper cannot bound a call's wait while
    also noticing that the daemon died). Every call runs as a task that is
    raced against a deadline and against the daemon process exiting.
    """

    kind = "qsd"
    """The temp dir's name part (``optcompare-qsd-*``)."""
    program = "qemu-storage-daemon"
    connect_attempt = 5.0
    """Seconds one QMP connection may take to greet and negotiate before it is
    dropped and another is made (until ``start_timeout``)."""

    def __init__(self, tools: QemuTools | None = None, *, start_timeout: float = 30.0,
                 env: dict[str, str] | None = None) -> None:
        self.tools = tools if tools is not None else find_qemu()
        self.env = env
        """Variables added to the process's environment (the ssh driver's agent)."""
        self.start_timeout = start_timeout
        self.identity = process.identity(self.tools.setpriv)
        self._prefix = list(self.identity.prefix)
        self.uid, self.gid = self.identity.uid, self.identity.gid
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: QMPClient | None = None
        self._closed = False
        self._died: DaemonDied | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._interrupted = False
        """An interrupt came out of the loop: what its tasks report after it is its echo."""
        self.events: list[dict[str, Any]] = []  # every QMP event seen, in order
        self._job_seen: dict[str, list[str]] = {}
        self._job_errors: dict[str, str] = {}
        #: seconds from spawning the process to a negotiated QMP session
        self.start_seconds: float | None = None

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        if self._proc is not None or self._closed:
            raise BackendError("a QemuDaemon can be started only once")
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        process.track(self)
        tmp = process.make_dir(self.kind, self.identity)
        self._tmp = tmp
        sock = tmp / "qmp.sock"
        self._log = open(tmp / "daemon.log", "wb")  # noqa: SIM115 - closed in close()
        t0 = time.monotonic()
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._report)
        deadline = t0 + self.start_timeout
        while True:
            self._spawn(sock, deadline)
            # QMPClient.connect() reads the greeting and runs qmp_capabilities.
            client = self._run_bare(self._make_client())
            # One attempt gets a few seconds, not the whole budget: qemu-storage-daemon
            # 7.2 has been seen, rarely, to send its greeting and then never answer
            # qmp_capabilities, or answer it with something else.
            attempt = min(self.connect_attempt, max(0.1, deadline - time.monotonic()))
            try:
                self._run_bare(asyncio.wait_for(client.connect(str(sock)), attempt))
            except (TimeoutError, QMPError, OSError) as err:
                with contextlib.suppress(Exception):
                    self._run_bare(asyncio.wait_for(client.disconnect(), 1.0))
                self._check_alive()
                if time.monotonic() > deadline:
                    raise BackendError(f"cannot connect to {sock}: {err!r}") from err
                # Replaced, not connected to again: one such daemon, reached on a
                # second connection, died (SIGSEGV) on its first blockdev-add.
                self._replace(sock)
                continue
            self._client = client
            break
        self.start_seconds = time.monotonic() - t0

    def _spawn(self, sock: Path, deadline: float) -> None:
        """Start the process and wait for its monitor socket."""
        env = {**os.environ, **self.env} if self.env else None
        self._proc = process.spawn([*self._prefix, *self.command(sock)], cwd=self.tmpdir,
                                   log=self._log, env=env)
        while not sock.exists():
            self._check_alive()
            if time.monotonic() > deadline:
                raise QmpTimeout(f"{self.program} did not create {sock}")
            time.sleep(0.005)

    def _replace(self, sock: Path) -> None:
        """Kill the process whose monitor misbehaved, so that a new one can start."""
        if self._proc is not None:
            process.kill_group(self._proc)
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()

    def command(self, sock: Path) -> list[str]:
        """The command line, with its QMP monitor on ``sock``."""
        return [
            str(self.tools.storage_daemon),
            "--chardev",
            f"socket,id=m,path={opt_value(str(sock))},server=on,wait=off",
            "--monitor",
            "chardev=m",
        ]

    async def _make_client(self) -> QMPClient:
        return QMPClient(f"optcompare-{self.kind}")

    def close(self) -> None:
        """Disconnect, kill and reap the process group, remove the temp dir.

        Idempotent. Each step runs even if an earlier one fails; a terminating
        signal that comes meanwhile is raised once all of them are done.
        """
        if self._closed:
            return
        self._closed = True
        with process.signals_deferred():
            try:
                self._close()
            finally:
                process.untrack(self)

    def _close(self) -> None:
        try:
            self._cancel_tasks(self._tasks)
            self._disconnect()
        finally:
            try:
                self._kill()
            finally:
                try:
                    if self._loop is not None:
                        self._cancel_tasks(asyncio.all_tasks(self._loop))
                        self._loop.close()
                        self._loop = None
                finally:
                    if self._log is not None:
                        self._log.close()
                    if self._tmp is not None:
                        process.remove_dir(self._tmp)

    def _cancel_tasks(self, tasks: Collection[asyncio.Task[Any]]) -> None:
        """Cancel tasks left pending by an interrupted call (KeyboardInterrupt)."""
        pending = [t for t in tasks if not t.done()]
        if not pending or self._loop is None:
            return
        for t in pending:
            t.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        for t in pending:
            if not t.done():  # its step was lost to the interrupt (_quiet_about_interrupts)
                # Closed now, not by the garbage collector after the loop is gone,
                # where qemu.qmp's reader would try to schedule its disconnect.
                with contextlib.suppress(BaseException):
                    t.get_coro().close()

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is None or self._loop is None:
            return
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.wait_for(client.disconnect(), 2.0))

    def _kill(self) -> None:
        if self._proc is not None:
            process.kill_group(self._proc)

    # -------------------------------------------------------------- plumbing

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise BackendError("the daemon is not started")
        return self._proc.pid

    @property
    def tmpdir(self) -> Path:
        if self._tmp is None:
            raise BackendError("the daemon is not started")
        return self._tmp

    @property
    def stderr(self) -> str:
        """What the daemon wrote to stdout/stderr so far."""
        if self._tmp is None:
            return ""
        try:
            return (self._tmp / "daemon.log").read_text(errors="replace")
        except OSError:
            return ""

    def _check_alive(self) -> None:
        if self._died is not None:
            raise self._died
        if self._proc is None:
            raise BackendError("the daemon is not started")
        rc = self._proc.poll()
        if rc is not None:
            lines = self.stderr.strip().splitlines()
            self._died = DaemonDied(rc, lines[-1] if lines else "", self.program)
            raise self._died

    def _run_bare(self, coro: Coroutine[Any, Any, _T]) -> _T:
        assert self._loop is not None
        try:
            task = self._loop.create_task(coro)
        except BaseException:
            _discard(coro)
            raise
        # Tracked until done: an interrupt leaves it pending, close() cancels it.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            return self._loop.run_until_complete(task)
        except KeyboardInterrupt:
            self._interrupted = True
            raise

    def _report(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The loop's exception handler. After an interrupt, every task of this loop is
        torn down half-way: one raised inside qemu.qmp's sender has left its connect
        task to fail an assertion later, and a task whose step the interrupt lost is
        destroyed pending. Neither is news then; before one, see
        :func:`_quiet_about_interrupts`."""
        if not self._interrupted:
            _quiet_about_interrupts(loop, context)

    def _run(self, coro: Coroutine[Any, Any, _T], timeout: float, what: str) -> _T:
        """Run ``coro`` on our loop; give up on timeout or when the daemon dies."""
        if self._closed or self._loop is None:
            coro.close()
            raise BackendError("the daemon is closed")
        try:
            self._check_alive()
            return self._run_bare(self._guard(coro, timeout, what))
        except BaseException:
            _discard(coro)  # an interrupt before it ran: no "never awaited" warning
            raise

    async def _guard(self, coro: Coroutine[Any, Any, _T], timeout: float, what: str) -> _T:
        assert self._loop is not None
        task = asyncio.ensure_future(coro)
        deadline = self._loop.time() + timeout
        try:
            while True:
                remaining = deadline - self._loop.time()
                done, _ = await asyncio.wait({task}, timeout=max(0.0, min(0.05, remaining)))
                if done:
                    break
                self._check_alive()
                if self._loop.time() >= deadline:
                    raise QmpTimeout(f"{what}: no answer from {self.program} in {timeout} s")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        try:
            return task.result()
        except (QMPError, OSError, EOFError) as err:
            if isinstance(err, ExecuteError):
                raise
            # The connection broke: most likely the daemon is dying. Give it
            # a moment to exit so that we can report how.
            assert self._proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1.0)
            self._check_alive()
            raise BackendError(f"{what}: QMP connection lost: {err!r}") from err

    def _drain_events(self) -> None:
        if self._client is None:
            return
        for ev in self._client.events.clear():
            self._record_event(dict(ev))

    def _record_event(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)
        data = ev.get("data") or {}
        name = ev.get("event")
        if name == "JOB_STATUS_CHANGE":
            self._job_seen.setdefault(data["id"], []).append(data["status"])
        elif name in ("BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED", "BLOCK_JOB_ERROR"):
            job = data.get("device")
            if job is not None and data.get("error"):
                self._job_errors[job] = data["error"]

    # ------------------------------------------------------------------ QMP

    def execute(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> Any:
        """Run a QMP command, return its ``return`` value.

        Raises :class:`QmpCommandError` (QEMU's error class and exact text),
        :class:`QmpTimeout`, or :class:`DaemonDied`.
        """
        if self._client is None:
            raise BackendError("the daemon is not connected")
        try:
            result = self._run(self._client.execute(command, arguments), timeout, command)
        except ExecuteError as err:
            raise QmpCommandError(err.error_class, str(err), command) from None
        finally:
            self._drain_events()
        return result

    def wait_job(self, job_id: str, want: Collection[str], timeout: float = 10.0) -> JobResult:
        """Wait until job ``job_id`` reaches a status in ``want``.

        Also returns (with ``reached=False``) when the job concluded or
        vanished without reaching one. Statuses are taken from
        JOB_STATUS_CHANGE events (so a status that went by between two
        polls is not missed) and from ``query-jobs``; the error message is
        ``query-jobs``' ``error`` or, once the job is dismissed, the one of
        its BLOCK_JOB_COMPLETED event. Raises :class:`QmpTimeout`.
        """
        if self._client is None:
            raise BackendError("the daemon is not connected")
        wanted = set(want)
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.execute("query-jobs", timeout=max(0.1, deadline - time.monotonic()))
            seen = self._job_seen.get(job_id, [])
            job = next((j for j in jobs if j.get("id") == job_id), None)
            if job is not None:
                status = str(job["status"])
                error = job.get("error") or self._job_errors.get(job_id)
            elif seen:
                status, error = "null", self._job_errors.get(job_id)
            else:
                raise BackendError(f"no job {job_id!r}")
            if status in wanted or wanted.intersection(seen):
                return JobResult(status, error, True)
            if status in ("concluded", "null"):
                return JobResult(status, error, False)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QmpTimeout(f"job {job_id!r} still {status!r} after {timeout} s")
            self._wait_event(min(0.1, remaining))

    def _wait_event(self, timeout: float) -> None:
        """Block until some event arrives (or ``timeout``), recording it."""
        assert self._client is not None
        client = self._client

        async def one() -> None:
            with contextlib.suppress(asyncio.TimeoutError):
                ev = await asyncio.wait_for(client.events.get(), timeout)
                self._record_event(dict(ev))

        self._run(one(), timeout + 1.0, "event wait")
        self._drain_events()

    # ------------------------------------------------------------ observing

    def fd_mode(self, path: str | os.PathLike[str]) -> FdMode:
        """How the daemon has ``path`` open right now.

        "rw" if any descriptor on the file allows writing, "ro" if it has
        only read-only ones, "closed" if none.
        """
        self._check_alive()
        target = os.path.realpath(path)
        modes: list[int] = []
        fd_dir = f"/proc/{self.pid}/fd"
        try:
            entries = os.listdir(fd_dir)
        except OSError as err:
            self._check_alive()
            raise BackendError(f"cannot read {fd_dir}: {err}") from err
        for fd in entries:
            try:
                if os.readlink(f"{fd_dir}/{fd}") != target:
                    continue
                with open(f"/proc/{self.pid}/fdinfo/{fd}") as info:
                    flags = next(
                        int(line.split()[1], 8) for line in info if line.startswith("flags:")
                    )
            except (OSError, StopIteration):
                continue  # closed meanwhile
            modes.append(flags & os.O_ACCMODE)
        if not modes:
            return "closed"
        return "rw" if any(m != os.O_RDONLY for m in modes) else "ro"

    def named_nodes(self) -> dict[str, dict[str, Any]]:
        """``query-named-block-nodes`` keyed by node name: ``ro``, ``file``, ``drv``."""
        nodes = self.execute("query-named-block-nodes", {"flat": True})
        return {n["node-name"]: {"ro": n["ro"], "file": n["file"], "drv": n["drv"]} for n in nodes}

    # --------------------------------------------------------------- images

    def path(self, name: str | os.PathLike[str]) -> Path:
        """``name`` inside the temp dir (absolute paths are kept)."""
        p = Path(name)
        return p if p.is_absolute() else self.tmpdir / p

    def create_image(
        self,
        name: str,
        backing: str | os.PathLike[str] | None = None,
        size: str = "1M",
        fmt: str = "qcow2",
        backing_fmt: str = "qcow2",
    ) -> Path:
        """``qemu-img create`` in the temp dir, as the daemon's user; 0644."""
        if "/" in name or name in ("", ".", ".."):
            raise BackendError(f"image name must be a plain file name: {name!r}")
        path = self.tmpdir / name
        cmd = [*self._prefix, str(self.tools.qemu_img), "create", "-q", "-f", fmt]
        if backing is not None:
            cmd += ["-F", backing_fmt, "-b", str(self.path(backing))]
        cmd += [str(path), size]
        try:
            res = process.run(cmd, timeout=10)
        except subprocess.TimeoutExpired as err:
            raise BackendError(f"qemu-img create {name} timed out") from err
        if res.returncode != 0:
            msg = (res.stderr.strip() or res.stdout.strip()).splitlines()
            raise BackendError(f"qemu-img create {name} failed: {msg[-1] if msg else '?'}")
        os.chown(path, self.uid, self.gid)  # no-op when it already ran as that user
        os.chmod(path, 0o644)
        return path

    @staticmethod
    def set_label(path: str | os.PathLike[str], writable: bool) -> None:
        """Stand-in for an SELinux relabel: 0644 allows writes, 0444 denies."""
        os.chmod(path, 0o644 if writable else 0o444)
