"""The report as a Document: the reply first, then (``--full``) every section.

The reply: the decision with counted figures, the verdict matrix (criteria
as rows, short policy labels with a legend), short evidence, provenance.
Every sentence is written here or in :mod:`optcompare.render.report_words`.
"""

from __future__ import annotations

from optcompare.analysis import report_model as m
from optcompare.model.options import Value, value_text
from optcompare.render import report_words as w
from optcompare.render.counted import plural
from optcompare.render.document import Document, Item, Paragraph, Preformatted, Section, Table
from optcompare.render.views import Footnotes

TITLE = "auto-read-only for 4.0: which option (optcompare report)"


def _cell_text(cell: m.Cell, notes: Footnotes) -> str:
    """The mark, and the number of its note when it needs a reason (n/a is
    explained once, under the matrix)."""
    text = w.note(cell)
    if text is None or cell.mark is m.Mark.NA:
        return cell.mark.value
    return f"{cell.mark.value}{notes.number(text)}"


def _not_applicable(report: m.Report, labels: dict[str, str], shown: set[str]) -> str:
    groups: dict[str, list[str]] = {}
    for row in report.matrix:
        for cell in row.cells:
            if cell.mark is m.Mark.NA and cell.criterion in shown:
                why = w.reason(cell) or "does not apply"
                groups.setdefault(why, [])
                if labels[row.policy] not in groups[why]:
                    groups[why].append(labels[row.policy])
    return "n/a: " + "; ".join(f"{why} ({', '.join(who)})" for why, who in groups.items()) + "."


# -- the decision -------------------------------------------------------------------


def _decision(doc: Document, report: m.Report) -> None:
    d = report.decision
    section = doc.section("Decision")
    thread = [c.id for c in report.criteria if c.origin is m.Origin.THREAD]
    failing = [p.name for p in report.policies if p.name not in d.meets_thread]
    requirements = f"the thread's requirements ({w.names([w.title(c) for c in thread])})"
    if d.policies == 1:
        only = report.policies[0].name
        text = (f"The one build measured, {only}, "
                f"{'meets' if d.meets_thread else 'does not meet'} both of {requirements}.")
    else:
        text = (f"Of the {d.policies} builds measured, {len(d.meets_thread)} "
                f"{'meets' if len(d.meets_thread) == 1 else 'meet'} both of "
                f"{requirements}: {w.names(list(d.meets_thread)) or 'none'}.")
    by_loss: dict[tuple[str, ...], list[str]] = {}
    for name in failing:
        lost = tuple(c for c in thread if report.cell(name, c).mark is m.Mark.NO)
        by_loss.setdefault(lost, []).append(name)
    for lost, who in by_loss.items():
        if lost:
            text += (f" {w.names(who)} {'fails' if len(who) == 1 else 'fail'} "
                     f"{w.names([w.short(c) for c in lost])}.")
    section.add(Paragraph(text))
    if d.non_dominated and d.policies > 1:
        text = f"Not dominated: {w.names(list(d.non_dominated))}."
        by: dict[tuple[str, ...], list[str]] = {}
        for x in d.dominated:
            by.setdefault(x.by, []).append(x.policy)
        for winners, losers in by.items():
            text += (f" {w.names(list(winners))} "
                     f"{'dominates' if len(winners) == 1 else 'each dominate'} "
                     f"{w.names(losers)}")
            text += ("." if len(by) > 1 or not d.dominated else
                     f" (at least as good on each of the {len(d.deciding)} deciding "
                     f"criteria, better on one).")
        if len(d.trade_offs) > 1:
            text += " The trade-off between them:"
        section.add(Paragraph(text))
    if len(d.trade_offs) > 1:
        for t in d.trade_offs:
            section.add(Item(_trade_off(report, t)))
    shipped = _shipped(report)
    if shipped:
        section.add(Paragraph(shipped))
    unsolved = [c for c in d.common if c.mark is m.Mark.NO]
    done = [c for c in d.common if c.mark is m.Mark.YES]
    if unsolved or d.unmet_everywhere:
        section.add(Paragraph("What no option solves:"))
        for c in unsolved:
            section.add(Item(_common(report, c)))
        for scenario in d.unmet_everywhere:
            section.add(Item(_unmet(report, scenario)))
    if done:
        section.add(Paragraph("What every option does: " + "; ".join(
            f"{w.title(c.criterion)} ({c.applies_to} of {d.policies})" for c in done) + "."))


def _unmet(report: m.Report, scenario: str) -> str:
    """A scenario no build meets: where it breaks, the most common reason first, then
    each build that breaks for another reason."""
    why: dict[tuple[int | None, str | None, str | None], list[str]] = {}
    for r in report.results:
        if r.scenario == scenario and r.outcome == "fails":
            why.setdefault((r.step, r.step_text, r.reason), []).append(r.policy)
    ranked = sorted(why.items(), key=lambda item: -len(item[1]))
    (step, text, reason), _ = ranked[0]
    about = next((f", {s.summary}," for s in report.provenance.scenarios
                  if s.name == scenario), "")
    found = f"{scenario}{about} fails on every build: step {step} ({text}): {reason}"
    for (other_step, other_text, other_reason), policies in ranked[1:]:
        where = "" if (other_step, other_text) == (step, text) else (
            f" at step {other_step} ({other_text})")
        found += f"; {w.names(policies)}{where}: {other_reason}"
    return found + "."


def _trade_off(report: m.Report, t: m.TradeOff) -> str:
    text = t.policy + _role(report.policy(t.policy).role)
    if t.wins:
        text += f" wins on {w.names([w.short(c) for c in t.wins])}"
    losses = []
    for criterion in t.loses:
        why = w.brief(report.cell(t.policy, criterion))
        losses.append(f"{w.short(criterion)} ({why})" if why else w.short(criterion))
    if losses:
        # Each loss may carry a reason with commas in it, so three or more are
        # separated by semicolons.
        listed = (" and ".join(losses) if len(losses) < 3
                  else "; ".join(losses[:-1]) + "; and " + losses[-1])
        text += (" but loses on " if t.wins else " loses on ") + listed
    return text + "."


def _shipped(report: m.Report) -> str | None:
    """The libvirt that shipped, beside the ideal client each column measures."""
    if not any(c.id == "shipped-libvirt" for c in report.criteria):
        return None
    text = ("Each column measures the ideal libvirt for its option; the libvirt that "
            "shipped asks one +file question for every protocol: ")
    parts = []
    for row in report.matrix:
        cell = report.cell(row.policy, "shipped-libvirt")
        r = cell.reason
        if not isinstance(r, m.ShippedMisread):
            continue
        part = f"on {row.policy} it holds"
        if r.missing:
            part += f" (-drive until {w.names(r.missing)})"
        wrong = len(r.wrongly_dynamic) + len(r.missed) + len(r.rejected)
        part += (f" and -blockdev would misread {plural(wrong, 'protocol')}"
                 if wrong else " and -blockdev reads every protocol right")
        parts.append(part)
    if not parts:
        return text + "its probe fails on every build here, so it stays on -drive."
    rest = "; elsewhere it fails (-drive)." if len(parts) < len(report.matrix) else "."
    return text + "; ".join(parts) + rest


def _role(role: m.Role) -> str:
    return {m.Role.RELEASE: " (a release)", m.Role.PROPOSAL: " (from outside the thread)",
            m.Role.OPTION: ""}[role]


def _common(report: m.Report, c: m.Common) -> str:
    reasons: list[str] = []
    for row in report.matrix:
        cell = next(x for x in row.cells if x.criterion == c.criterion)
        text = w.reason(cell) if cell.mark is not m.Mark.NA else None
        if text and text not in reasons:
            reasons.append(text)
    head = f"{w.short(c.criterion)}, {c.applies_to} of {report.decision.policies} no"
    return head + (f": {reasons[0]}" if reasons else "") + "."


# -- the matrix ---------------------------------------------------------------------


def _matrix(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    section = doc.section("Verdict matrix")
    common = {c.criterion for c in report.decision.common}
    notes = Footnotes()
    rows = []
    marks: list[tuple[str | None, ...]] = []
    for criterion in report.criteria:
        if criterion.id in common:
            continue
        position = report.criteria.index(criterion)
        cells = [_cell_text(row.cells[position], notes) for row in report.matrix]
        star = "*" if criterion.origin is m.Origin.THREAD else ""
        rows.append((w.short(criterion.id) + star, *cells))
        marks.append((None, *(row.cells[position].mark.value for row in report.matrix)))
    shown = {c.id for c in report.criteria if c.id not in common}
    section.add(Table(("criterion", *(labels[r.policy] for r in report.matrix)),
                      tuple(rows), notes=(*notes.notes(), _not_applicable(report, labels, shown)),
                      marks=tuple(marks)))
    section.add(Paragraph("Columns: " + "; ".join(
        f"{labels[p.name]} {p.name}" for p in report.policies) + "."))
    section.add(Paragraph("Rows (*: the thread's requirements; the rest derived from "
                          "them): " + "; ".join(
                              f"{w.short(c.id)}: {w.title(c.id)}" for c in report.criteria
                              if c.id not in common) + "."))
    section.add(Paragraph(w.FAIRNESS))


# -- evidence ---------------------------------------------------------------------------


def _evidence(doc: Document, report: m.Report, labels: dict[str, str], *, brief: bool) -> None:
    section = doc.section("Evidence")
    groups: dict[tuple[object, ...], list[m.Evidence]] = {}
    for e in report.evidence:
        key = (e.criterion, e.run.scenario, e.run.step, e.run.reason)
        groups.setdefault(key, []).append(e)
    for items in groups.values():
        run = items[0].run
        who = w.names([e.policy for e in items])
        section.add(Paragraph(f"{who} {'fails' if len(items) == 1 else 'fail'} "
                              f"{w.short(items[0].criterion)} in {run.scenario}; the "
                              f"steps on {run.policy}:"))
        section.add(Preformatted(tuple(w.trace_lines(run, brief=brief))))
    same = [t for t in report.file_diffs if not t.rows]
    only_new = [t for t in report.file_diffs if t.rows and not _comparable(t)]
    comparable = [t for t in report.file_diffs if _comparable(t)]
    if comparable:
        _file_diffs(section, comparable, labels)
    text = ""
    if only_new:
        text = "Rows that differ only by options the baseline lacks: " + "; ".join(
            f"{t.policy} {len(t.rows)} ({sum(r.mode == 'error' for r in t.rows)} "
            f"rejected)" for t in only_new) + "."
    if same:
        text += (" " if text else "") + "No row differs: " + w.names(
            [t.policy for t in same]) + "."
    if text:
        section.add(Paragraph(text))


def _search(doc: Document, report: m.Report) -> None:
    from optcompare.render.explore_files import file_name
    from optcompare.render.explore_views import PROPERTY_TITLES

    found = report.search
    if found is None:
        return
    section = doc.section("Found by search")
    text = (f"optcompare explore tried every workflow of up to {found.depth} steps on 1 "
            f"to {found.images} images with every labelling at start ({found.states} "
            f"states, {found.steps} steps): {found.violations} counterexamples (a "
            f"policy violating a property), ")
    if not found.unshown:
        text += "each also shown by a built-in scenario's run."
    else:
        text += f"{found.shown} also shown by a built-in scenario's run; by none:"
    section.add(Paragraph(text))
    # The reply keeps one counterexample with its trace (the shortest, first);
    # the others are a line each, in full with --full.
    shown = found.unshown if report.full else found.unshown[:1]
    rest = [] if report.full else found.unshown[1:]
    for item in shown:
        labels = ", ".join(f"{i.image} {'writable' if i.writable else 'read-only'}"
                           for i in item.labels)
        disk = "a read-only disk" if item.readonly else "a disk"
        section.add(Paragraph(
            f"{item.policy} violates {item.property} ({PROPERTY_TITLES[item.property]}) on "
            f"{disk} labelled {labels} at start; explore --emit writes it as "
            f"{file_name(item.policy, item.property)}:"))
        lines = [f"{n}. {t.step} -> " + (f"ERR {t.message}" if t.result == "error"
                                          else t.result)
                 for n, t in enumerate(item.trace, 1)]
        if item.image is not None:
            seen = item.image
            lines.append(f"   {seen.name}: label "
                         f"{'writable' if seen.writable else 'read-only'}, fd {seen.fd}"
                         + (f", denials {seen.denials}" if seen.denials else ""))
        section.add(Preformatted(tuple(lines)))
    if rest:
        by_policy: dict[str, list[str]] = {}
        for item in rest:
            by_policy.setdefault(item.policy, []).append(item.property)
        section.add(Paragraph("Also by none (--full shows each): " + "; ".join(
            f"{policy} violates {w.names(props)}" for policy, props in by_policy.items())
            + "."))


def _comparable(table: m.TruthTable) -> list[m.TruthRow]:
    """Rows the baseline accepts too."""
    return [r for r in table.rows if r.baseline is not None and r.baseline.mode != "error"]


def _file_diffs(section: Section, tables: list[m.TruthTable], labels: dict[str, str]) -> None:
    """One table of every comparable row: policy, baseline, options, both modes."""
    notes = Footnotes()
    rows = []
    for table in tables:
        for r in _comparable(table):
            assert r.baseline is not None
            rows.append((labels.get(table.policy, table.policy),
                         labels.get(table.baseline or "-", table.baseline or "-"),
                         _written(r.options),
                         _mode(r.baseline.mode, r.baseline.error, notes)
                         + " -> " + _mode(r.mode, r.error, notes)))
    section.add(Paragraph("file rows whose mode differs from the baseline's (each option "
                          "against the release it was proposed for, each release against "
                          "the one before):"))
    section.add(Table(("column", "against", "options", "mode"),
                      tuple(rows), notes=notes.notes()))


def _written(options: dict[str, Value | None]) -> str:
    given = [f"{w.option(k)}={value_text(v)}" for k, v in options.items() if v is not None]
    return ",".join(given) or "(none)"


def _mode(mode: str, error: str | None, notes: Footnotes) -> str:
    return f"ERR {notes.number(error)}" if error else mode


def _open(outcome: m.Outcome | None, notes: Footnotes) -> str:
    if outcome is None:
        return "-"
    text = (f"ERR {notes.number(outcome.error)}" if outcome.error else
            f"node {'ro' if outcome.ro else 'rw'}, fd {outcome.fd}")
    return text + (" +denial" if outcome.denial else "")


# -- provenance -----------------------------------------------------------------------


def _provenance(doc: Document, report: m.Report) -> None:
    p = report.provenance
    doc.provenance = [
        f"Reproduce with {p.tool}: {w.reproduce(report, 'markdown')}",
        f"Input sha256: {p.input_sha256}",
        f"Scenarios: {len(p.scenarios)} files; policies: "
        + ", ".join(x.name if x.origin == "built-in" else f"{x.name} ({x.origin})"
                    for x in p.policies),
    ]
    if report.full:
        doc.provenance += [f"policy {x.name}: {x.source}" for x in p.policies]
        doc.provenance += [f"{s.file} sha256 {s.sha256}" for s in p.scenarios]


# -- the full report ----------------------------------------------------------------------


def _full(doc: Document, report: m.Report, labels: dict[str, str]) -> None:
    from optcompare.render import report_full

    report_full.sections(doc, report, labels)


def report_view(report: m.Report) -> Document:
    doc = Document(TITLE)
    labels = w.labels([r.policy for r in report.matrix])
    _decision(doc, report)
    _matrix(doc, report, labels)
    _evidence(doc, report, labels, brief=not report.full)
    _search(doc, report)
    if report.full:
        _full(doc, report, labels)
    _provenance(doc, report)
    return doc
