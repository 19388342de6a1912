"""Views of scenario runs, traces, checks and the skew matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optcompare.render.document import (
    ERR,
    NO,
    YES,
    Document,
    Paragraph,
    Preformatted,
    Section,
    Table,
)

if TYPE_CHECKING:
    from optcompare.analysis.scenarios import Skew, SkewCell
    from optcompare.scenario.load import Check

OUTCOME_MARK = {"meets": YES, "fails": NO, "not-applicable": "n/a", "backend-failure": ERR}


def _columns(results: list[dict[str, Any]], key: str) -> list[str]:
    seen: list[str] = []
    for r in results:
        if r[key] not in seen:
            seen.append(r[key])
    return seen


def outcome_matrix(results: list[dict[str, Any]]) -> Table:
    policies = _columns(results, "policy")
    cells = {(r["scenario"], r["policy"]): OUTCOME_MARK[r["outcome"]] for r in results}
    rows = tuple(
        (s, *(cells.get((s, p), "") for p in policies)) for s in _columns(results, "scenario")
    )
    return Table(("scenario", *policies), rows,
                 notes=("yes: meets its requirement; no: fails; n/a: not applicable; "
                        "ERR: the real backend broke (not a result of the scenario).",))


def state_text(name: str, state: dict[str, Any]) -> str:
    parts = [f"label {state['label']}", f"fd {state['fd']}"]
    if state["ro"] is not None:
        parts.append("node ro" if state["ro"] else "node rw")
    if state["mode"]:
        parts.append(state["mode"])
    if state["denials"] is not None:
        parts.append(f"denials {state['denials']}")
    return f"    {name}: " + ", ".join(parts)


def trace_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for record in result.get("trace", []):
        verdict = record["result"] if record["result"] != "error" else ERR
        message = f" {record['message']}" if record["message"] else ""
        why = record["why"]
        mark = "" if record["met"] else "   <-- broke" + (
            f": {why}" if why and why != record["message"] else "")
        lines.append(f"{record['index']:>2} {record['step']} -> {verdict}{message}{mark}")
        if record["actions"]:
            lines.append("    client: " + "; ".join(record["actions"]))
        lines += [state_text(n, s) for n, s in record["state"].items()]
    return lines


def failure_blocks(section: Section, results: list[dict[str, Any]]) -> None:
    failures = [r for r in results if r["outcome"] == "fails"]
    if not failures:
        section.add(Paragraph("No scenario fails."))
    for r in failures:
        who = r["policy"] if r["client"] == "native" else f"{r['policy']} (client {r['client']})"
        frontend = f" with -{r['frontend']}" if r["frontend"] else ""
        section.add(Paragraph(
            f"{r['scenario']} on {who}{frontend}: step {r['step']} ({r['step_text']}) "
            f"broke: {r['reason']}"
        ))
        section.add(Preformatted(tuple(trace_lines(r))))


def not_applicable_block(section: Section, results: list[dict[str, Any]]) -> None:
    rows = tuple((r["scenario"], r["policy"], r["reason"] or "")
                 for r in results if r["outcome"] == "not-applicable")
    if rows:
        section.add(Table(("scenario", "build", "why not applicable"), rows))


def run_view(data: dict[str, Any]) -> Document:
    doc = Document(f"Scenario runs ({data['backend']} backend)")
    results = data["results"]
    doc.section("Outcomes").add(outcome_matrix(results))
    failures = doc.section("Failures, with the trace of each")
    failure_blocks(failures, results)
    not_applicable_block(failures, results)
    doc.provenance = [f"{s['name']}: {s['file']} sha256 {s['sha256'][:16]}"
                      for s in data["scenarios"]]
    return doc


def detection_mark(cell: SkewCell) -> str:
    fp, fn = cell.false_positives, cell.false_negatives
    if not fp and not fn:
        return "ok"
    return "+".join(name for name, bad in (("FP", fp), ("FN", fn)) if bad)


def _signal(cell: SkewCell) -> str:
    text = str(cell.evidence) + (" (fragile)" if cell.fragile else "")
    if cell.blockdev is False:
        text += f"; -drive throughout (lacks {', '.join(cell.missing)})"
    elif cell.blockdev:
        text += "; -blockdev throughout"
    return text


def skew_json(skew: Skew) -> dict[str, object]:
    return {"cells": [
        {
            "client": c.client,
            "build": c.build,
            "detected": sorted(c.detected),
            "truth": sorted(c.truth),
            "false_positives": sorted(c.false_positives),
            "false_negatives": sorted(c.false_negatives),
            "evidence": c.evidence,
            "fragile": c.fragile,
            "blockdev": c.blockdev,
            "missing": list(c.missing),
            "met": c.met,
            "ran": c.ran,
            "workflows": {r.scenario: r.outcome.value for r in c.results},
        }
        for c in skew.cells
    ]}


def skew_view(skew: Skew) -> Document:
    doc = Document("Version skew: libvirt written for a policy x QEMU build")
    cells = skew.cells
    builds = list(dict.fromkeys(c.build for c in cells))
    index = {(c.client, c.build): c for c in cells}
    rows = tuple(
        (client, *(f"{detection_mark(index[client, b])} {index[client, b].met}/"
                   f"{index[client, b].ran}" for b in builds))
        for client in dict.fromkeys(c.client for c in cells)
    )
    section = doc.section("Matrix")
    section.add(Paragraph(
        "Rows: the libvirt written for a policy (legacy: always -drive, no probing; "
        "libvirt: the libvirt that shipped, which takes its one +file probe for every "
        "protocol and uses -blockdev for the whole binary only when the build has every "
        "capability it needs). Columns: the QEMU build. Each cell: whether the client's "
        "detection matched the build's dynamic drivers (ok, FP: claims a driver that is not "
        "dynamic, FN: misses one), then workflows met / run."
    ))
    section.add(Table(("client \\ build", *builds), rows))
    wrong = tuple(
        (c.client, c.build, ", ".join(sorted(c.false_positives)) or "-",
         ", ".join(sorted(c.false_negatives)) or "-", _signal(c))
        for c in cells if c.false_positives or c.false_negatives
    )
    if wrong:
        doc.section("Detection errors").add(
            Table(("client", "build", "false positives", "false negatives", "signal"), wrong)
        )
    return doc


def check_view(check: Check) -> Document:
    doc = Document("Scenario file check")
    section = doc.section("Files")
    section.add(Table(("file", "result"), tuple(
        (f.file, "ok" if not f.problems else f"{ERR}: {len(f.problems)} problem(s)")
        for f in check.files
    )))
    return doc
