"""Option 3: ``dynamic-read-only`` on the drivers that provide dynamic.

It defaults to the value of ``auto-read-only``. Only the default is
implemented, so the thread's eight cases below are the whole semantics: a
combination is either one of the four that existed before, or an error.
"""

from __future__ import annotations

from collections.abc import Mapping

from optcompare.frozen import frozen
from optcompare.model.drivers import Driver
from optcompare.model.modes import Behaviour
from optcompare.model.options import (
    AUTO_READ_ONLY,
    DYNAMIC_READ_ONLY,
    READ_ONLY,
    Value,
    Written,
    on_off,
)
from optcompare.policies.base import Detection, Frontend, Policy, Role, SignalKind, Target

VALID = None
REJECTED = "rejected"

# (read-only, auto-read-only, dynamic-read-only) for drivers that have the
# option, as in Markus' mail, "three bools -> eight cases".
EIGHT_CASES: dict[tuple[bool, bool, bool], str | None] = {
    (True, False, False): VALID,  # read-only=on: hard read-only
    (True, True, True): VALID,  # read-only=on,auto-read-only=on: hard read-only
    (False, False, False): VALID,  # read-only=off: hard read-write
    (False, True, True): VALID,  # read-only=off,auto-read-only=on: the driver's class
    (False, True, False): REJECTED,
    (False, False, True): REJECTED,
    (True, False, True): REJECTED,
    (True, True, False): REJECTED,
}


def rejection(auto: bool, dynamic: bool) -> str:
    """The model's wording; option 3 was never implemented, so QEMU has none."""
    return (
        f"{DYNAMIC_READ_ONLY}={on_off(dynamic)} is not supported with "
        f"{AUTO_READ_ONLY}={on_off(auto)}"
    )


@frozen
class DynamicParameter(Policy):
    """Option 3: a ``dynamic-read-only`` parameter on the drivers that reopen on demand."""

    shared_struct: bool = False
    """False (the thread's promise): only dynamic drivers get the option, so
    host_cdrom needs an options struct of its own. True: the option sits on
    the struct that file, host_device and host_cdrom share."""

    def _has_option(self, driver: Driver, drivers: Mapping[str, Driver]) -> bool:
        if driver.behaviour is Behaviour.DYNAMIC:
            return True
        if not self.shared_struct:
            return False
        return any(
            d.behaviour is Behaviour.DYNAMIC and d.struct == driver.struct for d in drivers.values()
        )

    def driver_options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        return (DYNAMIC_READ_ONLY,) if self._has_option(driver, drivers) else ()

    def defaults(self, frontend: Frontend, written: Written) -> dict[str, Value]:
        values = super().defaults(frontend, written)
        values[DYNAMIC_READ_ONLY] = written.get(AUTO_READ_ONLY, values[AUTO_READ_ONLY])
        return values

    def invalid(self, effective: Written, driver: Driver) -> str | None:
        if DYNAMIC_READ_ONLY not in effective:
            return None
        case = (bool(effective[READ_ONLY]), bool(effective[AUTO_READ_ONLY]),
                bool(effective[DYNAMIC_READ_ONLY]))
        if EIGHT_CASES[case] is REJECTED:
            return rejection(case[1], case[2])
        return None

    def struct_of(self, driver: Driver, drivers: Mapping[str, Driver]) -> str:
        """Drivers of one struct split it when some have the option and others not."""
        first: bool | None = None
        for other in drivers.values():
            if other.struct != driver.struct:
                continue
            has = self._has_option(other, drivers)
            if first is None:
                first = has
            elif has != first:
                suffix = "Dynamic" if self._has_option(driver, drivers) else "Static"
                return driver.struct + suffix
        return driver.struct

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        return target.probe_each(f"blockdev-add/arg-type/+{{driver}}/*{DYNAMIC_READ_ONLY}",
                                 drivers)


def make(shared_struct: bool = False) -> DynamicParameter:
    variant = " (on the shared file struct)" if shared_struct else ""
    return DynamicParameter(
        role=Role.OPTION,
        name="option-3",
        title=f"dynamic-read-only on dynamic drivers{variant}",
        source='Markus, 2019-03-31, "Option 3: Add @dynamic-read-only"',
        release="4.0",
        version="4.0.0",
        signal=SignalKind.SCHEMA,
        cacheable=True,
        shared_struct=shared_struct,
    )


POLICY = make()
