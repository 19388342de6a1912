"""4.1, what shipped: the QAPI feature ``dynamic-auto-read-only``.

The feature sits on the options struct of each dynamic driver, in POSIX
builds only. ``file``, ``host_device`` and ``host_cdrom`` share that struct,
so host_cdrom is advertised although it is not dynamic. 4.1 also fixed 4.0's
missing downgrade and moved vmdk from hard to fallback.
"""

from __future__ import annotations

from collections.abc import Mapping

from optcompare.model.drivers import Driver, Platform
from optcompare.model.modes import Behaviour
from optcompare.policies.base import Detection, Policy, Role, SignalKind, Target

FEATURE = "dynamic-auto-read-only"


class FeatureFlag(Policy):
    def struct_features(self, struct: str, members: list[Driver], platform: Platform) -> list[str]:
        if platform is Platform.POSIX and any(d.behaviour is Behaviour.DYNAMIC for d in members):
            return [FEATURE]
        return []

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        return target.probe_each(f"blockdev-add/arg-type/+{{driver}}/${FEATURE}", drivers)


POLICY = FeatureFlag(
    role=Role.RELEASE,
    name="qemu-4.1",
    title="feature flag dynamic-auto-read-only on the file struct",
    source="QEMU 4.1.0, commits 6a8c0b5102, c9d4070991, 094e363944",
    release="4.1",
    version="4.1.0",
    signal=SignalKind.SCHEMA,
    cacheable=True,
)
