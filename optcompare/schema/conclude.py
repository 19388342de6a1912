"""What a libvirt-style client concludes from a ``query-qmp-schema`` reply.

Works on any schema, generated or real. It finds:

- the auto-read-only options each driver accepts: those on the
  ``blockdev-add`` base (every driver) and those on a driver's own struct;
- the drivers the schema advertises as dynamic, and how, each with the
  libvirt path query that shows it: a feature on the driver's options
  struct (4.1's ``$dynamic-auto-read-only``), an option of its own
  (option 3's ``*dynamic-read-only``), a member of an extra command's return
  type (option 2's ``query-qemu-features/ret-type/*file-dynamic-auto-read-only``),
  or a renamed option on the base (option 1) with the drivers it claims;
- an auto-read-only *fingerprint*: those facts, restricted to the drivers
  of our catalogue that the schema has;
- the known builds (every registered policy on ``posix`` and ``windows``)
  whose generated schema has the same fingerprint, and, when several do,
  what else in the schema differs between them (commands, events), which
  is not an auto-read-only signal.

Option names, feature names and extra commands are not a fixed list: an
option is an auto-read-only option when a known build has it or its name
mentions ``read-only`` (``read-only`` itself aside); a feature or a return
member counts when its name mentions ``read-only``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from optcompare.frozen import frozen
from optcompare.model.drivers import DRIVER_NAMES, RELEASES, Platform, catalogue
from optcompare.model.options import AUTO_READ_ONLY, READ_ONLY
from optcompare.policies import option_2, registry
from optcompare.policies.base import Build, Policy
from optcompare.schema.builder import schema_index
from optcompare.schema.query import SchemaIndex, path_exists

Entry = dict[str, Any]

BLOCKDEV_ADD = "blockdev-add"



class How(StrEnum):
    """How a schema advertises a driver as dynamic."""

    FEATURE = "feature"
    OWN_OPTION = "own option"
    ENUM_VALUE = "enum value"
    COMMAND_MEMBER = "command member"
    RENAMED_OPTION = "renamed option"


@frozen
class Advert:
    """One way the schema advertises a driver as dynamic."""

    driver: str
    how: How
    name: str
    """The feature, option or member name."""
    query: str
    """The libvirt path query that shows it (it holds on the schema)."""
    shared_with: tuple[str, ...] = ()
    """Other drivers of the same options struct (a feature, an enum option's type
    are per struct)."""
    needs_command: bool = False
    """The value itself is only known by running a command."""



@frozen
class Facts:
    """The auto-read-only facts of one schema: global ones and per driver."""

    general: frozenset[str]
    drivers: dict[str, frozenset[str]]
    """Per driver of the schema (every variant of blockdev-add)."""

    def fingerprint(self, restrict_to: Iterable[str]) -> frozenset[str]:
        """The facts about ``restrict_to`` (a driver it lacks is a fact too)."""
        facts = set(self.general)
        for driver in restrict_to:
            if driver in self.drivers:
                facts |= self.drivers[driver]
            else:
                facts.add(f"{driver}: missing")
        return frozenset(facts)


@frozen
class BuildMatch:
    """One known build compared with the schema."""

    build: str
    consistent: bool
    only_in_schema: tuple[str, ...]
    only_in_build: tuple[str, ...]



@frozen
class OtherDifference:
    """A command or event that some consistent builds have and others lack."""

    name: str
    in_schema: bool
    builds_with: tuple[str, ...]
    builds_without: tuple[str, ...]

    @property
    def agrees_with(self) -> tuple[str, ...]:
        return self.builds_with if self.in_schema else self.builds_without



@frozen
class Conclusion:
    """Everything a libvirt-style client concludes about one schema."""

    source: str
    entries: int
    drivers: tuple[str, ...]
    """Every driver of ``blockdev-add`` in the schema."""
    catalogue_drivers: tuple[str, ...]
    """Those the model's catalogue knows: the fingerprint is about them."""
    base_options: tuple[str, ...]
    """auto-read-only options on the blockdev-add base: every driver has them."""
    own_options: dict[str, tuple[str, ...]]
    """auto-read-only options of a driver's own struct, per driver that has any."""
    adverts: tuple[Advert, ...]
    fingerprint: tuple[str, ...]
    builds: tuple[BuildMatch, ...]
    other_differences: tuple[OtherDifference, ...]
    version: tuple[int, int, int] | None = None
    """What ``query-version`` said, when the schema came from a live QEMU."""

    @property
    def consistent_with(self) -> tuple[str, ...]:
        return tuple(b.build for b in self.builds if b.consistent)

    @property
    def indistinguishable(self) -> bool:
        return len(self.consistent_with) > 1

    @property
    def nearest(self) -> tuple[str, ...]:
        """The known builds with the fewest differing facts."""
        if not self.builds:
            return ()
        distance = {b.build: len(b.only_in_schema) + len(b.only_in_build) for b in self.builds}
        best = min(distance.values())
        return tuple(name for name, d in distance.items() if d == best)



# -- names the known builds use ---------------------------------------------


def known_builds() -> list[Build]:
    """Every registered policy on every platform."""
    return [policy.build(platform) for policy in registry.all_policies() for platform in Platform]


@functools.lru_cache(maxsize=8)
def _known_names(policies: tuple[Policy, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(auto-read-only option names, extra command names) of the known builds."""
    options: set[str] = set()
    commands: set[str] = set()
    for policy in policies:
        for platform in Platform:
            drivers = policy.drivers(platform)
            for driver in drivers.values():
                options.update(policy.options(driver, drivers))
            commands.update(c.name for c in policy.commands(platform))
    options.discard(READ_ONLY)
    return frozenset(options), frozenset(commands)


def _names() -> tuple[frozenset[str], frozenset[str]]:
    return _known_names(tuple(registry.all_policies()))


def is_auto_option(name: str, known: frozenset[str]) -> bool:
    """``known``: the known builds' option names (:func:`_names`, listed once per reading)."""
    return name != READ_ONLY and (name in known or READ_ONLY in name)


def _mentions_read_only(name: str) -> bool:
    return READ_ONLY in name


def _claims_of_option(name: str) -> tuple[str, ...]:
    """The drivers the known policies that renamed auto-read-only to ``name`` claim."""
    claims: list[str] = []
    for policy in registry.all_policies():
        if policy.auto_option == name:
            claims += [d for d in policy.claims if d not in claims]
    return tuple(claims)


def _command_member_drivers(member: str, drivers: Iterable[str]) -> tuple[str, ...]:
    """Drivers a ``<group>-dynamic-auto-read-only`` member speaks for (option 2's naming)."""
    reference = catalogue(RELEASES[-1], Platform.POSIX)
    return tuple(
        d for d in drivers if d in reference and option_2.feature_member(reference[d]) == member
    )


# -- reading a schema ----------------------------------------------------------


@frozen
class _Reading:
    """The raw auto-read-only facts of a schema, before comparison."""

    drivers: tuple[str, ...]
    base_options: tuple[str, ...]
    own_options: dict[str, tuple[str, ...]]
    adverts: tuple[Advert, ...]
    facts: Facts
    names: frozenset[str]
    """Names of the schema's commands and events."""


def _entry(index: SchemaIndex, name: object) -> Entry | None:
    return index.get(name) if isinstance(name, str) else None


def _members(entry: Entry | None) -> list[Entry]:
    if entry is None or not isinstance(entry.get("members"), list):
        return []
    return [m for m in entry["members"] if isinstance(m, dict) and isinstance(m.get("name"), str)]


def _features(entry: Entry | None) -> list[str]:
    if entry is None or not isinstance(entry.get("features"), list):
        return []
    names = []
    for item in entry["features"]:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names


def _is_bool(index: SchemaIndex, member: Entry) -> bool:
    entry = _entry(index, member.get("type"))
    return entry is not None and entry.get("json-type") == "boolean"


DYNAMIC = "dynamic"
"""The enum value that names dynamic read-only."""


def _enum_values(index: SchemaIndex, member: Entry) -> tuple[str, ...]:
    """The values of the member's enum type (none when it is not an enum)."""
    entry = _entry(index, member.get("type"))
    if entry is None or entry.get("meta-type") != "enum":
        return ()
    values = entry.get("values")
    return tuple(v for v in values if isinstance(v, str)) if isinstance(values, list) else ()


def _step(name: str) -> str:
    """A plain member step (a name starting with a non-letter gets a space)."""
    first = name[:1]
    return name if first.isascii() and first.isalpha() else " " + name


def _holds(index: SchemaIndex, query: str) -> str | None:
    """``query`` when it holds on the schema (the probe libvirt would run)."""
    return query if path_exists(index, query) else None


def read(index: SchemaIndex) -> _Reading:
    """The auto-read-only facts of a schema."""
    known, commands = _names()  # the registry is listed once, not for every member
    command = index.get(BLOCKDEV_ADD)
    union = _entry(index, command.get("arg-type")) if command else None
    variants: dict[str, Entry | None] = {}
    if union is not None and isinstance(union.get("variants"), list):
        for variant in union["variants"]:
            if isinstance(variant, dict) and isinstance(variant.get("case"), str):
                variants[variant["case"]] = _entry(index, variant.get("type"))
    drivers = tuple(variants)
    general: set[str] = set()
    per_driver: dict[str, set[str]] = {d: set() for d in drivers}
    adverts: list[Advert] = []

    base_options = tuple(
        m["name"] for m in _members(union)
        if is_auto_option(m["name"], known) and _is_bool(index, m)
    )
    for name in base_options:
        general.add(f"base option {name}")
        if name == AUTO_READ_ONLY:
            continue
        query = _holds(index, f"{BLOCKDEV_ADD}/arg-type/*{name}")
        if query is not None:
            adverts += [
                Advert(d, How.RENAMED_OPTION, name, query)
                for d in _claims_of_option(name)
                if d in variants
            ]

    own_options: dict[str, tuple[str, ...]] = {}
    structs: dict[str, list[str]] = {}
    for driver, struct in variants.items():
        if struct is not None:
            structs.setdefault(struct["name"], []).append(driver)
    for driver, struct in variants.items():
        sharing = tuple(d for d in structs.get(struct["name"], []) if d != driver) if struct else ()
        for feature in _features(struct):
            if not _mentions_read_only(feature):
                continue
            per_driver[driver].add(f"{driver}: feature {feature}")
            query = _holds(index, f"{BLOCKDEV_ADD}/arg-type/+{driver}/${feature}")
            if query is not None:
                adverts.append(Advert(driver, How.FEATURE, feature, query, sharing))
        own = tuple(
            m["name"] for m in _members(struct)
            if is_auto_option(m["name"], known) and _is_bool(index, m)
        )
        if own:
            own_options[driver] = own
        for name in own:
            per_driver[driver].add(f"{driver}: option {name}")
            optional = any(m["name"] == name and "default" in m for m in _members(struct))
            step = f"*{name}" if optional else _step(name)
            query = _holds(index, f"{BLOCKDEV_ADD}/arg-type/+{driver}/{step}")
            if query is not None:
                adverts.append(Advert(driver, How.OWN_OPTION, name, query))
        for member in _members(struct):
            # An enum option of the driver whose values say "dynamic" (a choice
            # per driver, like the read-only-mode proposal): the value is the advert.
            values = _enum_values(index, member)
            if not is_auto_option(member["name"], known) or not values:
                continue
            name = member["name"]
            per_driver[driver].add(f"{driver}: option {name} of {', '.join(values)}")
            step = f"*{name}" if "default" in member else _step(name)
            query = _holds(index, f"{BLOCKDEV_ADD}/arg-type/+{driver}/{step}/^{DYNAMIC}")
            if query is not None:
                adverts.append(Advert(driver, How.ENUM_VALUE, name, query, sharing))

    for name in sorted(commands):
        entry = index.get(name)
        if entry is None or entry.get("meta-type") != "command":
            continue
        general.add(f"command {name}")
        for member in _members(_entry(index, entry.get("ret-type"))):
            if not _mentions_read_only(member["name"]):
                continue
            general.add(f"command {name}: member {member['name']}")
            step = f"*{member['name']}" if "default" in member else _step(member["name"])
            query = _holds(index, f"{name}/ret-type/{step}")
            if query is None:
                continue
            adverts += [
                Advert(d, How.COMMAND_MEMBER, member["name"], query, needs_command=True)
                for d in _command_member_drivers(member["name"], drivers)
            ]

    adverts.sort(key=lambda a: (_order(a.driver), a.how, a.name))
    names = frozenset(e["name"] for e in index.entries if e["meta-type"] in ("command", "event"))
    return _Reading(
        drivers=drivers,
        base_options=base_options,
        own_options=own_options,
        adverts=tuple(adverts),
        facts=Facts(frozenset(general), {d: frozenset(f) for d, f in per_driver.items()}),
        names=names,
    )


def _order(driver: str) -> tuple[int, str]:
    """Catalogue order first, then the others by name."""
    if driver in DRIVER_NAMES:
        return DRIVER_NAMES.index(driver), ""
    return len(DRIVER_NAMES), driver


@functools.lru_cache(maxsize=256)
def _build_reading(build: Build) -> _Reading:
    return read(schema_index(build))


def build_advertised(build: Build) -> frozenset[str]:
    """The drivers a schema-only probe of the build's generated schema finds advertised
    dynamic, any way (cached)."""
    return frozenset(a.driver for a in build_adverts(build))


def build_adverts(build: Build) -> tuple[Advert, ...]:
    """The adverts for drivers the build has: a Windows reply lists host_cdrom,
    gluster, ... (the union is unconditional), but the build cannot open them."""
    return tuple(a for a in _build_reading(build).adverts if a.driver in build.drivers)


# -- comparing with the known builds ------------------------------------------------


def conclude(
    schema: list[dict[str, Any]] | SchemaIndex,
    source: str = "schema",
    builds: list[Build] | None = None,
    version: tuple[int, int, int] | None = None,
) -> Conclusion:
    """What a libvirt-style client concludes about ``schema``."""
    index = schema if isinstance(schema, SchemaIndex) else SchemaIndex(schema)
    reading = read(index)
    ours = tuple(sorted((d for d in reading.drivers if d in DRIVER_NAMES), key=_order))
    fingerprint = reading.facts.fingerprint(ours)
    matches: list[BuildMatch] = []
    consistent: list[Build] = []
    for build in builds if builds is not None else known_builds():
        theirs = _build_reading(build).facts.fingerprint(ours)
        match = BuildMatch(
            build.name,
            bool(ours) and theirs == fingerprint,
            tuple(sorted(fingerprint - theirs)),
            tuple(sorted(theirs - fingerprint)),
        )
        matches.append(match)
        if match.consistent:
            consistent.append(build)
    return Conclusion(
        source=source,
        entries=len(index),
        drivers=tuple(sorted(reading.drivers, key=_order)),
        catalogue_drivers=ours,
        base_options=reading.base_options,
        own_options=dict(sorted(reading.own_options.items(), key=lambda i: _order(i[0]))),
        adverts=reading.adverts,
        fingerprint=tuple(sorted(fingerprint)),
        builds=tuple(matches),
        other_differences=_other_differences(reading.names, consistent),
        version=version,
    )


def _other_differences(names: frozenset[str], builds: list[Build]) -> tuple[OtherDifference, ...]:
    """Commands and events that only some of ``builds`` have."""
    if len(builds) < 2:
        return ()
    having = {b.name: _build_reading(b).names for b in builds}
    everywhere = frozenset.intersection(*having.values())
    somewhere = frozenset.union(*having.values())
    return tuple(
        OtherDifference(
            name,
            name in names,
            tuple(b for b, n in having.items() if name in n),
            tuple(b for b, n in having.items() if name not in n),
        )
        for name in sorted(somewhere - everywhere)
    )
