"""An example optcompare plugin: the policy ``read-only-mode``.

One enum option instead of the booleans. Markus counted option 3 as
"three bools (...) to select from four choices"; this proposal lets a new
client say the choice itself, per driver:

- ``read-only-mode`` is a member of every driver's options struct. Its type
  is an enum of what that driver implements: ``off`` (hard read/write) and
  ``on`` (hard read-only) everywhere, plus ``fallback`` on the fallback
  drivers or ``dynamic`` on the dynamic ones (4.0's file and host_device).
  Drivers that share a struct but implement different choices get structs
  of their own, so ``dynamic`` in a driver's enum is the introspectable
  signal, and a driver that learns a new choice later shows it there.
- ``read-only`` and ``auto-read-only`` stay as 4.0 has them, for the
  clients that already use them; ``read-only-mode`` cannot be combined with
  either. Without it, nothing changes.
- The libvirt written for it probes
  ``blockdev-add/arg-type/+DRIVER/*read-only-mode/^dynamic`` per driver,
  uses ``-blockdev`` where that holds, and opens its storage nodes
  ``read-only-mode=dynamic`` (``on`` for a read-only disk).

It registers itself in ``pyproject.toml``::

    [project.entry-points."optcompare.policies"]
    "read-only-mode" = "optcompare_read_only_mode:POLICY"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from optcompare.model.drivers import Driver
from optcompare.model.modes import Behaviour, Mode
from optcompare.model.options import AUTO_READ_ONLY, BOOLEAN, READ_ONLY, Domain, Value, Written
from optcompare.policies.base import Detection, Frontend, Policy, Role, SignalKind, Target

__all__ = ["CHOICES", "POLICY", "PROBE", "READ_ONLY_MODE", "ReadOnlyMode", "make"]

READ_ONLY_MODE = "read-only-mode"

CHOICES: dict[str, Mode] = {
    "off": Mode.HARD_RW,
    "on": Mode.HARD_RO,
    "fallback": Mode.FALLBACK_RO,
    "dynamic": Mode.DYNAMIC_RO,
}
"""Every value the enum may have, in the schema's order, and the mode it selects."""

PROBE = f"blockdev-add/arg-type/+{{driver}}/*{READ_ONLY_MODE}/^dynamic"
"""The client's probe, per driver."""

_IMPLEMENTS: dict[Behaviour, tuple[str, ...]] = {
    Behaviour.HARD: ("off", "on"),
    Behaviour.FALLBACK: ("off", "on", "fallback"),
    Behaviour.DYNAMIC: ("off", "on", "dynamic"),
    # host_cdrom's 4.0 quirk (read-only, never upgraded) is no choice to offer.
    Behaviour.STICKY: ("off", "on"),
    # 3.0's read-only formats turn read/write into read-only themselves.
    Behaviour.SELF_READ_ONLY: ("on", "fallback"),
}


def choices(driver: Driver) -> tuple[str, ...]:
    """What ``driver`` implements: the values of its ``read-only-mode`` enum."""
    return _IMPLEMENTS[driver.behaviour]


def rejection() -> str:
    """The model's wording: the proposal was never implemented, so QEMU has none."""
    return f"{READ_ONLY_MODE} cannot be combined with {READ_ONLY} or {AUTO_READ_ONLY}"


@dataclass(frozen=True)
class ReadOnlyMode(Policy):
    """4.0's booleans for old clients, one per-driver enum for new ones."""

    def driver_options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        return (READ_ONLY_MODE,)

    def domain(self, option: str, driver: Driver, drivers: Mapping[str, Driver]) -> Domain:
        return choices(driver) if option == READ_ONLY_MODE else BOOLEAN

    def defaults(self, frontend: Frontend, written: Written) -> dict[str, Value]:
        """Given ``read-only-mode``, the booleans stay unset; otherwise 4.0's defaults
        (and ``read-only-mode`` stays unset)."""
        if READ_ONLY_MODE in written:
            return {}
        return super().defaults(frontend, written)

    def invalid(self, effective: Written, driver: Driver) -> str | None:
        if READ_ONLY_MODE in effective and (READ_ONLY in effective
                                            or AUTO_READ_ONLY in effective):
            return rejection()
        return None

    def mode(self, effective: Written, driver: Driver) -> Mode:
        chosen = effective.get(READ_ONLY_MODE)
        if chosen is None:
            return super().mode(effective, driver)
        return CHOICES[str(chosen)]

    def struct_of(self, driver: Driver, drivers: Mapping[str, Driver]) -> str:
        """A struct whose drivers implement different choices is split by choice."""
        sharing = {choices(d) for d in drivers.values() if d.struct == driver.struct}
        if len(sharing) == 1:
            return driver.struct
        extra = [c for c in choices(driver) if c not in ("off", "on")]
        return driver.struct + "".join(c.title() for c in extra)

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        return target.probe_each(PROBE, drivers)

    def storage_options(self, backing: bool, readonly: bool) -> dict[str, Value]:
        """``dynamic`` for every storage node (it uses -blockdev only where the probe
        found it), ``on`` for a read-only disk."""
        if readonly:
            return {READ_ONLY_MODE: "on"}
        return {READ_ONLY_MODE: "dynamic"}


def make() -> ReadOnlyMode:
    return ReadOnlyMode(
        role=Role.PROPOSAL,
        name="read-only-mode",
        title="one per-driver enum read-only-mode (off, on, fallback, dynamic)",
        source=(
            "Markus, 2019-03-31, \"Let's review our options for 4.0\", option 3's CON: "
            "\"three bools (...) to select from four choices\""
        ),
        release="4.0",
        version="4.0.0",
        signal=SignalKind.SCHEMA,
        cacheable=True,
    )


POLICY = make()
