"""Option 2: 4.0 plus a ``query-qemu-features`` command.

Its return type has an optional member ``file-dynamic-auto-read-only`` that
exists only in POSIX builds and is never false (the thread's promise), so it
shows in ``query-qmp-schema`` too. A later release that makes another driver
dynamic adds a member of its own (``gluster-dynamic-auto-read-only``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optcompare.frozen import frozen
from optcompare.model.drivers import Driver, Platform
from optcompare.model.modes import Behaviour
from optcompare.policies.base import (
    FILE_POSIX_DRIVERS,
    Command,
    Detection,
    Member,
    Policy,
    Role,
    SignalKind,
    Target,
)

COMMAND = "query-qemu-features"
MEMBER = "file-dynamic-auto-read-only"


def feature_member(driver: Driver) -> str:
    group = "file" if driver.source == "file-posix.c" else driver.name
    return f"{group}-dynamic-auto-read-only"


@frozen
class FeaturesCommand(Policy):
    """Option 2: a ``query-qemu-features`` command lists the dynamic drivers."""

    promise: str = "binary"
    """"binary": the value holds for every run of the binary; "run": this run only."""

    def _members(self, platform: Platform) -> list[str]:
        names: list[str] = []
        for driver in self.drivers(platform).values():
            if driver.behaviour is Behaviour.DYNAMIC and feature_member(driver) not in names:
                names.append(feature_member(driver))
        return names

    def commands(self, platform: Platform) -> list[Command]:
        members = tuple(Member(name, "bool") for name in self._members(platform))
        return [Command(COMMAND, returns=members, ret_struct="QemuFeatures")]

    def command_result(self, command: str, platform: Platform) -> Any:
        if command != COMMAND:
            raise KeyError(command)
        return {name: True for name in self._members(platform)}

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        evidence = f"{COMMAND} -> {MEMBER}"
        if not target.has(COMMAND):
            return Detection(frozenset(), SignalKind.COMMAND, evidence)
        result = target.execute(COMMAND)
        if isinstance(result, dict) and result.get(MEMBER) is True:
            claimed = frozenset(d for d in FILE_POSIX_DRIVERS if d in drivers)
            return Detection(claimed, SignalKind.COMMAND, evidence)
        return Detection(frozenset(), SignalKind.COMMAND, evidence)


def make(promise: str = "binary") -> FeaturesCommand:
    if promise not in ("binary", "run"):
        raise ValueError(f"promise must be 'binary' or 'run', not {promise!r}")
    return FeaturesCommand(
        role=Role.OPTION,
        name="option-2",
        title="query-qemu-features reports file-dynamic-auto-read-only",
        source='Markus, 2019-03-31, "Option 2: Add query-qemu-features command"',
        release="4.0",
        version="4.0.0",
        claims=FILE_POSIX_DRIVERS,
        signal=SignalKind.COMMAND,
        cacheable=promise == "binary",
        promise=promise,
    )


POLICY = make()
