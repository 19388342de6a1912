"""Option 1: rename auto-read-only; same semantics under a new name, no alias."""

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

DEFAULT_NAME = "auto-read-only-v2"


class Rename(Policy):
    """The new name sits on the BlockdevOptions base: every driver, every platform."""

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        query = f"blockdev-add/arg-type/{self.auto_option}"
        if target.has(query):
            claimed = frozenset(d for d in FILE_POSIX_DRIVERS if d in drivers)
            return Detection(claimed, SignalKind.SCHEMA, query)
        return Detection(frozenset(), SignalKind.SCHEMA, query)


def make(name: str = DEFAULT_NAME) -> Rename:
    return Rename(
        role=Role.OPTION,
        name="option-1",
        title=f"rename auto-read-only to {name}",
        source='Markus, 2019-03-31, "Option 1: Rename @auto-read-only"',
        release="4.0",
        version="4.0.0",
        auto_option=name,
        claims=FILE_POSIX_DRIVERS,
        signal=SignalKind.SCHEMA,
        cacheable=True,
    )


POLICY = make()
