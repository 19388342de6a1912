"""Compatibility findings in words: counts first, then findings by level.

Every sentence of the ``compat`` command is written here, from the typed
findings of :mod:`optcompare.analysis.compat`; :func:`compat_json` is the
command's JSON (DESIGN's shape: each finding with its summary and evidence).
"""

from __future__ import annotations

from collections.abc import Iterable

from optcompare.analysis.compat import Report
from optcompare.analysis.findings import CellSummary, Change, Finding, FindingKind, Level
from optcompare.render.counted import plural
from optcompare.render.document import Document, Paragraph, Preformatted, Table

REOPEN_BY_PATH = (
    "not modelled: a dynamic node reopens its image by path, which breaks a single "
    "read/write descriptor passed through /dev/fdset, images deleted or moved while "
    "open, and chroots"
)


def cell_text(cell: CellSummary) -> str:
    """``rejected (QEMU's message)``, or the mode and what opening each image gives."""
    if cell.error:
        return f"rejected ({cell.error})"
    parts = [cell.mode]
    for label, outcome in (("writable", cell.writable), ("unwritable", cell.unwritable)):
        if outcome is None:
            continue
        text = outcome.error or f"node {'ro' if outcome.ro else 'rw'}, fd {outcome.fd}"
        parts.append(f"{label}: {text}")
    return "; ".join(parts)


_CMDLINE_VERBS = {
    (Change.REJECTED, Level.BREAK): "now rejected",
    (Change.FAILS_TO_OPEN, Level.BREAK): "now fails to open",
    (Change.CHANGED, Level.SILENT): "changes silently",
    (Change.CHANGED, Level.INFO): "changes, announced in the schema",
    (Change.ACCEPTED, Level.INFO): "newly accepted",
}


def summary(f: Finding, policy: str) -> str:
    """One line: what changed for whom (``policy``: the new build)."""
    base = f.against
    if f.kind is FindingKind.CMDLINE:
        return (f"-{f.frontend} {f.options} on {', '.join(f.drivers)} ({f.platform}): "
                f"{_CMDLINE_VERBS[(f.change, f.level)]}")
    if f.kind is FindingKind.WORKFLOW:
        if f.change is Change.FAILS:
            return f"{base}'s libvirt: {f.scenario} met on {base}, fails on {policy}"
        return f"{base}'s libvirt: {f.scenario} now meets on {policy}"
    if f.kind is FindingKind.NEW_CLIENT:
        return f"{policy}'s libvirt on {base}: {f.scenario} fails"
    if f.kind is FindingKind.DETECTION:
        if f.names:
            return f"{policy}'s libvirt believes {', '.join(f.names)} dynamic on {base}"
        return f"{policy}'s libvirt detects no dynamic driver on {base} and stays with -drive"
    verb = "removes" if f.change is Change.REMOVED else "adds"
    return f"the schema {verb} {plural(len(f.names), str(f.options))}"


def _after_text(f: Finding) -> str:
    assert f.after is not None
    text = cell_text(f.after)
    if f.change is Change.ACCEPTED:
        return text
    # -drive names the driver in its rejection: the finding speaks for every driver
    return text.replace(f"'{f.drivers[0]}'", "'<driver>'")


def evidence(f: Finding, policy: str, probes: dict[str, str]) -> tuple[str, ...]:
    """What shows it: both builds' cells, the failing step, the probe, the names."""
    base = f.against
    if f.kind is FindingKind.CMDLINE:
        if f.change is Change.REJECTED:
            before = "accepted"
        elif f.change is Change.ACCEPTED:
            before = "rejected"
        else:
            assert f.before is not None
            before = cell_text(f.before)
        return (f"{base}: {before}", f"{policy}: {_after_text(f)}")
    step = f"step {f.step} ({f.step_text}): {f.why}"
    if f.kind is FindingKind.WORKFLOW:
        return (step,) if f.change is Change.FAILS else (f"on {base}: {step}",)
    if f.kind is FindingKind.NEW_CLIENT:
        return (f"-{f.frontend}; {step}",)
    if f.kind is FindingKind.DETECTION:
        return (probes[base],)
    return (_join(f.names),)


def notes(f: Finding) -> tuple[str, ...]:
    return (REOPEN_BY_PATH,) if f.reopen_by_path else ()


def _join(names: Iterable[str], limit: int = 12) -> str:
    items = list(names)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _probes(report: Report) -> dict[str, str]:
    return {p.against: p.evidence for p in report.probes}


def compat_json(report: Report) -> dict[str, object]:
    """The command's JSON: counts, then every finding with its words."""
    probes = _probes(report)
    return {
        "policy": report.policy,
        "against": list(report.against),
        "counts": {level.value: report.count(level) for level in Level},
        "findings": [
            {"id": f.id, "level": f.level.value,
             "kind": (FindingKind.WORKFLOW if f.kind is FindingKind.NEW_CLIENT
                      else f.kind).value,
             "direction": f.direction.value, "summary": summary(f, report.policy),
             "evidence": list(evidence(f, report.policy, probes)), "notes": list(notes(f)),
             "accepted": f.accepted}
            for f in report.findings
        ],
    }


def findings_blocks(doc: Document, report: Report) -> None:
    probes = _probes(report)
    accepted = sum(f.accepted for f in report.findings)
    head = doc.section(f"{report.policy} against {', '.join(report.against)}")
    head.add(Table(("level", "findings", "accepted"), tuple(
        (level.value, str(report.count(level)),
         str(sum(f.accepted for f in report.findings if f.level is level)))
        for level in Level
    )))
    if accepted:
        head.add(Paragraph(f"{plural(accepted, 'finding')} accepted by the accept file."))
    for level in Level:
        items = [f for f in report.findings if f.level is level]
        if not items:
            continue
        section = doc.section(f"{level.value} ({len(items)})")
        for f in items:
            mark = " (accepted)" if f.accepted else ""
            lines = [f"{summary(f, report.policy)}{mark}", f"  id: {f.id}",
                     f"  direction: {f.direction.value}"]
            lines += [f"  {e}" for e in evidence(f, report.policy, probes)]
            lines += [f"  note: {n}" for n in notes(f)]
            section.add(Preformatted(tuple(lines)))


def compat_view(report: Report) -> Document:
    doc = Document(f"Compatibility of {report.policy}")
    findings_blocks(doc, report)
    return doc
