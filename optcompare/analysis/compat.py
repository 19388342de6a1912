"""Compatibility: what a policy breaks or silently changes for existing users.

Findings come from enumeration and replay, like an API-break checker:

- every driver, every tri-state combination of the baseline's options, both
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from optcompare.analysis.truth_table import Cell, driver_rows, evaluate
from optcompare.errors import InputError
from optcompare.model.drivers import RELEASES, Platform, catalogue
from optcompare.model.modes import Mode
from optcompare.model.options import combinations, format_options
from optcompare.policies.base import Build, Frontend, Policy
from optcompare.scenario.runner import Outcome
from optcompare.scenario.spec import NATIVE, Scenario


class Level(IntEnum):
    INFO = 1
    SILENT = 2
    BREAK = 3

    @property
    def label(self) -> str:
        return self.name.lower()


REOPEN_BY_PATH_NOTES = (
    "not modelled: a dynamic node reopens its image by path, which breaks a single "
    "read/write descriptor passed through /dev/fdset, images deleted or moved while "
    "open, and chroots",
)


@dataclass(frozen=True)
class Finding:
    id: str
    level: Level
    kind: str
    """cmdline, workflow, detection or schema."""
    direction: str
    """"old client, new build" or "new client, old build"."""
    summary: str
    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    accepted: bool = False
    platform: str | None = None
    frontend: str | None = None
    options: str | None = None
    """The written combination, as text (``(none)``: nothing written)."""
    drivers: tuple[str, ...] = ()
    before: Cell | None = None
    after: Cell | None = None
    scenario: str | None = None
    step: int | None = None
    step_text: str | None = None
    why: str | None = None
    names: tuple[str, ...] = ()
    """Schema names added or removed, drivers wrongly believed dynamic."""
    release: bool = False
    """Caused by a driver change of the policy's release that is not the
    option's (4.1's vmdk): the release's, not the option's."""
    misdescribed: bool = False
    """The schema advertises the driver as dynamic, but it is not: the change
    is not announced (the signal describes it wrongly)."""


@dataclass
class Report:
    policy: str
    against: list[str]
    findings: list[Finding] = field(default_factory=list)

    def count(self, level: Level) -> int:
        return sum(f.level is level for f in self.findings)

    def failing(self, level: Level) -> list[Finding]:
        return [f for f in self.findings if f.level >= level and not f.accepted]


OLD_ON_NEW = "old client, new build"
NEW_ON_OLD = "new client, old build"


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


def _cell_text(cell: Cell) -> str:
    if cell.resolution.error:
        return f"rejected ({cell.resolution.error})"
    parts = [cell.mode.value]
    for label, outcome in (("writable", cell.writable), ("unwritable", cell.unwritable)):
        if outcome is None:
            continue
        text = outcome.error or f"node {'ro' if outcome.ro else 'rw'}, fd {outcome.fd.value}"
        parts.append(f"{label}: {text}")
    return "; ".join(parts)


@functools.lru_cache(maxsize=4096)
def _cells(build: Build, driver: str, frontend: Frontend, options: tuple[str, ...]
           ) -> tuple[tuple[dict[str, bool], str, Cell], ...]:
    """Every combination of ``options`` written on ``driver``, as text, and its cell.

    A baseline is compared with every newer policy: its cells are evaluated once.
    """
    if options == build.options(driver):  # the truth table's rows, verdicts shared
        return tuple((row.written, format_options(row.written, options), row.cell)
                     for row in driver_rows(build, driver, frontend))
    return tuple((written, format_options(written, options),
                  evaluate(build, driver, written, frontend))
                 for written in combinations(options))


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


def _cmdline(policy: Policy, base: Policy, ground: Policy | None = None) -> list[Finding]:
    from optcompare.analysis.visibility import truth
    from optcompare.schema.conclude import build_advertised

    groups: dict[tuple[Any, ...], list[str]] = {}
    cells: dict[tuple[Any, ...], tuple[Cell, Cell | None]] = {}
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
                old_options = old.options(driver)
                before_cells = _cells(old, driver, frontend, old_options)
                after_cells = _cells(new, driver, frontend, old_options)
                seen: set[str] = set()
                for (_, text, before), (_, _, after) in zip(before_cells, after_cells,
                                                            strict=True):
                    seen.add(text)
                    if before.mode is Mode.ERROR:
                        continue
                    if after.mode is Mode.ERROR or _stops_opening(before, after):
                        level = Level.BREAK
                    elif _outcome_key(after) != _outcome_key(before):
                        level = Level.INFO if driver in newly else Level.SILENT
                    else:
                        continue
                    # A rejection is one finding per combination, whatever it did before.
                    rejected = level is Level.BREAK and after.mode is Mode.ERROR
                    before_text = "accepted" if rejected else _cell_text(before)
                    # -drive names the driver in its rejection: group drivers by the
                    # same words all the same.
                    after_text = _cell_text(after).replace(f"'{driver}'", "'<driver>'")
                    key = (level, platform.value, frontend.value, text, before_text,
                           after_text, driver in release)
                    groups.setdefault(key, []).append(driver)
                    cells.setdefault(key, (after, None if level is Level.BREAK else before))
                for written, text, cell in _cells(new, driver, frontend, new.options(driver)):
                    if text in seen or cell.mode is Mode.ERROR:
                        continue
                    if any(k not in old_options for k in written):
                        key = (Level.INFO, platform.value, frontend.value, text, "rejected",
                               _cell_text(cell), driver in release)
                        groups.setdefault(key, []).append(driver)
                        cells.setdefault(key, (cell, None))
    findings = []
    for key, drivers in groups.items():
        level, platform_name, frontend_name, options, before_text, after_text, own = key
        after_cell, before_cell = cells[key]
        verb = {Level.BREAK: "now rejected", Level.SILENT: "changes silently",
                Level.INFO: "changes, announced in the schema"}[level]
        if level is Level.BREAK and before_text != "accepted":
            verb = "now fails to open"
        if before_text == "rejected":
            verb = "newly accepted"
        notes = REOPEN_BY_PATH_NOTES if "dynamic-ro" in after_text and (
            "dynamic-ro" not in before_text) else ()
        findings.append(Finding(
            id=f"{base.name}/{level.label}/cmdline/{platform_name}/{frontend_name}/"
               f"{options}/{'+'.join(drivers)}",
            level=level,
            kind="cmdline",
            direction=OLD_ON_NEW,
            summary=f"-{frontend_name} {options} on {', '.join(drivers)} ({platform_name}): {verb}",
            evidence=(f"{base.name}: {before_text}", f"{policy.name}: {after_text}"),
            notes=notes,
            platform=platform_name,
            frontend=frontend_name,
            options=options,
            drivers=tuple(drivers),
            before=before_cell,
            after=after_cell,
            release=own,
            misdescribed=level is Level.SILENT and all(
                (platform_name, d) in misdescribed for d in drivers),
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
                level=Level.BREAK, kind="workflow", direction=OLD_ON_NEW,
                summary=f"{base.name}'s libvirt: {scenario.name} met on {base.name}, fails on "
                        f"{policy.name}",
                evidence=(f"step {after.step} ({after.step_text}): {after.reason}",),
                scenario=scenario.name, step=after.step, step_text=after.step_text,
                why=after.reason, frontend=after.frontend,
            ))
        elif before.outcome is Outcome.FAILS and after.outcome is Outcome.MEETS:
            findings.append(Finding(
                id=f"{base.name}/info/workflow/{scenario.name}",
                level=Level.INFO, kind="workflow", direction=OLD_ON_NEW,
                summary=f"{base.name}'s libvirt: {scenario.name} now meets on {policy.name}",
                evidence=(f"on {base.name}: step {before.step} ({before.step_text}): "
                          f"{before.reason}",),
                scenario=scenario.name, step=before.step, step_text=before.step_text,
                why=before.reason, frontend=before.frontend,
            ))
        if not any(step.do == "start" for step in scenario.steps):
            continue  # literal command lines: no client decides anything
        # The new libvirt on the old build probes first (frontend auto).
        probing = replace(scenario, setup=replace(scenario.setup, frontend="auto"))
        on_new = replay(probing, policy, client=policy.name)
        on_old = replay(probing, base, client=policy.name)
        if on_new.outcome is Outcome.MEETS and on_old.outcome is Outcome.FAILS:
            findings.append(Finding(
                id=f"{base.name}/break/new-client/{scenario.name}",
                level=Level.BREAK, kind="workflow", direction=NEW_ON_OLD,
                summary=f"{policy.name}'s libvirt on {base.name}: {scenario.name} fails",
                evidence=(f"-{on_old.frontend}; step {on_old.step} ({on_old.step_text}): "
                          f"{on_old.reason}",),
                scenario=scenario.name, step=on_old.step, step_text=on_old.step_text,
                why=on_old.reason, frontend=on_old.frontend,
            ))
    return findings


def _detection(policy: Policy, base: Policy) -> list[Finding]:
    from optcompare.analysis.scenarios import truth
    from optcompare.schema.target import BuildTarget

    old = base.build()
    found = policy.detect(BuildTarget(old), old.drivers)
    wrong = sorted(found.dynamic - truth(base))
    if wrong:
        return [Finding(
            id=f"{base.name}/break/detection/{'+'.join(wrong)}",
            level=Level.BREAK, kind="detection", direction=NEW_ON_OLD,
            summary=f"{policy.name}'s libvirt believes {', '.join(wrong)} dynamic on {base.name}",
            evidence=(found.evidence,), names=tuple(wrong),
        )]
    return [Finding(
        id=f"{base.name}/info/detection/safe",
        level=Level.INFO, kind="detection", direction=NEW_ON_OLD,
        summary=f"{policy.name}'s libvirt detects no dynamic driver on {base.name} and stays "
                f"with -drive",
        evidence=(found.evidence,),
    )]


def _names(build: Build) -> dict[str, set[str]]:
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
    return {"command": commands, "option": members, "feature": features}


def _schema(policy: Policy, base: Policy) -> list[Finding]:
    findings = []
    old, new = _names(base.build()), _names(policy.build())
    for what in ("command", "option", "feature"):
        added, removed = sorted(new[what] - old[what]), sorted(old[what] - new[what])
        if added:
            findings.append(Finding(
                id=f"{base.name}/info/schema/added-{what}s",
                level=Level.INFO, kind="schema", direction=OLD_ON_NEW,
                summary=f"the schema adds {len(added)} {what}(s)", evidence=(_join(added),),
                names=tuple(added), options=what,
            ))
        if removed:
            findings.append(Finding(
                id=f"{base.name}/break/schema/removed-{what}s",
                level=Level.BREAK, kind="schema", direction=OLD_ON_NEW,
                summary=f"the schema removes {len(removed)} {what}(s)",
                evidence=(_join(removed),), names=tuple(removed), options=what,
            ))
    return findings


def _join(names: Iterable[str], limit: int = 12) -> str:
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def compare(policy: Policy, baselines: Sequence[Policy], scenarios: Sequence[Scenario],
            accepted: frozenset[str] = frozenset(), ground: Policy | None = None) -> Report:
    """``ground``: the build the options were proposed on (qemu-4.0); a driver
    change of a later release is the release's (see :func:`release_changes`)."""
    report = Report(policy.name, [b.name for b in baselines])
    for base in baselines:
        found = _cmdline(policy, base, ground) + _workflows(policy, base, scenarios)
        found += _detection(policy, base) + _schema(policy, base)
        report.findings += found
    report.findings = [replace(f, accepted=f.id in accepted) for f in report.findings]
    report.findings.sort(key=lambda f: (-f.level, f.id))
    return report


_ID = re.compile(r"^[A-Za-z0-9._/,=+:@()-]+$")


def read_accept_file(path: Path) -> frozenset[str]:
    """Finding ids, one per line; ``#`` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read accept file: {reason}", path=str(path)) from None
    ids = set()
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if not _ID.match(text):
            raise InputError(f"expected one finding id per line, got {text!r}", path=str(path),
                             line=number)
        ids.add(text)
    return frozenset(ids)


def to_data(report: Report) -> dict[str, Any]:
    return {
        "policy": report.policy,
        "against": report.against,
        "counts": {level.label: report.count(level) for level in sorted(Level, reverse=True)},
        "findings": [
            {"id": f.id, "level": f.level.label, "kind": f.kind, "direction": f.direction,
             "summary": f.summary, "evidence": list(f.evidence), "notes": list(f.notes),
             "accepted": f.accepted}
            for f in report.findings
        ],
    }
