"""Processes as the tests see them: alive or not, and who still runs with a given mark."""

from __future__ import annotations

import os
import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether ``pid`` exists (a zombie not yet reaped counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_under(mark: str | Path) -> list[str]:
    """Live (not zombie) processes other than this one whose command line mentions
    ``mark``, as "PID COMMAND LINE"."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(mark) in cmd and state not in ("Z", "X"):
            found.append(f"{entry.name} {cmd}")
    return found


def wait_gone(mark: str | Path, timeout: float = 5.0) -> list[str]:
    """Wait up to ``timeout`` seconds for :func:`running_under` to find nothing; what is
    left."""
    deadline = time.monotonic() + timeout
    while (left := running_under(mark)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left
