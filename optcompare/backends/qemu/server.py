"""What every server for a network driver shares: start, readiness, cleanup.

A server runs unprivileged in its own temp dir, in its own process group,
with a parent-death signal (:mod:`optcompare.backends.qemu.process`), and
listens on 127.0.0.1 only, on a port that was free a moment before.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from optcompare.backends.qemu import process
from optcompare.errors import BackendError
from optcompare.scenario.backend import NotApplicable

__all__ = ["LOOPBACK", "Server", "free_port", "need"]

LOOPBACK = "127.0.0.1"


def need(program: str, package: str) -> Path:
    """A server's binary; missing, the driver cannot be measured here (:class:`NotApplicable`)."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if found is None:
        raise NotApplicable(f"{program} not found: install the Debian package {package}")
    return Path(found)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class Server:
    """A server process: :meth:`launch` it, :meth:`close` it (idempotent)."""

    kind = "server"
    program = "server"

    def __init__(self, identity: process.Identity) -> None:
        self.identity = identity
        self.port = free_port()
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def tmpdir(self) -> Path:
        if self._tmp is None:
            self._tmp = process.make_dir(self.kind, self.identity)
        return self._tmp

    def launch(self, command: Sequence[str], timeout: float = 5.0) -> None:
        """Start ``command`` (as the unprivileged user) and wait until it accepts on the port."""
        self._log = open(self.tmpdir / "server.log", "wb")  # noqa: SIM115 - closed in close()
        self._proc = process.spawn([*self.identity.prefix, *command], cwd=self.tmpdir,
                                   log=self._log)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise BackendError(f"{self.program} exited with status {self._proc.returncode}"
                                   f": {self.log_tail()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise BackendError(f"{self.program} did not listen on {LOOPBACK}:"
                                       f"{self.port} in {timeout} s") from None
                time.sleep(0.01)

    def log_tail(self) -> str:
        try:
            lines = (self.tmpdir / "server.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def stop(self) -> None:
        """Stop the process (a server that ignores SIGTERM overrides this first)."""
        if self._proc is not None:
            process.kill_group(self._proc)

    def close(self) -> None:
        with process.signals_deferred():  # a signal meanwhile is raised once all is done
            self._close()

    def _close(self) -> None:
        try:
            self.stop()
        finally:
            if self._log is not None:
                self._log.close()
            if self._tmp is not None:
                process.remove_dir(self._tmp)

    def chown(self, path: Path) -> Path:
        """``path`` (made by us) handed to the server's user."""
        import os

        os.chown(path, self.identity.uid, self.identity.gid)
        return path

    def write(self, path: Path, content: str | bytes) -> Path:
        """A file of ours in the server's dir, handed to the server's user: the
        server reads it as that user whatever our umask made of its mode (077: 0600)."""
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        return self.chown(path)

    def run(self, command: Sequence[str], what: str, timeout: float = 5.0,
            env: dict[str, str] | None = None) -> Any:
        """A short helper command (an admin tool) as the server's user; its stdout."""
        done = process.run([*self.identity.prefix, *command], timeout=timeout, env=env)
        if done.returncode != 0:
            text = (done.stderr.strip() or done.stdout.strip()).splitlines()
            raise BackendError(f"{what} failed: {text[-1] if text else done.returncode}")
        return done.stdout
