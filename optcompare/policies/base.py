"""The policy interface: one option of the debate, as data plus a few hooks.

A policy says which options each driver accepts and the values each takes
there (on/off, or an enum's strings), how a combination
resolves to an open mode, what introspection shows, which extra commands
exist, which drivers its signal claims, and how a libvirt written for it
probes (its client strategy). ``Policy.build(platform)`` applies it to a
platform. Everything schema- or scenario-specific derives from these hooks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import field, replace
from enum import StrEnum
from typing import Any, NamedTuple

from optcompare.frozen import frozen
from optcompare.model import capabilities, messages
from optcompare.model.drivers import Driver, Platform, catalogue
from optcompare.model.messages import Wording
from optcompare.model.modes import Behaviour, Mode
from optcompare.model.options import (
    AUTO_READ_ONLY,
    BOOLEAN,
    READ_ONLY,
    Domain,
    Value,
    Written,
    is_boolean,
)

POLICY_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-.][a-z0-9]+)*")
"""The naming rule of every policy, built-in or plugin: kebab-case ASCII, where
a dot may join two parts of a version (``qemu-4.1``, ``option-2``)."""

FILE_POSIX_DRIVERS = ("file", "host_device", "host_cdrom")
"""What the thread calls "file-posix.c's drivers"."""


class Frontend(StrEnum):
    BLOCKDEV = "blockdev"
    DRIVE = "drive"


class Role(StrEnum):
    """What a policy stands for in the debate."""

    RELEASE = "release"
    """A QEMU release: what users had, or what finally shipped."""
    OPTION = "option"
    """One of the thread's three options."""
    PROPOSAL = "proposal"
    """An option from outside the thread's three."""


class SignalKind(StrEnum):
    """Where a client can learn that auto-read-only is dynamic."""

    SCHEMA = "schema"
    COMMAND = "command"
    VERSION = "version"
    NONE = "none"


@frozen
class Member:
    """A member of a synthetic QAPI struct."""

    name: str
    type: str
    optional: bool = True


@frozen
class Command:
    """An extra QMP command of a policy (option 2's query-qemu-features)."""

    name: str
    returns: tuple[Member, ...] = ()
    arguments: tuple[Member, ...] = ()
    ret_struct: str = ""


class Resolution(NamedTuple):
    """What a build makes of options as written on one driver.

    A named tuple: truth tables make hundreds of thousands of them.
    """

    written: dict[str, Value]
    effective: dict[str, Value]
    """Every option that is set, given or by default (a default may leave one unset)."""
    mode: Mode
    error: str | None = None

    @property
    def shorthand(self) -> bool:
        """True when the effective values add to what was written."""
        return self.error is None and self.effective != self.written


@frozen
class Detection:
    """What a client concluded after probing a build."""

    dynamic: frozenset[str]
    signal: SignalKind
    evidence: str
    fragile: bool = False
    blockdev: bool | None = None
    """The frontend for the whole binary (True: -blockdev), where the client
    picks one (the shipped libvirt); None: it picks per driver."""
    missing: tuple[str, ...] = ()
    """What the build lacks that the client needs before it uses -blockdev."""


class Target:
    """What a client can ask a QEMU: its schema, its commands, its version."""

    def probe_each(self, pattern: str, drivers: Mapping[str, Driver]) -> Detection:
        """A schema probe per driver: ``pattern`` with ``{driver}`` filled in."""
        found = frozenset(d for d in drivers if self.has(pattern.format(driver=d)))
        return Detection(found, SignalKind.SCHEMA, pattern)

    def has(self, query: str) -> bool:
        raise NotImplementedError

    def device_properties(self, typename: str) -> tuple[str, ...]:
        """The property names ``device-list-properties`` gives for ``typename``."""
        raise NotImplementedError

    def execute(self, command: str) -> Any:
        raise NotImplementedError

    def version(self) -> tuple[int, int, int]:
        raise NotImplementedError


@frozen
class Policy:
    """One option of the debate. Subclasses override the hooks they need.

    A subclass that only overrides hooks is a frozen dataclass already (it
    inherits the generated methods); one that adds a field is declared
    ``@dataclass(frozen=True)`` itself.
    """

    name: str
    title: str
    source: str
    """Where in the thread (or the history) it comes from."""
    release: str
    """The driver catalogue it builds on (see ``model.drivers``)."""
    version: str
    """What ``query-version`` reports on such a build."""
    auto_option: str | None = AUTO_READ_ONLY
    """The name of the auto-read-only option, None where there is none."""
    drive_defaults_auto: bool = True
    """``-drive`` defaults the auto option on (QEMU does from 3.1)."""
    has_reopen: bool = True
    """``x-blockdev-reopen`` is in the schema (from 4.0)."""
    downgrades: bool = True
    """A dynamic node goes back to a read-only descriptor when its last writer
    leaves (094e363944, 4.1; 4.0.0 kept the read/write one)."""
    claims: tuple[str, ...] = ()
    """The drivers its signal promises are dynamic, where it promises any."""
    signal: SignalKind = SignalKind.NONE
    cacheable: bool = False
    """Whether the signal is a fixed property of the binary (a promise)."""
    wording: Wording = field(default_factory=Wording)
    overrides: tuple[tuple[str, Behaviour], ...] = ()
    """Driver classes changed by a later release (see :meth:`later`)."""
    origin: str = "built-in"
    role: Role = Role.PROPOSAL
    explicit_reopen: bool = False
    """Its libvirt reopens a backing storage node read/write itself around a
    job (Peter's "hands-on approach") instead of relying on dynamic."""

    def __post_init__(self) -> None:
        if not self.wording.era:
            # A release speaks its own wording unless told otherwise (with_wording).
            object.__setattr__(self, "wording", Wording(self.release))

    # -- the build ------------------------------------------------------
    def drivers(self, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
        """The build's drivers; a fresh dict the caller may change."""
        return dict(_drivers(self, platform))

    def build(self, platform: Platform = Platform.POSIX) -> Build:
        # One Build per policy and platform, kept on the (frozen) instance: a
        # build caches its hash and drivers, which every analysis asks for.
        builds: dict[Platform, Build] = self.__dict__.setdefault("_builds", {})
        if platform not in builds:
            builds[platform] = Build(self, platform)
        return builds[platform]

    def later(self, driver: str, behaviour: Behaviour) -> Policy:
        """The same policy in a later release in which ``driver`` changed class."""
        return replace(self, overrides=(*self.overrides, (driver, behaviour)))

    def with_wording(self, era: str) -> Policy:
        return replace(self, wording=Wording(era))

    # -- options and their semantics --------------------------------------
    def base_options(self) -> tuple[str, ...]:
        """Options on the ``BlockdevOptions`` base (every driver)."""
        return (READ_ONLY,) if self.auto_option is None else (READ_ONLY, self.auto_option)

    def driver_options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        """Options of the driver's own options struct."""
        return ()

    def domain(self, option: str, driver: Driver, drivers: Mapping[str, Driver]) -> Domain:
        """The values ``option`` takes on ``driver``: on and off, unless the policy
        makes it an enum (its strings, in the order the schema lists them).

        Drivers that share an options struct must agree on the domains of its
        options (split the struct in :meth:`struct_of` where they do not); a
        base option takes the same values on every driver.
        """
        return BOOLEAN

    def options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        return self.base_options() + self.driver_options(driver, drivers)

    def defaults(self, frontend: Frontend, written: Written) -> dict[str, Value]:
        """Values of options that were not given; an option left out stays unset."""
        values: dict[str, Value] = {READ_ONLY: False}
        if self.auto_option is not None:
            values[self.auto_option] = frontend is Frontend.DRIVE and self.drive_defaults_auto
        return values

    def invalid(self, effective: Written, driver: Driver) -> str | None:
        """The error for a combination this policy rejects, if any."""
        return None

    def mode(self, effective: Written, driver: Driver) -> Mode:
        if effective[READ_ONLY]:
            return Mode.HARD_RO
        if driver.behaviour is Behaviour.SELF_READ_ONLY:
            return driver.behaviour.mode
        if self.auto_option is None or not effective[self.auto_option]:
            return Mode.HARD_RW
        return driver.behaviour.mode

    def resolve(
        self,
        written: Written,
        driver: Driver,
        drivers: Mapping[str, Driver],
        frontend: Frontend = Frontend.BLOCKDEV,
    ) -> Resolution:
        accepted = self.options(driver, drivers)
        written = dict(written)
        if frontend is Frontend.BLOCKDEV and not driver.blockdev:
            return Resolution(written, {}, Mode.ERROR, messages.invalid_parameter(driver.name))
        for name in written:
            if name not in accepted:
                unknown = (
                    messages.drive_unknown_option(driver.name, name, driver.format)
                    if frontend is Frontend.DRIVE else messages.unexpected_parameter(name))
                return Resolution(written, {}, Mode.ERROR, unknown)
            wrong = _outside(name, written[name], self.domain(name, driver, drivers))
            if wrong is not None:
                return Resolution(written, {}, Mode.ERROR, wrong)
        defaults = self.defaults(frontend, written)
        effective = {name: written[name] if name in written else defaults[name]
                     for name in accepted if name in written or name in defaults}
        error = self.invalid(effective, driver)
        if error is not None:
            return Resolution(written, effective, Mode.ERROR, error)
        return Resolution(written, effective, self.mode(effective, driver))

    # -- introspection ----------------------------------------------------
    def struct_of(self, driver: Driver, drivers: Mapping[str, Driver]) -> str:
        """The options struct a driver's ``blockdev-add`` variant uses."""
        return driver.struct

    def struct_features(self, struct: str, members: list[Driver], platform: Platform) -> list[str]:
        """QAPI features on a driver options struct (from 4.1)."""
        return []

    def command_features(self, command: str, platform: Platform) -> tuple[str, ...]:
        """QAPI features of a common command (``human-monitor-command``'s, from 4.2)."""
        return capabilities.command_features(self.release, command)

    def device_properties(self, typename: str, platform: Platform) -> tuple[str, ...]:
        """What ``device-list-properties`` gives for a device (the names libvirt asks about)."""
        return capabilities.device_properties(self.release, typename)

    def commands(self, platform: Platform) -> list[Command]:
        """Extra QMP commands beyond the common block commands."""
        return []

    def command_result(self, command: str, platform: Platform) -> Any:
        """What an extra command returns on a build."""
        raise KeyError(command)

    # -- the client written for this policy (DESIGN section 5) ------------
    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        """How this policy's libvirt probes a QEMU; no probe by default."""
        return Detection(frozenset(), SignalKind.NONE, "no probe")

    def pick_frontend(self, detection: Detection, driver: str) -> Frontend:
        """``frontend = "auto"``: -blockdev only when the probe found ``driver`` dynamic,
        or, for a client that decides for the whole binary, when it said so."""
        if detection.blockdev is not None:
            return Frontend.BLOCKDEV if detection.blockdev else Frontend.DRIVE
        return Frontend.BLOCKDEV if driver in detection.dynamic else Frontend.DRIVE

    def storage_options(self, backing: bool, readonly: bool) -> dict[str, Value]:
        """What this policy's libvirt passes for a protocol node under -blockdev."""
        if self.auto_option is None:
            return {READ_ONLY: True} if backing or readonly else {}
        return {self.auto_option: True}

    def describe(self) -> str:
        return f"{self.name}: {self.title}"


def _outside(name: str, value: Value, domain: Domain) -> str | None:
    """The QAPI visitor's error for a value ``domain`` does not hold, if any."""
    if is_boolean(domain):
        return None if isinstance(value, bool) else messages.invalid_parameter_type(
            name, "boolean")
    if isinstance(value, bool):
        return messages.invalid_parameter_type(name, "string")
    return None if value in domain else messages.invalid_parameter(value)


@functools.lru_cache(maxsize=256)
def _drivers(policy: Policy, platform: Platform) -> dict[str, Driver]:
    drivers = catalogue(policy.release, platform)
    if policy.wording.era != policy.release:
        drivers = {name: d.in_era(policy.wording.era) for name, d in drivers.items()}
    for name, behaviour in policy.overrides:
        if name in drivers and not (
            platform is Platform.WINDOWS and drivers[name].source == "file-win32.c"
        ):
            drivers[name] = replace(drivers[name], behaviour=behaviour)
    return drivers


@frozen
class Build:
    """A policy applied to a platform: its drivers, semantics and schema."""

    policy: Policy
    platform: Platform = Platform.POSIX

    @property
    def name(self) -> str:
        suffix = "" if self.platform is Platform.POSIX else f"@{self.platform}"
        return self.policy.name + suffix

    @functools.cached_property
    def drivers(self) -> dict[str, Driver]:
        """The build's drivers (shared: do not change it; ``policy.drivers()`` copies)."""
        return self.policy.drivers(self.platform)

    @functools.cached_property
    def _hash(self) -> int:
        return hash((self.policy, self.platform))

    def __hash__(self) -> int:
        return self._hash

    def driver(self, name: str) -> Driver:
        return self.drivers[name]

    def options(self, driver: str) -> tuple[str, ...]:
        drivers = self.drivers
        return self.policy.options(drivers[driver], drivers)

    def domains(self, driver: str) -> dict[str, Domain]:
        """Each option of ``driver`` and the values it takes there (shared: do not change it)."""
        known: dict[str, dict[str, Domain]] = self.__dict__.setdefault("_domains", {})
        if driver not in known:
            drivers = self.drivers
            drv = drivers[driver]
            known[driver] = {o: self.policy.domain(o, drv, drivers)
                             for o in self.policy.options(drv, drivers)}
        return known[driver]

    def resolve(
        self, written: Written, driver: str, frontend: Frontend = Frontend.BLOCKDEV
    ) -> Resolution:
        """The policy's resolution, once per written options, driver and frontend: a
        build is frozen and its hooks pure (shared: do not change it)."""
        # The values' types too: True and 1 are equal keys, but 1 is no boolean.
        key = (driver, frontend, *written.items(), *map(type, written.values()))
        resolved: dict[tuple[object, ...], Resolution] = self.__dict__.setdefault(
            "_resolved", {})
        found = resolved.get(key)
        if found is None:
            drivers = self.drivers
            found = resolved[key] = self.policy.resolve(written, drivers[driver], drivers,
                                                        frontend)
        return found
