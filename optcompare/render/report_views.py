"""The report's Document: every section, in the order DESIGN section 7 asks."""

from __future__ import annotations

from typing import Any

from optcompare.render.compat_views import findings_blocks
from optcompare.render.document import Document, Paragraph, Table
from optcompare.render.scenario_views import (
    failure_blocks,
    not_applicable_block,
    outcome_matrix,
    skew_view,
)
from optcompare.render.views import Footnotes, table_view


def _matrix(doc: Document, data: dict[str, Any]) -> None:
    section = doc.section("Verdict matrix")
    policies = [row["policy"] for row in data["matrix"]]
    section.add(Paragraph(
        "Rows: the thread's requirements first, then criteria derived from them. "
        "Columns: the policies. Each cell is computed; [n] points to its detail below, "
        "and the source column names the table, scenario or analysis it came from."
    ))
    notes = Footnotes()
    rows = []
    for question in data["questions"]:
        label = question["id"] + (" (thread)" if question["origin"] == "thread" else "")
        cells = []
        source = ""
        for row in data["matrix"]:
            cell = row["cells"][question["id"]]
            text = cell["short"]
            if text != cell["value"]:
                ref = notes.cite(f"{row['policy']}, {question['id']}: {cell['value']}")
                text = f"{text} {ref.split(' ', 1)[1]}"
            cells.append(text)
            source = cell["source"].replace(row["policy"], "P")
        rows.append((label, *cells, source))
    section.add(Table(("question", *policies, "source (P: the policy)"), tuple(rows),
                      notes=notes.notes()))
    legend = tuple((q["id"], q["title"], q["origin"]) for q in data["questions"])
    section.add(Paragraph("cost: boolean options of file; valid / all combinations; "
                          "distinct modes reachable."))
    section.add(Table(("question", "what it asks", "from"), legend))


def _visibility(doc: Document, data: dict[str, Any]) -> None:
    section = doc.section("Introspection visibility")
    rows = []
    for v in data["visibility"]:
        later = v["later"]
        glu, hard = later["gluster_dynamic"], later["hard_to_fallback"]
        rows.append((
            v["policy"], v["signal"],
            "yes" if v["visible_in_schema"] else "no",
            "yes" if v["cacheable"] else "no",
            ", ".join(v["extra_commands"]) or "-",
            ("fragile" if v["fragile"] else "yes") if v["detectable"] else "no",
            v["granularity"],
            ", ".join(v["false_positives"]) or "-",
            ", ".join(v["false_negatives"]) or "-",
            ("yes" if glu["learns"] else "no") if glu else "-",
            ("yes" if hard["visible"] else "no") if hard else "-",
        ))
    section.add(Table(("policy", "signal", "schema alone", "cacheable", "extra command",
                       "detectable", "granularity", "false positives", "false negatives",
                       "gluster dynamic learnt", "hard->fallback shown"), tuple(rows)))


def _considered(doc: Document, data: dict[str, Any]) -> None:
    section = doc.section("Considered options")
    for option in data["considered"]:
        section.add(Paragraph(f"{option['policy']}: {option['title']}"))
        lines = [f"* Good, because {p}" for p in option["good"]]
        lines += [f"* Neutral, because {p}" for p in option["neutral"]]
        lines += [f"* Bad, because {p}" for p in option["bad"]]
        for line in lines:
            section.add(Paragraph(line))


def report_view(data: dict[str, Any]) -> Document:
    doc = Document("optcompare report: auto-read-only, the options of March 2019")
    doc.section("Verdict").add(Paragraph(data["verdict"]))
    _matrix(doc, data)
    tables = table_view({"tables": data["truth_tables"]["tables"]})
    intro = doc.section("Truth tables")
    intro.add(Paragraph(
        "Every table in full." if data["truth_tables"]["full"] else
        "The first policy's file-posix tables in full, then for each policy only the rows "
        "that differ from the policy before it (--full shows everything)."
    ))
    doc.sections += tables.sections
    _visibility(doc, data)
    for report in data["compat"]:
        trimmed = dict(report, findings=[f for f in report["findings"] if f["level"] != "info"])
        findings_blocks(doc, trimmed, f"Compatibility: {report['policy']} against "
                        f"{', '.join(report['against'])}")
    outcomes = doc.section("Scenario results")
    outcomes.add(outcome_matrix(data["results"]))
    failures = doc.section("Scenario failures, with traces")
    failure_blocks(failures, data["results"])
    not_applicable_block(failures, data["results"])
    skew = skew_view({"cells": data["skew"]})
    for section in skew.sections:
        section.title = f"Version skew: {section.title.lower()}"
    doc.sections += skew.sections
    _considered(doc, data)
    prov = data["provenance"]
    doc.provenance = [prov["tool"]]
    doc.provenance += [f"policy {p['name']} ({p['origin']}): {p['source']}"
                       for p in prov["policies"]]
    doc.provenance += [f"scenario {s['file']} sha256 {s['sha256']}" for s in prov["scenarios"]]
    return doc
