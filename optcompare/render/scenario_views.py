"""Views of scenario runs, traces, checks and the skew matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.render.codec import encode
from optcompare.render.counted import plural
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
    from optcompare.analysis.scenarios import Runs, Skew, SkewCell
    from optcompare.backends.qemu.backend import RunItem
    from optcompare.scenario.backend import Observation
    from optcompare.scenario.load import Check

OUTCOME_MARK = {"meets": YES, "fails": NO, "not-applicable": "n/a", "backend-failure": ERR}


def _result_json(result: RunItem) -> dict[str, object]:
    from optcompare.backends.qemu.backend import BackendFailure

    if isinstance(result, BackendFailure):
        return result.to_data()
    detection = result.detection
    return {
        "scenario": result.scenario,
        "policy": result.policy,
        "client": result.client,
        "backend": result.backend,
        "outcome": result.outcome.value,
        "frontend": result.frontend,
        "step": result.step,
        "step_text": result.step_text,
        "reason": result.reason,
        "detection": None if detection is None else {
            "dynamic": sorted(detection.dynamic),
            "signal": detection.signal.value,
            "evidence": detection.evidence,
            "fragile": detection.fragile,
        },
        "trace": [
            {
                "index": r.index,
                "step": r.step,
                "line": r.line,
                "result": r.result,
                "message": r.message,
                "met": r.met,
                "why": r.why,
                "actions": list(r.actions),
                "state": {
                    name: {"label": _label(o.label), "fd": o.fd.value, "ro": o.ro,
                           "mode": o.mode, "denials": o.denials}
                    for name, o in r.state.items()
                },
            }
            for r in result.trace
        ],
    }


def run_json(runs: Runs) -> dict[str, object]:
    """``run``'s JSON: each result with its trace (a backend failure without one)."""
    return {"backend": runs.backend, "scenarios": [encode(s) for s in runs.scenarios],
            "results": [_result_json(r) for r in runs.results]}


def _label(writable: bool) -> str:
    return "writable" if writable else "read-only"


def outcome_matrix(results: Sequence[RunItem]) -> Table:
    policies = list(dict.fromkeys(r.policy for r in results))
    cells = {(r.scenario, r.policy): OUTCOME_MARK[r.outcome.value] for r in results}
    rows = tuple(
        (s, *(cells.get((s, p), "") for p in policies))
        for s in dict.fromkeys(r.scenario for r in results)
    )
    return Table(("scenario", *policies), rows,
                 notes=("yes: meets its requirement; no: fails; n/a: not applicable; "
                        "ERR: the real backend broke (not a result of the scenario).",))


def state_text(name: str, state: Observation) -> str:
    parts = [f"label {_label(state.label)}", f"fd {state.fd.value}"]
    if state.ro is not None:
        parts.append("node ro" if state.ro else "node rw")
    if state.mode:
        parts.append(state.mode)
    if state.denials is not None:
        parts.append(f"denials {state.denials}")
    return f"    {name}: " + ", ".join(parts)


def trace_lines(result: RunItem) -> list[str]:
    lines = []
    for record in result.trace:
        verdict = record.result if record.result != "error" else ERR
        message = f" {record.message}" if record.message else ""
        why = record.why
        mark = "" if record.met else "   <-- broke" + (
            f": {why}" if why and why != record.message else "")
        lines.append(f"{record.index:>2} {record.step} -> {verdict}{message}{mark}")
        if record.actions:
            lines.append("    client: " + "; ".join(record.actions))
        lines += [state_text(n, s) for n, s in record.state.items()]
    return lines


def failure_blocks(section: Section, results: Sequence[RunItem]) -> None:
    failures = [r for r in results if r.outcome.value == "fails"]
    if not failures:
        section.add(Paragraph("No scenario fails."))
    for r in failures:
        who = r.policy if r.client == "native" else f"{r.policy} (client {r.client})"
        frontend = f" with -{r.frontend}" if r.frontend else ""
        section.add(Paragraph(
            f"{r.scenario} on {who}{frontend}: step {r.step} ({r.step_text}) "
            f"broke: {r.reason}"
        ))
        section.add(Preformatted(tuple(trace_lines(r))))


def not_applicable_block(section: Section, results: Sequence[RunItem]) -> None:
    rows = tuple((r.scenario, r.policy, r.reason or "")
                 for r in results if r.outcome.value == "not-applicable")
    if rows:
        section.add(Table(("scenario", "build", "why not applicable"), rows))


def run_view(runs: Runs) -> Document:
    doc = Document(f"Scenario runs ({runs.backend} backend)")
    results = runs.results
    doc.section("Outcomes").add(outcome_matrix(results))
    failures = doc.section("Failures, with the trace of each")
    failure_blocks(failures, results)
    not_applicable_block(failures, results)
    doc.provenance = [f"{s.name}: {s.file} sha256 {s.sha256[:16]}" for s in runs.scenarios]
    return doc


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
    from optcompare.render import report_words as w

    doc = Document("Version skew: libvirt written for a policy x QEMU build")
    cells = skew.cells
    builds = list(dict.fromkeys(c.build for c in cells))
    labels = w.labels(builds)
    columns, rows, common = w.skew_table(cells, labels)
    section = doc.section("Matrix")
    section.add(Paragraph(
        "Rows: the libvirt written for a policy (legacy: always -drive, no probing; "
        "libvirt: the libvirt that shipped, which takes its one +file probe for every "
        "protocol and uses -blockdev for the whole binary only when the build has every "
        "capability it needs). Columns: the QEMU build. " + w.skew_legend(common)))
    section.add(Table(columns, rows))
    section.add(Paragraph("Labels: " + "; ".join(f"{labels[b]} {b}" for b in builds) + "."))
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
        (f.file, "ok" if not f.problems else f"{ERR}: {plural(len(f.problems), 'problem')}")
        for f in check.files
    )))
    return doc
