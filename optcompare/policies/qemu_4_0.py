"""4.0 as the thread saw it: file-posix dynamic, nothing in the schema says so.

The released 4.0.x also kept the read/write descriptor after the last writer
left (fixed in 4.1 by 094e363944). The model follows the thread and
downgrades, like 4.1.
"""

from __future__ import annotations

from collections.abc import Mapping

from optcompare.model.drivers import Driver
from optcompare.policies.base import (
    FILE_POSIX_DRIVERS,
    Detection,
    Policy,
    Role,
    SignalKind,
    Target,
)


class VersionSniffing(Policy):
    """A libvirt that can only tell 4.0 by its version number (like Ganeti)."""

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        version = target.version()
        dynamic = frozenset(d for d in FILE_POSIX_DRIVERS if d in drivers)
        if version[:2] >= (4, 0):
            return Detection(dynamic, SignalKind.VERSION, "query-version >= 4.0", fragile=True)
        return Detection(frozenset(), SignalKind.VERSION, "query-version < 4.0", fragile=True)


POLICY = VersionSniffing(
    role=Role.RELEASE,
    name="qemu-4.0",
    title='4.0 "so far": file-posix dynamic, nothing to detect',
    source='Markus, 2019-03-31, "Behavior in 4.0 so far"; commit 23dece19da',
    release="4.0",
    version="4.0.0",
    signal=SignalKind.VERSION,
)
