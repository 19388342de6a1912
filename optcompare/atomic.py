"""Files written whole or not at all: a reader sees the old content or the new.

A new file is written next to its target and renamed over it; SIGTERM or
SIGHUP during the write removes the temporary file before the process dies
of the signal. Used for every file optcompare writes: ``-o``, the scenario
files ``explore --emit`` writes, the report's result cache.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` as a shell redirection would, never half-written.

    A regular file (or the file a symlink leads to) is replaced by a rename,
    so a reader sees the old or the new content; the new file keeps the old
    one's permission bits (and owner, when allowed), a file that did not
    exist gets ``0666 & ~umask``. A device or a FIFO is written directly.
    Unlike a redirection, another hard link to a replaced file keeps the old
    content: being whole wins (README, ``-o``).
    A SIGTERM or SIGHUP during the write removes the temporary file before
    the process dies of it.
    """
    import stat

    target = Path(os.path.realpath(path))
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        return
    with _cleanup_on_termination():
        _replace(target, content, existing)


def replace_atomic(path: Path, content: str) -> None:
    """Put a new regular file at ``path`` by a rename, whatever was there.

    For files optcompare owns (the report's result cache): a symlink or a
    FIFO at ``path`` is replaced itself, never followed or written into.
    """
    with _cleanup_on_termination():
        _replace(path, content, None)


def _replace(target: Path, content: str, existing: os.stat_result | None) -> None:
    import stat
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if existing is None:
            os.fchmod(fd, 0o666 & ~_umask())
        else:
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(fd, existing.st_uid, existing.st_gid)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class _Terminated(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _cleanup_on_termination() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP unwind it (its cleanup runs) and then
    kill the process as they would have; a handler someone else installed is left alone."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def unwind(signum: int, _frame: object) -> None:
        raise _Terminated(signum)

    caught = [s for s in (signal.SIGTERM, signal.SIGHUP) if signal.getsignal(s) is signal.SIG_DFL]
    for signum in caught:
        signal.signal(signum, unwind)
    try:
        yield
    except _Terminated as terminated:
        signal.signal(terminated.signum, signal.SIG_DFL)
        os.kill(os.getpid(), terminated.signum)
        raise  # not reached: the default action ends the process
    finally:
        for signum in caught:
            signal.signal(signum, signal.SIG_DFL)
