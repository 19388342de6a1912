"""What every real component shares: its temp dir, its process, and how neither outlives us.

- A component runs as an unprivileged user (uid/gid 65534 when we are
  root, else as ourselves: root ignores file modes, which stand in for
  SELinux labels) in its own process group, so that we kill it whole and a
  Ctrl-C on the terminal does not reach it before we clean up.
- It gets a parent-death signal (``PR_SET_PDEATHSIG``, SIGKILL): if we are
  killed outright (SIGKILL, no cleanup), the kernel kills it.
- Its temp dir is named ``optcompare-<kind>-*`` and holds an ``owner``
  file: our pid and process start time. :func:`sweep` (run before every
  new temp dir) removes the dirs whose owner is gone, which is what a
  SIGKILL leaves behind.
- Files a component must keep outside its temp dir (tgtd's control socket
  in ``/run/tgtd``) are listed in the dir's ``outside`` record
  (:func:`record_outside`); the sweep removes them with the dir, unless a
  socket among them still accepts connections.
- Every process and temp dir made here is remembered until it is stopped
  or removed; :func:`stop_all` (the command boundary's last step, and at
  exit) ends what a signal caught between a start and its owner's
  ``with`` block would otherwise leave.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from optcompare.errors import BackendError
from optcompare.frozen import frozen

__all__ = [
    "DIR_PREFIX",
    "OWNER_FILE",
    "UNPRIVILEGED_GID",
    "UNPRIVILEGED_UID",
    "Identity",
    "Owner",
    "identity",
    "kill_group",
    "live",
    "make_dir",
    "owner_alive",
    "record_outside",
    "remove_dir",
    "run",
    "signals_deferred",
    "spawn",
    "stop_all",
    "sweep",
    "track",
    "untrack",
    "wait_for",
]

UNPRIVILEGED_UID = 65534
UNPRIVILEGED_GID = 65534
DIR_PREFIX = "optcompare-"
OWNER_FILE = "owner"
OUTSIDE_FILE = "outside"
_PR_SET_PDEATHSIG = 1

_live_processes: list[subprocess.Popen[Any]] = []
_live_dirs: list[Path] = []
_live_owners: list[Owner] = []


class Owner(Protocol):
    """What owns processes and dirs of its own (a QMP client and its event loop
    too) and knows how to let them go: :meth:`close` is idempotent."""

    def close(self) -> None: ...


@frozen
class Identity:
    """Who a component runs as: the command prefix that gets it there, uid, gid."""

    prefix: tuple[str, ...]
    uid: int
    gid: int


def identity(setpriv: Path | None) -> Identity:
    """65534 through ``setpriv`` as root (which then sets the death signal again:
    a change of credentials clears it), else ourselves."""
    if os.geteuid() != 0:
        return Identity((), os.getuid(), os.getgid())
    if setpriv is None:
        raise BackendError(
            "setpriv not found (Debian package util-linux): needed to run QEMU "
            "as an unprivileged user when running as root"
        )
    prefix = (
        str(setpriv),
        f"--reuid={UNPRIVILEGED_UID}",
        f"--regid={UNPRIVILEGED_GID}",
        "--clear-groups",
        "--pdeathsig=KILL",
    )
    return Identity(prefix, UNPRIVILEGED_UID, UNPRIVILEGED_GID)


_DEFERRED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: SIGKILL when the parent goes; gone already, exit."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def spawn(
    command: Sequence[str],
    *,
    cwd: Path,
    log: IO[bytes] | int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, bound to die with us."""
    parent = os.getpid()
    with signals_deferred():  # recorded before a pending signal can be raised
        started = _popen(command, cwd, log, env, parent)
        _live_processes.append(started)
    return started


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """A terminating signal (SIGINT, SIGTERM, SIGHUP) waits until the block is
    over; it is raised as the block ends, so whatever the block made must be
    recorded inside it. Around a fork (raised inside an at-fork hook, its
    exception would be swallowed) and around a cleanup (interrupted, it would
    leave tasks, processes or files behind)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def run(command: Sequence[str], timeout: float, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """A short command (``qemu-img``) to its end; killed when interrupted or late.

    ``env``: variables added to ours."""
    child: subprocess.Popen[str] | None = None
    try:
        with signals_deferred():
            child = subprocess.Popen(list(command), stdin=subprocess.DEVNULL,
                                     env={**os.environ, **env} if env else None,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=lambda: _die_with_parent(os.getppid()))
        # A signal that came during the fork is raised here, with the child known:
        # left running, it would go on writing into a temp dir being removed.
        out, err = child.communicate(timeout=timeout)
    except BaseException:
        if child is not None:
            child.kill()
            child.wait()
        raise
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def _popen(command: Sequence[str], cwd: Path, log: IO[bytes] | int | None,
           env: dict[str, str] | None, parent: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT if log is not subprocess.DEVNULL else subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        process_group=0,
        preexec_fn=lambda: _die_with_parent(parent),  # no threads here: safe
    )


def kill_group(proc: subprocess.Popen[Any], grace: float = 2.0) -> None:
    """SIGTERM the group, wait up to ``grace``, then SIGKILL what is left; reap."""
    pgid = proc.pid  # process_group=0: the group id is the leader's pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)  # stragglers, or one that ignores SIGTERM
    proc.wait()
    with contextlib.suppress(ValueError):
        _live_processes.remove(proc)


# -- temp dirs ------------------------------------------------------------------------


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat)."""
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = line[line.rfind(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):
        return None  # a zombie has finished
    return fields[19] if len(fields) > 19 else None


def _owner_record() -> str:
    pid = os.getpid()
    return f"{pid} {_start_time(pid)}\n"


def owner_alive(directory: Path) -> bool | None:
    """Whether the process that made ``directory`` still runs (None: no owner file)."""
    try:
        text = (directory / OWNER_FILE).read_text()
    except OSError:
        return None
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    return _start_time(int(parts[0])) == parts[1]


def record_outside(directory: Path, paths: Sequence[Path]) -> None:
    """Name the files outside ``directory`` that its component makes, so that a
    :func:`sweep` after our death removes them too (written before they exist)."""
    (directory / OUTSIDE_FILE).write_text("".join(f"{path}\n" for path in paths))


def _listening(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _remove_outside(directory: Path) -> None:
    """The files a dead owner's ``outside`` record names, if we wrote the record.

    The dir belongs to the unprivileged user, who could replace the record: only
    a single-link regular file owned by our own uid is read. Only regular files
    and sockets are removed, and none while one of its sockets is in use
    (another run may have been given the same control number since).
    """
    record = directory / OUTSIDE_FILE
    try:
        seen = record.lstat()
    except OSError:
        return
    if (not stat.S_ISREG(seen.st_mode) or seen.st_uid != os.geteuid()
            or seen.st_nlink != 1):
        return
    paths = [Path(line) for line in record.read_text().splitlines() if line.startswith("/")]
    kinds = {}
    for path in paths:
        try:
            kinds[path] = path.lstat().st_mode
        except OSError:
            continue
    if any(stat.S_ISSOCK(mode) and _listening(path) for path, mode in kinds.items()):
        return
    for path, mode in kinds.items():
        if stat.S_ISREG(mode) or stat.S_ISSOCK(mode):
            path.unlink(missing_ok=True)


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the temp dirs under ``root`` (default: the temp dir) whose owner is gone."""
    base = Path(root if root is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(DIR_PREFIX) or entry.is_symlink() or not entry.is_dir():
            continue
        if owner_alive(entry) is False:
            _remove_outside(entry)
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    return removed


def make_dir(kind: str, who: Identity) -> Path:
    """A fresh ``optcompare-<kind>-*`` temp dir with our owner record, for ``who`` (0700)."""
    _check_reachable(Path(tempfile.gettempdir()), who)
    sweep()
    with signals_deferred():
        path = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}{kind}-"))
        _live_dirs.append(path)
    try:
        (path / OWNER_FILE).write_text(_owner_record())
        os.chown(path, who.uid, who.gid)
        os.chmod(path, 0o700)
    except BaseException:
        remove_dir(path)
        raise
    return path


def _check_reachable(base: Path, who: Identity) -> None:
    """``who`` (the unprivileged user QEMU runs as) can enter ``base`` and each dir
    above it; else QEMU fails later with a bare "Permission denied" on its socket."""
    if who.uid == os.geteuid():
        return
    for place in [*reversed(base.parents), base]:
        try:
            info = place.stat()
        except OSError:
            return  # mkdtemp reports it
        if info.st_uid == who.uid:
            bit = stat.S_IXUSR
        elif info.st_gid == who.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            raise BackendError(
                f"temp dir {str(base)!r}: uid {who.uid}, which QEMU and the servers run "
                f"as, cannot enter {str(place)!r} (mode {stat.S_IMODE(info.st_mode):o}); "
                "set TMPDIR to a directory it can enter, such as /tmp")


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(ValueError):
        _live_dirs.remove(path)


def track(owner: Owner) -> None:
    """``owner`` is closed by :func:`stop_all` unless it closed itself first
    (:func:`untrack`): a signal between its start and the ``try`` of whoever
    holds it would otherwise leave its event loop's tasks pending at exit."""
    _live_owners.append(owner)


def untrack(owner: Owner) -> None:
    with contextlib.suppress(ValueError):
        _live_owners.remove(owner)


def live() -> frozenset[int]:
    """Identities of the owners, processes and temp dirs made here and still there."""
    return frozenset(map(id, [*_live_owners, *_live_processes, *_live_dirs]))


def stop_all(keep: frozenset[int] = frozenset()) -> None:
    """Close every owner, stop every process and remove every temp dir made here
    and still there, but those in ``keep`` (from :func:`live`)."""
    for owner in [o for o in _live_owners if id(o) not in keep]:
        with contextlib.suppress(Exception):
            owner.close()
        untrack(owner)
    for started in [p for p in _live_processes if id(p) not in keep]:
        kill_group(started, grace=0.5)
    for path in [d for d in _live_dirs if id(d) not in keep]:
        remove_dir(path)


atexit.register(stop_all)


def wait_for(path: Path, proc: subprocess.Popen[Any], timeout: float, what: str) -> None:
    """Wait until ``path`` exists while ``proc`` runs."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise BackendError(f"{what} exited with status {proc.returncode} before {path.name}")
        if time.monotonic() > deadline:
            raise BackendError(f"{what} did not create {path.name} in {timeout} s")
        time.sleep(0.005)
