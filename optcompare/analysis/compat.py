"""Compatibility: what a policy breaks or silently changes for existing users.

Findings come from enumeration and replay, like an API-break checker:

- every driver, every combination of the baseline's options (each not given
  or one of its values there), both
  platforms, both frontends: accepted before and rejected now is a
  ``break``; accepted by both with another mode or outcome is ``silent``
  unless the new schema advertises the driver (then ``info``); combinations
  only the new build accepts are ``info``;
- the baseline's libvirt replaying the built-in workflows on the new build
  (a workflow that met and now fails is a ``break``), and the new build's
  libvirt on the baseline (does it detect the difference and stay safe);
- schema additions (commands, options, features) are ``info``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path

from optcompare.analysis.findings import (
    Change,
    Direction,
    Finding,
    FindingKind,
    Level,
    SchemaPart,
    summary,
)
from optcompare.analysis.truth_table import (
    Cell,
    Domains,
    driver_outcomes,
    driver_rows,
    evaluate,
)
from optcompare.errors import InputError
from optcompare.frozen import frozen
from optcompare.model.drivers import RELEASES, Platform, catalogue
from optcompare.model.modes import Mode
from optcompare.model.options import combinations, format_options
from optcompare.policies.base import Build, Frontend, Policy
from optcompare.scenario.runner import Outcome
from optcompare.scenario.spec import NATIVE, Scenario

__all__ = ["Change", "Direction", "Finding", "FindingKind", "Level", "Platform", "Probe",
           "Report", "compare", "default_baselines", "read_accept_file", "release_changes"]


@frozen
class Probe:
    """What the new build's libvirt read when it probed a baseline."""

    against: str
    evidence: str
    """The detection's evidence (the query it evaluated, or the policy's own words)."""


@frozen
class Report:
    """A policy against its baselines: every finding and each client probe."""

    policy: str
    against: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    probes: tuple[Probe, ...] = ()

    def count(self, level: Level) -> int:
        return sum(f.level is level for f in self.findings)

    def failing(self, level: Level) -> list[Finding]:
        """Unaccepted findings at ``level`` or worse."""
        return [f for f in self.findings if f.level.rank >= level.rank and not f.accepted]


def default_baselines(policy: Policy, released: Sequence[Policy]) -> list[Policy]:
    """Every released build older than the policy's release."""
    rank = RELEASES.index
    return [p for p in released if rank(p.release) < rank(policy.release)]


def _outcome_key(cell: Cell) -> tuple[object, ...]:
    return (cell.mode, cell.writable, cell.unwritable)


def _stops_opening(before: Cell, after: Cell) -> bool:
    """An image that opened before (writable or unwritable) now fails to open."""
    pairs = ((before.writable, after.writable), (before.unwritable, after.unwritable))
    return any(old is not None and new is not None and old.ok and not new.ok
               for old, new in pairs)


def _named(text: str | None, driver: str | None) -> str | None:
    """-drive names the driver in its rejection: the same words for every driver."""
    return text.replace(f"'{driver}'", "'<driver>'") if text and driver else text


def _shape(cell: Cell, driver: str | None = None) -> tuple[object, ...]:
    """What a finding shows of a cell (see ``render.compat_views.cell_text``): drivers
    whose cells have the same shape are one finding."""
    if cell.resolution.error:
        return (_named(cell.resolution.error, driver),)
    opened = tuple(None if o is None else _named(o.error, driver) or (o.ro, o.fd)
                   for o in (cell.writable, cell.unwritable))
    return (cell.mode, *opened)


def _dynamic(cell: Cell | None) -> bool:
    return cell is not None and not cell.resolution.error and cell.mode is Mode.DYNAMIC_RO


class _Combinations:
    """What ``build`` makes of every combination of the options ``written_for`` has on
    ``driver``, each not given or one of its values (in :func:`_texts`' order).

    The cells are made only when asked for: most drivers' outcomes are the baseline's.
    """

    def __init__(self, build: Build, driver: str, frontend: Frontend, written_for: Build):
        self.build, self.driver, self.frontend = build, driver, frontend
        self.domains = _domains(written_for, driver)
        self.own = written_for is build or self.domains == _domains(build, driver)
        """The build's own options on the driver: the truth table's rows, verdicts shared."""

    @functools.cached_property
    def cells(self) -> tuple[Cell, ...]:
        if self.own:
            return tuple(row.cell for row in driver_rows(self.build, self.driver,
                                                         self.frontend))
        options = tuple(name for name, _ in self.domains)
        return tuple(evaluate(self.build, self.driver, written, self.frontend)
                     for written in combinations(options, dict(self.domains)))

    @functools.cached_property
    def outcomes(self) -> tuple[tuple[object, ...], ...]:
        """Each cell's :func:`_outcome_key`."""
        if self.own:
            return driver_outcomes(self.build, self.driver, self.frontend)
        return tuple(_outcome_key(cell) for cell in self.cells)


# A baseline is compared with every newer policy: its combinations are evaluated once.
_cells = functools.lru_cache(maxsize=4096)(_Combinations)


@functools.lru_cache(maxsize=256)
def _texts(domains: Domains) -> tuple[str, ...]:
    """Each combination :class:`_Combinations` evaluates for ``domains``, as written: the
    text depends on the options and their values only, not on the build."""
    options = tuple(name for name, _ in domains)
    return tuple(format_options(written, options)
                 for written in combinations(options, dict(domains)))


@functools.lru_cache(maxsize=1024)
def _domains(build: Build, driver: str) -> Domains:
    return tuple(build.domains(driver).items())


def release_changes(policy: Policy, ground: Policy | None) -> frozenset[str]:
    """Drivers whose class the policy's release changed after ``ground``'s release.

    Those changes are the release's (4.1's vmdk), not the option's: every
    option built on ``ground`` would have them in that release.
    """
    if ground is None:
        return frozenset()
    rank = RELEASES.index
    if rank(policy.release) <= rank(ground.release):
        return frozenset()
    new, old = catalogue(policy.release), catalogue(ground.release)
    return frozenset(d for d in new if d in old and new[d].behaviour != old[d].behaviour)


_Group = tuple[Level, Change, str, str, str, tuple[object, ...] | None, tuple[object, ...], bool]
"""Level, change, platform, frontend, written options, the cells' shapes, the release's."""


def _changed(before: Cell, after: Cell, driver: str, advertised: bool
             ) -> tuple[Level, Change, tuple[object, ...] | None, tuple[object, ...]] | None:
    """What the baseline's combination does on the new build, when it is a finding:
    its level, change, the before cell's shape (None for a rejection: one finding
    per combination, whatever it did before) and the after cell's."""
    if before.mode is Mode.ERROR:
        return None
    if after.mode is Mode.ERROR:
        return Level.BREAK, Change.REJECTED, None, _shape(after, driver)
    if _stops_opening(before, after):
        level, change = Level.BREAK, Change.FAILS_TO_OPEN
    elif _outcome_key(after) != _outcome_key(before):
        level, change = Level.INFO if advertised else Level.SILENT, Change.CHANGED
    else:
        return None
    return level, change, _shape(before), _shape(after, driver)


def _cmdline(policy: Policy, base: Policy, ground: Policy | None = None) -> list[Finding]:
    from optcompare.analysis.visibility import truth
    from optcompare.schema.conclude import build_advertised

    groups: dict[_Group, list[str]] = {}
    cells: dict[_Group, tuple[Cell, Cell | None]] = {}
    release = release_changes(policy, ground)
    misdescribed: set[tuple[str, str]] = set()
    for platform in Platform:
        new, old = policy.build(platform), base.build(platform)
        newly = build_advertised(new) - build_advertised(old)
        # An advertisement announces a change only when it describes it: it
        # says "dynamic", so the driver must be dynamic on the new build.
        wrong = {d for d in newly if truth(new, d) is not Mode.DYNAMIC_RO}
        misdescribed |= {(platform.value, d) for d in wrong}
        newly -= wrong
        for frontend in Frontend:
            for driver in old.drivers:
                if driver not in new.drivers:
                    continue
                old_domains = _domains(old, driver)
                before = _cells(old, driver, frontend, old)
                after = _cells(new, driver, frontend, old)
                if before.outcomes != after.outcomes:
                    for text, was, now in zip(_texts(old_domains), before.cells, after.cells,
                                              strict=True):
                        found = _changed(was, now, driver, driver in newly)
                        if found is not None:
                            level, change, kept, shape = found
                            group: _Group = (level, change, platform.value, frontend.value,
                                             text, kept, shape, driver in release)
                            groups.setdefault(group, []).append(driver)
                            cells.setdefault(group, (now, None if kept is None else was))
                new_domains = _domains(new, driver)
                if new_domains == old_domains:
                    continue  # no combination the baseline does not have
                seen = set(_texts(old_domains))
                old_options = old.options(driver)
                accepted = _cells(new, driver, frontend, new).cells
                for text, cell in zip(_texts(new_domains), accepted, strict=True):
                    if text in seen or cell.mode is Mode.ERROR:
                        continue
                    if any(k not in old_options for k in cell.resolution.written):
                        group = (Level.INFO, Change.ACCEPTED, platform.value, frontend.value,
                                 text, None, _shape(cell), driver in release)
                        groups.setdefault(group, []).append(driver)
                        cells.setdefault(group, (cell, None))
    findings = []
    for key, drivers in groups.items():
        level, change, platform_name, frontend_name, options, *_, own = key
        after_cell, before_cell = cells[key]
        findings.append(Finding(
            id=f"{base.name}/{level.value}/cmdline/{platform_name}/{frontend_name}/"
               f"{options}/{'+'.join(drivers)}",
            level=level,
            kind=FindingKind.CMDLINE,
            change=change,
            direction=Direction.OLD_ON_NEW,
            against=base.name,
            platform=platform_name,
            frontend=frontend_name,
            options=options,
            drivers=tuple(drivers),
            before=None if before_cell is None else summary(before_cell),
            after=summary(after_cell),
            release=own,
            misdescribed=level is Level.SILENT and all(
                (platform_name, d) in misdescribed for d in drivers),
            reopen_by_path=_dynamic(after_cell) and not _dynamic(before_cell),
        ))
    return findings


def _workflows(policy: Policy, base: Policy, scenarios: Sequence[Scenario]) -> list[Finding]:
    from optcompare.analysis.scenarios import replay

    findings = []
    for scenario in scenarios:
        if scenario.setup.client != NATIVE:
            continue
        before = replay(scenario, base, client=base.name)
        after = replay(scenario, policy, client=base.name)
        if before.outcome is Outcome.MEETS and after.outcome is Outcome.FAILS:
            findings.append(Finding(
                id=f"{base.name}/break/workflow/{scenario.name}",
                level=Level.BREAK, kind=FindingKind.WORKFLOW, change=Change.FAILS,
                direction=Direction.OLD_ON_NEW, against=base.name, frontend=after.frontend,
                scenario=scenario.name, step=after.step, step_text=after.step_text,
                why=after.reason,
            ))
        elif before.outcome is Outcome.FAILS and after.outcome is Outcome.MEETS:
            findings.append(Finding(
                id=f"{base.name}/info/workflow/{scenario.name}",
                level=Level.INFO, kind=FindingKind.WORKFLOW, change=Change.MEETS,
                direction=Direction.OLD_ON_NEW, against=base.name, frontend=before.frontend,
                scenario=scenario.name, step=before.step, step_text=before.step_text,
                why=before.reason,
            ))
        if not any(step.do == "start" for step in scenario.steps):
            continue  # literal command lines: no client decides anything
        # The new libvirt on the old build probes first (frontend auto).
        probing = _probing(scenario)
        on_new = replay(probing, policy, client=policy.name)
        on_old = replay(probing, base, client=policy.name)
        if on_new.outcome is Outcome.MEETS and on_old.outcome is Outcome.FAILS:
            findings.append(Finding(
                id=f"{base.name}/break/new-client/{scenario.name}",
                level=Level.BREAK, kind=FindingKind.NEW_CLIENT, change=Change.FAILS,
                direction=Direction.NEW_ON_OLD, against=base.name, frontend=on_old.frontend,
                scenario=scenario.name, step=on_old.step, step_text=on_old.step_text,
                why=on_old.reason,
            ))
    return findings


def _probing(scenario: Scenario) -> Scenario:
    """``scenario`` with the client picking the frontend: made once, kept on the
    (frozen) scenario, for every policy compared on it."""
    found: Scenario | None = scenario.__dict__.get("_probing")
    if found is None:
        found = scenario.__dict__["_probing"] = replace(
            scenario, setup=replace(scenario.setup, frontend="auto"))
    return found


def _detection(policy: Policy, base: Policy) -> tuple[Finding, Probe]:
    from optcompare.analysis.scenarios import probe, truth

    found = probe(policy, base.build())
    probed = Probe(base.name, found.evidence)
    wrong = sorted(found.dynamic - truth(base))
    if wrong:
        return Finding(
            id=f"{base.name}/break/detection/{'+'.join(wrong)}",
            level=Level.BREAK, kind=FindingKind.DETECTION, change=Change.BELIEVES,
            direction=Direction.NEW_ON_OLD, against=base.name, names=tuple(wrong),
        ), probed
    return Finding(
        id=f"{base.name}/info/detection/safe",
        level=Level.INFO, kind=FindingKind.DETECTION, change=Change.SAFE,
        direction=Direction.NEW_ON_OLD, against=base.name,
    ), probed


@functools.lru_cache(maxsize=64)
def _names(build: Build) -> dict[SchemaPart, frozenset[str]]:
    """The build's commands and events, blockdev-add's members and features (a
    baseline's are read once for every policy compared with it)."""
    from optcompare.schema.builder import build_schema

    entries = build_schema(build)
    by_name = {e["name"]: e for e in entries}
    commands = {e["name"] for e in entries if e["meta-type"] in ("command", "event")}
    add = by_name[by_name["blockdev-add"]["arg-type"]]
    members = {m["name"] for m in add.get("members", [])}
    features: set[str] = set()
    for variant in add.get("variants", []):
        struct = by_name[variant["type"]]
        members |= {f"{variant['case']}.{m['name']}" for m in struct.get("members", [])}
        features |= {f"{variant['case']}: {f}" for f in struct.get("features", [])}
    return {SchemaPart.COMMAND: frozenset(commands), SchemaPart.OPTION: frozenset(members),
            SchemaPart.FEATURE: frozenset(features)}


def _schema(policy: Policy, base: Policy) -> list[Finding]:
    findings = []
    old, new = _names(base.build()), _names(policy.build())
    for what in SchemaPart:
        added, removed = sorted(new[what] - old[what]), sorted(old[what] - new[what])
        if added:
            findings.append(Finding(
                id=f"{base.name}/info/schema/added-{what.value}s",
                level=Level.INFO, kind=FindingKind.SCHEMA, change=Change.ADDED,
                direction=Direction.OLD_ON_NEW, against=base.name, options=what.value,
                names=tuple(added),
            ))
        if removed:
            findings.append(Finding(
                id=f"{base.name}/break/schema/removed-{what.value}s",
                level=Level.BREAK, kind=FindingKind.SCHEMA, change=Change.REMOVED,
                direction=Direction.OLD_ON_NEW, against=base.name, options=what.value,
                names=tuple(removed),
            ))
    return findings


def compare(policy: Policy, baselines: Sequence[Policy], scenarios: Sequence[Scenario],
            accepted: Collection[str] = frozenset(), ground: Policy | None = None
            ) -> Report:
    """``ground``: the build the options were proposed on (qemu-4.0); a driver
    change of a later release is the release's (see :func:`release_changes`)."""
    findings: list[Finding] = []
    probes = []
    for base in baselines:
        detected, probe = _detection(policy, base)
        findings += _cmdline(policy, base, ground) + _workflows(policy, base, scenarios)
        findings += [detected, *_schema(policy, base)]
        probes.append(probe)
    # Made unaccepted (each finding's default): only an accepted one is remade.
    findings = [replace(f, accepted=True) if f.id in accepted else f for f in findings]
    findings.sort(key=lambda f: (-f.level.rank, f.id))
    return Report(policy.name, tuple(b.name for b in baselines), tuple(findings),
                  tuple(probes))


_ID = re.compile(r"^[A-Za-z0-9._/,=+:@()-]+$")


def read_accept_file(path: Path) -> dict[str, int]:
    """Finding ids, one per line (``#`` starts a comment), each with the line that
    first names it."""
    from optcompare.inputs import ACCEPT_LIMIT, read_text

    ids: dict[str, int] = {}
    for number, line in enumerate(read_text(path, ACCEPT_LIMIT).splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not _ID.match(text):
            raise InputError(f"expected one finding id per line, got {text!r}", path=str(path),
                             line=number)
        ids.setdefault(text, number)
    return ids
