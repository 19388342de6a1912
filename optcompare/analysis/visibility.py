"""The visibility analysis: can a client find out which drivers are dynamic?

For every policy, platform and driver it compares the *truth* (the mode the
build gives the options the policy's libvirt passes under ``-blockdev``)
with what the policy's own client (``Policy.detect``) concludes when it
probes the build through :class:`~optcompare.schema.target.BuildTarget`.
Each property of the signal is measured separately:

- visible in ``query-qmp-schema`` alone: a probe that may only read the
  schema (the client on a :class:`~optcompare.schema.target.SchemaTarget`,
  or, when the client needs more, the schema-only probes of
  :mod:`optcompare.schema.conclude`) reaches the client's answer on both
  platforms;
- cacheable per binary: the policy's promise (``Policy.cacheable``);
- needs an extra command: the client ran a command that is not one of the
  common commands;
- detectable at all: the client finds some dynamic driver; *fragile* when
  it had to ask the version;
- granularity, by perturbation: each driver in turn changes class in a
  later release (hard, fallback or sticky to dynamic; dynamic to fallback),
  and the drivers whose detection changes are recorded. No driver's
  detection following its own change is ``global``; drivers that only move
  together with others of their options struct is ``per options struct``;
  each driver moving alone is ``per driver``; nothing ever detected is
  ``none``;
- false positives and negatives over every driver on both platforms;
- later releases: gluster becomes dynamic (does the unchanged client now
  detect it?), and a hard driver moves to fallback (vmdk, or the next hard
  one): does anything a client can see (the schema, the extra commands'
  results, the client's answer) change at all?
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from optcompare.analysis import shipped
from optcompare.analysis.shipped import ShippedConclusion
from optcompare.errors import OptcompareError
from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.model.modes import Behaviour, Mode
from optcompare.policies.base import Build, Detection, Policy, SignalKind, Target
from optcompare.schema import conclude
from optcompare.schema.builder import COMMON_COMMAND_NAMES, schema_index
from optcompare.schema.target import BuildTarget, SchemaTarget

GLUSTER = "gluster"
HARD_DRIVERS = ("vmdk", "ssh")
"""Candidates for the hard-to-fallback move, first one still hard wins."""

PLATFORMS = (Platform.POSIX, Platform.WINDOWS)


class Granularity(StrEnum):
    NONE = "none"
    GLOBAL = "global"
    PER_STRUCT = "per options struct"
    PER_DRIVER = "per driver"


class Verdict(StrEnum):
    """The client's answer for one driver against the truth."""

    OK = "ok"
    FALSE_POSITIVE = "false positive"
    FALSE_NEGATIVE = "false negative"


class ProbedBy(StrEnum):
    """Who read the schema alone: the policy's own client, or, when it needs more,
    libvirt-style schema probes."""

    CLIENT = "client"
    SCHEMA_PROBES = "schema probes"


class RecordingTarget(Target):
    """A target that remembers what a client asked of it."""

    def __init__(self, inner: Target) -> None:
        self.inner = inner
        self.queries: list[str] = []
        self.commands: list[str] = []
        self.version_asked = False

    def has(self, query: str) -> bool:
        self.queries.append(query)
        return self.inner.has(query)

    def execute(self, command: str) -> Any:
        self.commands.append(command)
        return self.inner.execute(command)

    def version(self) -> tuple[int, int, int]:
        self.version_asked = True
        return self.inner.version()

    def device_properties(self, typename: str) -> tuple[str, ...]:
        self.commands.append("device-list-properties")
        return self.inner.device_properties(typename)


@frozen
class Probe:
    """One run of a policy's client on one build."""

    build: str
    detection: Detection
    queries: int
    commands: tuple[str, ...]
    version_asked: bool

    @property
    def fragile(self) -> bool:
        return self.detection.fragile or self.version_asked

    @property
    def extra_commands(self) -> tuple[str, ...]:
        return tuple(c for c in self.commands if c not in COMMON_COMMAND_NAMES)


def probe(build: Build) -> Probe:
    """Run the build's own client against the build."""
    target = RecordingTarget(BuildTarget(build))
    detection = build.policy.detect(target, build.drivers)
    return Probe(
        build.name,
        detection,
        len(target.queries),
        tuple(target.commands),
        target.version_asked,
    )


@frozen
class SchemaProbe:
    """What a probe that may only read the schema finds."""

    detected: frozenset[str]
    by: ProbedBy
    queries: tuple[str, ...]
    why: str = ""
    """Why the client could not run on the schema alone."""


def schema_probe(build: Build) -> SchemaProbe:
    index = schema_index(build)
    try:
        detection = build.policy.detect(SchemaTarget(index, build.name), build.drivers)
    except OptcompareError as error:
        adverts = conclude.build_adverts(build)
        return SchemaProbe(
            frozenset(a.driver for a in adverts),
            ProbedBy.SCHEMA_PROBES,
            tuple(sorted({a.query for a in adverts})),
            str(error),
        )
    return SchemaProbe(detection.dynamic, ProbedBy.CLIENT, (detection.evidence,))


def truth(build: Build, driver: str) -> Mode:
    """The mode the policy's libvirt gets for a writable disk's protocol node."""
    policy, drivers = build.policy, build.drivers
    written = policy.storage_options(backing=False, readonly=False)
    return policy.resolve(written, drivers[driver], drivers).mode


@frozen
class DriverRow:
    """One driver on one platform: its mode, and whether the client detects and the signal
    claims it dynamic."""

    driver: str
    platform: Platform
    mode: Mode
    detected: bool
    claimed: bool

    @property
    def dynamic(self) -> bool:
        return self.mode is Mode.DYNAMIC_RO

    @property
    def verdict(self) -> Verdict:
        if self.detected and not self.dynamic:
            return Verdict.FALSE_POSITIVE
        if self.dynamic and not self.detected:
            return Verdict.FALSE_NEGATIVE
        return Verdict.OK

    @property
    def label(self) -> str:
        return self.driver if self.platform is Platform.POSIX else f"{self.driver}@{self.platform}"



@frozen
class Later:
    """A later release in which one driver changes class (POSIX build)."""

    driver: str
    before: Behaviour
    after: Behaviour
    dynamic_after: bool
    detected_before: bool
    detected_after: bool
    schema_changed: bool
    results_changed: bool
    answer_changed: bool

    @property
    def visible(self) -> bool:
        """Something a client can see changed (schema, command results, its answer)."""
        return self.schema_changed or self.results_changed or self.answer_changed

    @property
    def learns(self) -> bool:
        """The unchanged client's answer for the driver now matches the truth and changed."""
        return self.detected_after == self.dynamic_after and (
            self.detected_after != self.detected_before
        )



@frozen
class PolicyVisibility:
    """One policy's signal, measured property by property."""

    policy: str
    title: str
    signal: SignalKind
    evidence: str
    probes: tuple[Probe, ...]
    schema_probes: tuple[SchemaProbe, ...]
    rows: tuple[DriverRow, ...]
    visible_in_schema: bool
    cacheable: bool
    extra_commands: tuple[str, ...]
    detectable: bool
    fragile: bool
    granularity: Granularity
    moves: dict[str, tuple[str, ...]]
    """Perturbed driver -> drivers whose detection changed with it."""
    dynamic_anywhere: bool
    gluster: Later | None
    hard_to_fallback: Later | None
    shipped: tuple[ShippedConclusion, ...] = ()
    """What the shipped libvirt concludes on each platform's build."""

    @property
    def needs_extra_command(self) -> bool:
        return bool(self.extra_commands)

    @property
    def false_positives(self) -> tuple[str, ...]:
        return tuple(r.label for r in self.rows if r.verdict is Verdict.FALSE_POSITIVE)

    @property
    def false_negatives(self) -> tuple[str, ...]:
        return tuple(r.label for r in self.rows if r.verdict is Verdict.FALSE_NEGATIVE)

    @property
    def claimed_not_dynamic(self) -> tuple[str, ...]:
        return tuple(r.label for r in self.rows if r.claimed and not r.dynamic)



@frozen
class Visibility:
    """The visibility of every policy analysed."""

    policies: tuple[PolicyVisibility, ...]


# -- measurements ---------------------------------------------------------------


class Probes:
    """Each build's probe, run once: it depends on the build alone (its policy, platform)."""

    def __init__(self) -> None:
        self._known: dict[Build, Probe] = {}

    def __call__(self, build: Build) -> Probe:
        known = self._known.get(build)
        if known is None:
            known = self._known[build] = probe(build)
        return known

    def detected(self, build: Build) -> frozenset[str]:
        return self(build).detection.dynamic


def _flip(behaviour: Behaviour) -> Behaviour:
    return Behaviour.FALLBACK if behaviour is Behaviour.DYNAMIC else Behaviour.DYNAMIC


def granularity(
    policy: Policy, probes: Probes | None = None
) -> tuple[Granularity, dict[str, tuple[str, ...]], bool]:
    """(granularity, moves, ever detected) measured by perturbing each POSIX driver."""
    _detected = (probes or Probes()).detected
    build = policy.build(Platform.POSIX)
    drivers = build.drivers
    base = _detected(build)
    ever = bool(base) or any(_detected(policy.build(p)) for p in PLATFORMS)
    moves: dict[str, tuple[str, ...]] = {}
    for name, driver in drivers.items():
        later = policy.later(name, _flip(driver.behaviour)).build(Platform.POSIX)
        after = _detected(later)
        ever = ever or bool(after)
        changed = base ^ after
        if name in changed:
            moves[name] = tuple(d for d in drivers if d in changed)
    if not ever:
        return Granularity.NONE, moves, False
    if not moves:
        return Granularity.GLOBAL, moves, True
    if any(len(moved) > 1 for moved in moves.values()):
        return Granularity.PER_STRUCT, moves, True
    return Granularity.PER_DRIVER, moves, True


def _results(build: Build) -> dict[str, Any]:
    policy, platform = build.policy, build.platform
    return {c.name: policy.command_result(c.name, platform) for c in policy.commands(platform)}


def later_release(
    policy: Policy, driver: str, behaviour: Behaviour, probes: Probes | None = None
) -> Later | None:
    """The POSIX build of ``policy`` against a later one where ``driver`` is ``behaviour``."""
    _detected = (probes or Probes()).detected
    build = policy.build(Platform.POSIX)
    drivers = build.drivers
    if driver not in drivers:
        return None
    after = policy.later(driver, behaviour).build(Platform.POSIX)
    before_detection = _detected(build)
    after_detection = _detected(after)
    return Later(
        driver=driver,
        before=drivers[driver].behaviour,
        after=behaviour,
        dynamic_after=truth(after, driver) is Mode.DYNAMIC_RO,
        detected_before=driver in before_detection,
        detected_after=driver in after_detection,
        schema_changed=schema_index(build).entries != schema_index(after).entries,
        results_changed=_results(build) != _results(after),
        answer_changed=before_detection != after_detection,
    )


def hard_driver(policy: Policy) -> str | None:
    drivers = policy.drivers(Platform.POSIX)
    for name in HARD_DRIVERS:
        if name in drivers and drivers[name].behaviour is Behaviour.HARD:
            return name
    return None


def analyse(policy: Policy) -> PolicyVisibility:
    """The visibility of one policy's signal."""
    builds = [policy.build(p) for p in PLATFORMS]
    prober = Probes()
    probes = tuple(prober(b) for b in builds)
    schema_probes = tuple(schema_probe(b) for b in builds)
    rows: list[DriverRow] = []
    for build, result in zip(builds, probes, strict=True):
        for name in build.drivers:
            rows.append(DriverRow(
                name,
                build.platform,
                truth(build, name),
                name in result.detection.dynamic,
                name in policy.claims,
            ))
    detected_somewhere = any(p.detection.dynamic for p in probes)
    visible = detected_somewhere and all(
        s.detected == p.detection.dynamic for s, p in zip(schema_probes, probes, strict=True)
    )
    extra = tuple(dict.fromkeys(c for p in probes for c in p.extra_commands))
    detectable = any(r.dynamic and r.detected for r in rows)
    grain, moves, _ever = granularity(policy, prober)
    hard = hard_driver(policy)
    posix = probes[0]
    return PolicyVisibility(
        policy=policy.name,
        title=policy.title,
        signal=posix.detection.signal,
        evidence=posix.detection.evidence,
        probes=probes,
        schema_probes=schema_probes,
        rows=tuple(rows),
        visible_in_schema=visible,
        cacheable=policy.cacheable,
        extra_commands=extra,
        detectable=detectable,
        fragile=detectable and any(p.fragile for p in probes),
        granularity=grain,
        moves=moves,
        dynamic_anywhere=any(r.dynamic for r in rows),
        gluster=later_release(policy, GLUSTER, Behaviour.DYNAMIC, prober),
        hard_to_fallback=(
            later_release(policy, hard, Behaviour.FALLBACK, prober) if hard is not None else None
        ),
        shipped=tuple(shipped.conclude(b) for b in builds),
    )


def visibility(policies: list[Policy]) -> Visibility:
    return Visibility(tuple(analyse(p) for p in policies))
