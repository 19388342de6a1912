"""The sections ``report --full`` adds: every truth table, visibility, every
compatibility finding, every scenario outcome and failing trace, the
version-skew matrix, and the MADR block. Laid out to stay within 76 columns.
"""

from __future__ import annotations

from optcompare.analysis import report_model as m
from optcompare.render import report_words as w
from optcompare.render.counted import plural
from optcompare.render.document import Document, Item, Paragraph, Preformatted, Table
from optcompare.render.views import UNSET_LEGEND, Footnotes, option_cell

OUTCOME_MARK = {"meets": "yes", "fails": "no", "not-applicable": "n/a",
                "backend-failure": "ERR"}


def open_cell(outcome: m.Outcome | None, notes: Footnotes) -> str:
    """``ro/ro``: the node's flag, then the descriptor; ``+d``: an access denial."""
    if outcome is None:
        return "-"
    text = (f"ERR {notes.number(outcome.error)}" if outcome.error else
            f"{'ro' if outcome.ro else 'rw'}/{outcome.fd}")
    return text + ("+d" if outcome.denial else "")


def _leaves_unset(tables: tuple[m.TruthTable, ...]) -> bool:
    return any(row.options[o] is None and o not in row.effective
               for table in tables for row in table.rows if not row.error
               for o in table.options)


def truth_rows(table: m.TruthTable, notes: Footnotes) -> tuple[tuple[str, ...], ...]:
    """Each row: the options, the mode, opening a writable and an unwritable image
    (QEMU's messages numbered in ``notes``)."""
    rows = []
    for row in table.rows:
        cells = [option_cell(row.options[o], row.effective.get(o)) for o in table.options]
        mode = f"ERR {notes.number(row.error)}" if row.error else row.mode
        rows.append((*cells, mode, open_cell(row.writable, notes),
                     open_cell(row.unwritable, notes)))
    return tuple(rows)


def _truth_tables(doc: Document, report: m.Report) -> None:
    section = doc.section("Truth tables")
    section.add(Paragraph(
        "Every driver of every policy, -blockdev, POSIX; drivers with identical tables "
        "grouped. Options: on/off as written, (on)/(off) not given and what the default "
        "makes it; " + ", ".join(f"{short} = {name}" for name, short in w.OPTION_SHORT.items())
        + ". Opening a writable (w) and an unwritable (u) image: the node's read-only "
        "flag / the descriptor; +d an access denial; ERR n: QEMU's message n."
        + (UNSET_LEGEND if _leaves_unset(report.truth_tables) else "")))
    for table in report.truth_tables:
        sub = doc.section(f"{table.policy}: {', '.join(table.drivers)}", sub=True)
        notes = Footnotes()
        rows = truth_rows(table, notes)
        sub.add(Table((*(w.option(o) for o in table.options), "mode", "w", "u"), rows,
                      notes=tuple(f"[{i}] {text}" for i, text in enumerate(notes.messages, 1))))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _visibility(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    section = doc.section("Introspection visibility")
    section.add(Paragraph(
        "What the policy's own libvirt can learn, per policy (columns as in the matrix)."))
    vis = report.visibility
    rows = (
        ("signal", *(v.signal for v in vis)),
        ("schema", *(_yes(v.visible_in_schema) for v in vis)),
        ("cacheable", *(_yes(v.cacheable) for v in vis)),
        ("extra cmd", *(str(len(v.extra_commands)) for v in vis)),
        ("detect", *(("fragile" if v.fragile else "yes") if v.detectable else "no"
                     for v in vis)),
        ("grain", *({"per options struct": "struct", "per driver": "driver"}.get(
            v.granularity, v.granularity) for v in vis)),
        ("FP", *(str(len(v.false_positives)) for v in vis)),
        ("FN", *(str(len(v.false_negatives)) for v in vis)),
        ("gluster", *(_yes(v.gluster.learns) if v.gluster else "n/a" for v in vis)),
        ("hard->fb", *(_yes(v.hard_to_fallback.visible) if v.hard_to_fallback else "n/a"
                       for v in vis)),
    )
    section.add(Table(("property", *(labels[v.policy] for v in vis)), rows))
    for v in vis:
        if v.false_positives or v.false_negatives or v.extra_commands:
            parts = []
            if v.extra_commands:
                parts.append(f"runs {w.names(list(v.extra_commands))}")
            if v.false_positives:
                parts.append(f"false positives {', '.join(v.false_positives)}")
            if v.false_negatives:
                parts.append(f"false negatives {', '.join(v.false_negatives)}")
            section.add(Item(f"{v.policy} ({v.evidence}): {'; '.join(parts)}."))


def finding_lines(f: m.Finding) -> list[str]:
    """A finding: its head line, then indented what it keeps (cells, fairness flags)."""
    if f.kind is m.FindingKind.CMDLINE:
        head = (f"-{f.frontend} {f.options} ({f.platform}): {f.change.value} on "
                f"{', '.join(f.drivers)}")
    elif f.kind in (m.FindingKind.WORKFLOW, m.FindingKind.NEW_CLIENT):
        who = (f"{f.against}'s libvirt" if f.direction is m.Direction.OLD_ON_NEW
               else f"the new libvirt on {f.against}")
        head = (f"{f.scenario}: {who} {f.change.value} (step {f.step}, {f.step_text}: "
                f"{f.why})")
    elif f.kind is m.FindingKind.DETECTION:
        head = (f"the new libvirt on {f.against}: " + (
            f"believes {', '.join(f.names)} dynamic" if f.names else "detects nothing, "
            "stays with -drive"))
    else:
        head = f"the schema {f.change.value} {plural(len(f.names), str(f.options))}"
    lines = [head]
    for label, cell in (("before", f.before), ("after", f.after)):
        if cell is not None:
            lines.append(f"  {label}: " + (f"rejected: {cell.error}" if cell.error else
                                           cell.mode))
    if f.release:
        lines.append("  the release's own driver change: does not decide the cell")
    if f.misdescribed:
        lines.append("  advertised as dynamic, which it is not: not an announcement")
    if f.reopen_by_path:
        lines.append("  not modelled: dynamic reopens by path (fd passing, moved "
                     "images, chroots)")
    return lines


def level_lines(c: m.CompatReport, level: m.Level) -> list[str]:
    """The findings of one level, each head line led by the level."""
    lines: list[str] = []
    for f in c.findings:
        if f.level is level:
            first, *rest = finding_lines(f)
            lines += [f"{level.value}: {first}", *rest]
    return lines


def _compat(doc: Document, report: m.Report) -> None:
    if report.compat:
        against = sorted({c.against for c in report.compat})
        doc.section("Compatibility").add(Paragraph(
            f"What {w.names(against)}'s users would meet on each later build: every break "
            "and silent change of meaning, with what it was before and is after; info findings "
            "counted, not listed."))
    for c in report.compat:
        section = doc.section(f"{c.policy} against {c.against}", sub=True)
        section.add(Paragraph(
            f"{c.count(m.Level.BREAK)} break, {c.count(m.Level.SILENT)} silent, "
            f"{c.count(m.Level.INFO)} info (info not listed)."))
        for level in (m.Level.BREAK, m.Level.SILENT):
            lines = level_lines(c, level)
            if lines:
                section.add(Preformatted(tuple(lines)))


def _results(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    section = doc.section("Scenario results")
    builds = list(dict.fromkeys(r.policy for r in report.results))
    scenarios = list(dict.fromkeys(r.scenario for r in report.results))
    index = {(r.scenario, r.policy): r.outcome for r in report.results}

    def column(build: str) -> str:
        name, _, platform = build.partition("@")
        return labels.get(name, name) + ("w" if platform else "")

    rows = []
    for s in scenarios:
        row = [OUTCOME_MARK[index[(s, b)]] if (s, b) in index else None for b in builds]
        if all(value is None for value in row):
            continue
        rows.append((s, *(value or "-" for value in row)))
    posix = [b for b in builds if "@" not in b]
    windows = [b for b in builds if "@" in b]
    section.add(Table(("scenario", *(column(b) for b in posix)), tuple(
        r[:1] + tuple(r[1 + builds.index(b)] for b in posix) for r in rows
        if any(r[1 + builds.index(b)] != "-" for b in posix))))
    if windows:
        section.add(Table(("scenario (windows)", *(column(b) for b in windows)), tuple(
            r[:1] + tuple(r[1 + builds.index(b)] for b in windows) for r in rows
            if any(r[1 + builds.index(b)] != "-" for b in windows))))
    section.add(Paragraph("yes: meets its requirement; no: fails; n/a: not applicable; "
                          "-: not run on that build."))
    failures = doc.section("Scenario failures, with traces")
    for r in report.results:
        if r.outcome != "fails":
            continue
        failures.add(Paragraph(f"{r.scenario} on {r.policy}"
                               + (f" with -{r.frontend}" if r.frontend else "")
                               + f": step {r.step} ({r.step_text}) broke: {r.reason}"))
        failures.add(Preformatted(tuple(w.trace_lines(r))))


def _skew(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    section = doc.section("Version skew: libvirt written for a policy x QEMU build")
    columns, rows, common = w.skew_table(report.skew, labels)
    section.add(Paragraph(
        "Rows: the libvirt written for a policy (legacy: always -drive, never probes). "
        "Columns: the QEMU build. " + w.skew_legend(common)))
    section.add(Table(columns, rows))
    for note in report.skew_notes:
        section.add(Paragraph(w.skew_note(note, len(rows))))


def _considered(doc: Document, report: m.Report) -> None:
    section = doc.section("Considered options")
    for row, info in zip(report.matrix, report.policies, strict=True):
        section.add(Paragraph(f"{info.name}: {info.title}"))
        for point in w.considered_points(row):
            section.add(Item(point))


def sections(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    _truth_tables(doc, report)
    _visibility(doc, report, labels)
    _compat(doc, report)
    _results(doc, report, labels)
    _skew(doc, report, labels)
    _considered(doc, report)
