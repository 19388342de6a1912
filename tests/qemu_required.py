"""Shared gate for tests that need the real QEMU binaries.

Call :func:`require_qemu` at the start of a test (or fixture). When QEMU is
missing it *fails* the test if the environment variable ``CI`` is set (to
anything but an empty string, ``0``, ``false``, ``no`` or ``off``), so a CI
run cannot silently skip the real-QEMU checks; otherwise it skips.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from optcompare.backends.qemu import daemon as qemu_daemon
from optcompare.errors import BackendError

__all__ = ["in_ci", "require_emulator", "require_program", "require_qemu"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def require_qemu() -> qemu_daemon.QemuTools:
    """The QEMU tools, or fail (CI) / skip (elsewhere) the calling test."""
    try:
        return qemu_daemon.find_qemu()
    except BackendError as err:
        if in_ci():
            pytest.fail(f"CI is set and real QEMU is required: {err}", pytrace=False)
        pytest.skip(f"real QEMU not available: {err}")


def require_emulator() -> Any:
    """``qemu-system-x86_64`` (for -drive and guest writes), or fail (CI) / skip."""
    from optcompare.backends.qemu.emulator import find_emulator

    require_qemu()
    try:
        return find_emulator()
    except BackendError as err:
        if in_ci():
            pytest.fail(f"CI is set and real QEMU is required: {err}", pytrace=False)
        pytest.skip(f"real QEMU not available: {err}")


def require_program(program: str, package: str) -> Any:
    """A server's binary (Debian ``package``), or fail (CI) / skip the calling test.

    Looked up as the tool looks it up: also in /usr/sbin, which a user's PATH
    often lacks (lighttpd, sshd and tgtd live there)."""
    from optcompare.backends.qemu.server import need
    from optcompare.scenario.backend import NotApplicable

    try:
        return str(need(program, package))
    except NotApplicable as missing:
        message = missing.reason
    if in_ci():
        pytest.fail(f"CI is set and {program} is required: {message}", pytrace=False)
    pytest.skip(message)
