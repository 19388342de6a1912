"""The search (``optcompare explore``) and its replay on a real QEMU
(``explore --backend qemu``) as Documents, and their JSON.

Every sentence of both is written here, from :class:`optcompare.analysis.explore.Exploration`
and :class:`optcompare.analysis.differential.DifferentialRun`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.render.document import ERR, Document, Paragraph, Preformatted, Table

if TYPE_CHECKING:
    from optcompare.analysis.differential import Differential, DifferentialRun
    from optcompare.analysis.explore import (
        Bounds,
        Difference,
        Exploration,
        PropertyResult,
        Shown,
        Workflow,
    )
    from optcompare.scenario.backend import Observation
    from optcompare.scenario.runner import StepRecord

__all__ = ["PROPERTY_TITLES", "differential_json", "differential_view", "explore_json",
           "explore_view", "start_text", "trace_lines"]

PROPERTY_TITLES = {
    "readonly-disks": "a read-only disk refuses guest writes",
    "block-commit": "block-commit into a base labelled writable succeeds",
    "block-stream": "block-stream into an image labelled writable succeeds",
    "no-denials": "no access denial at start (active layer writable)",
    "no-write-fd": "no write descriptor on a read-only-labelled image no writer holds",
    "no-crash": "QEMU does not crash",
}


def bounds_text(bounds: Bounds, frontend: str | None = None) -> str:
    images = "1 image" if bounds.images == 1 else f"1 to {bounds.images} images"
    if frontend is None:
        frontend = ("the frontend the client picks" if bounds.frontend == "auto"
                    else f"-{bounds.frontend}")
    platform = "" if bounds.platform == "posix" else f", {bounds.platform} build"
    return (f"every workflow of up to {bounds.depth} steps on chains of {images} "
            f"(every labelling at start; read/write and read-only disks), driver "
            f"{bounds.driver}, {frontend}, {bounds.client} client{platform}")


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def start_text(workflow: Workflow) -> str:
    labels = ", ".join(f"{i.name} {'writable' if i.writable else 'read-only'}"
                       for i in workflow.images())
    disk = "read-only disk" if workflow.start.readonly else "read/write disk"
    return f"{disk}; labels at start: {labels}"


def _state(name: str, state: Observation) -> str:
    parts = [f"label {'writable' if state.label else 'read-only'}", f"fd {state.fd.value}"]
    if state.ro is not None:
        parts.append("node ro" if state.ro else "node rw")
    if state.denials:
        parts.append(f"denials {state.denials}")
    return f"      {name}: " + ", ".join(parts)


def trace_lines(trace: Sequence[StepRecord], focus: str | None = None) -> list[str]:
    """One line per step; the images after the last step (or only ``focus``)."""
    lines = []
    for record in trace:
        verdict = ERR if record.result == "error" else record.result
        message = f" {record.message}" if record.message else ""
        lines.append(f"  {record.index + 1}. {record.step} -> {verdict}{message}")
    if trace:
        state = trace[-1].state
        lines += [_state(n, s) for n, s in state.items() if focus is None or n == focus]
    return lines


def _cell(result: PropertyResult) -> str:
    if result.counterexample is None:
        return "holds"
    steps = len(result.counterexample.workflow.steps)
    return f"no: {steps} step{'s' if steps != 1 else ''}"


def _value(value: str | bool | int | None) -> str:
    if value is None:
        return "(no node)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def difference_text(diff: Difference) -> str:
    workflow = diff.workflow
    if workflow is None:
        return f"none up to the depth ({diff.pairs} state pairs)"
    steps = [s.describe() for s in workflow.steps]
    parts = []
    for item in diff.what():
        where = f"{item.image} {item.field}" if item.image else item.field
        parts.append(f"{where} {_value(item.first)} vs {_value(item.second)}")
    labels = " ".join(f"{i.name}={'rw' if i.writable else 'ro'}" for i in workflow.images())
    disk = "read-only disk" if workflow.start.readonly else "disk"
    return f"{disk} {labels}: {'; '.join(steps)} -> {', '.join(parts)}"


def _violations(exploration: Exploration) -> int:
    return sum(1 for s in exploration.searches for r in s.results if r.counterexample)


def _pairs_differing(exploration: Exploration) -> int:
    return sum(1 for d in exploration.differences if d.workflow)


def explore_view(exploration: Exploration) -> Document:
    bounds = exploration.bounds
    searches = exploration.searches
    pairs = len(exploration.differences)
    found_text = _count(_violations(exploration), "shortest counterexample",
                        "shortest counterexamples")
    doc = Document(f"Explore: every workflow up to {bounds.depth} steps")
    doc.section("Search").add(Paragraph(
        f"Searched {bounds_text(bounds)}: {exploration.states} distinct states, "
        f"{exploration.transitions} steps played, over "
        f"{_count(len(searches), 'policy', 'policies')}. "
        f"{found_text}"
        + (f"; {_pairs_differing(exploration)} of "
           f"{_count(pairs, 'pair', 'pairs')} of policies differ."
           if pairs else ".")))
    names = [r.property.value for r in searches[0].results] if searches else []
    rows = []
    for found in searches:
        if found.not_applicable:
            rows.append((found.policy, *("n/a" for _ in names), "-"))
            continue
        rows.append((found.policy, *(_cell(r) for r in found.results), str(found.states)))
    section = doc.section("Properties: the shortest counterexample, or holds up to the depth")
    section.add(Table(("policy", *names, "states"), tuple(rows), notes=tuple(
        f"{n}: {PROPERTY_TITLES[n]}" for n in names)))
    for found in searches:
        for result in found.results:
            example = result.counterexample
            if example is None:
                continue
            section.add(Paragraph(f"{found.policy}, {result.property.value}: "
                                  f"{start_text(example.workflow)}"))
            section.add(Preformatted(tuple(trace_lines(example.trace, example.image))))
    if exploration.differences:
        diffs = doc.section("Where two policies differ: the shortest workflow")
        diffs.add(Paragraph("Labels at start (rw: writable, ro: read-only), the steps, "
                            "then what the last step shows differently: first policy vs "
                            "second."))
        diffs.add(Table(("policies", "shortest difference"), tuple(
            (f"{d.first} / {d.second}", difference_text(d))
            for d in exploration.differences)))
    return doc


# -- explore: its data ----------------------------------------------------------------


def _state_json(seen: Observation) -> dict[str, object]:
    return {"label": "writable" if seen.label else "read-only", "fd": seen.fd.value,
            "ro": seen.ro, "format_ro": seen.format_ro, "mode": seen.mode,
            "denials": seen.denials}


def _record_json(record: StepRecord) -> dict[str, object]:
    return {"index": record.index, "step": record.step, "result": record.result,
            "message": record.message, "actions": list(record.actions),
            "state": {name: _state_json(seen) for name, seen in record.state.items()}}


def _workflow_json(workflow: Workflow, trace: Sequence[StepRecord]) -> dict[str, object]:
    return {
        "images": [{"name": i.name, "writable": i.writable} for i in workflow.images()],
        "readonly": workflow.start.readonly,
        "steps": [s.describe() for s in workflow.steps],
        "trace": [_record_json(r) for r in trace],
    }


def _bounds_json(bounds: Bounds) -> dict[str, object]:
    return {"depth": bounds.depth, "images": bounds.images, "driver": bounds.driver,
            "frontend": bounds.frontend, "client": bounds.client,
            "platform": bounds.platform}


def _shown_json(item: Shown) -> dict[str, object]:
    return {"image": item.image, "field": item.field, "first": item.first,
            "second": item.second}


def explore_json(exploration: Exploration) -> dict[str, object]:
    """``explore``'s JSON: the bounds, counts, each policy's properties (a counterexample's
    workflow with its trace), each pair's shortest difference."""
    searches = []
    for found in exploration.searches:
        searches.append({
            "policy": found.policy,
            "states": found.states,
            "transitions": found.transitions,
            "not_applicable": found.not_applicable,
            "properties": [
                {"property": r.property.value,
                 "holds": r.counterexample is None,
                 "image": r.counterexample.image if r.counterexample else None,
                 "workflow": _workflow_json(r.counterexample.workflow, r.counterexample.trace)
                 if r.counterexample else None}
                for r in found.results
            ],
        })
    differences = []
    for d in exploration.differences:
        differences.append({
            "first": d.first, "second": d.second, "pairs": d.pairs,
            "differ": d.workflow is not None,
            "workflow": _workflow_json(d.workflow, d.first_trace) if d.workflow else None,
            "second_trace": [_record_json(r) for r in d.second_trace],
            "what": [_shown_json(item) for item in d.what()],
        })
    return {
        "bounds": _bounds_json(exploration.bounds),
        "summary": {
            "policies": len(exploration.searches),
            "states": exploration.states,
            "transitions": exploration.transitions,
            "violations": _violations(exploration),
            "pairs": len(exploration.differences),
            "pairs_differing": _pairs_differing(exploration),
        },
        "searches": searches,
        "differences": differences,
    }


# -- explore --backend qemu -----------------------------------------------------------


KNOWN_DEPARTURES: dict[str, str] = {
    "write-after-relabel": "a guest write through a descriptor opened read/write before "
    "the image was relabelled read-only; SELinux refuses it (the model), file modes, which "
    "stand in for labels here, are checked at open only (the real backend)",
}
"""What each known departure of the model means."""


def differential_view(result: DifferentialRun) -> Document:
    from optcompare.render.qemu_views import step_difference

    s = result.total
    doc = Document(f"Differential: the explored workflows of {result.policy} on a real QEMU")
    stopped = ""
    if s.interrupted:
        stopped = " Interrupted: what was found so far."
    elif s.out_of_budget:
        stopped = " The budget ran out before the longest workflows."
    legs = result.legs
    frontends = " and ".join(f"-{leg.frontend}" for leg in legs)
    doc.section("Verdict").add(Paragraph(
        f"Replayed {s.workflows} of {s.planned} workflows "
        f"({bounds_text(legs[0].bounds, frontends)}"
        f"{', guest writes' if legs[0].bounds.guest else ''}) on the model and on a real QEMU "
        f"(qemu-storage-daemon; qemu-system-x86_64 -M none for -drive and guest writes), "
        f"compared step by step as conformance does: {s.agreements} of {s.steps} "
        f"steps agree, {s.disagreements} disagree; {s.backend_failures} backend "
        f"failures (QEMU crashed). {len(s.found) - s.crashes} distinct disagreements after "
        f"shrinking, {s.unexplained} unexplained; {s.crashes} distinct workflows on "
        f"which QEMU crashed.{stopped}"))
    doc.section("By frontend").add(Table(
        ("frontend", "workflows", "planned", "steps", "agree", "disagree", "crashed",
         "shrunk", "unexplained"),
        tuple((f"-{leg.frontend}", *(str(n) for n in (
            leg.workflows, leg.planned, leg.steps, leg.agreements, leg.disagreements,
            leg.backend_failures, len(leg.found), leg.unexplained))) for leg in legs)))
    if result.found:
        section = doc.section("Disagreements and crashes, each shrunk to a minimal workflow")
        for leg in legs:
            for found in leg.found:
                comparison = found.comparison
                if found.crash:
                    known = (f" QEMU crashed (no-crash); run again {found.reruns} times, it "
                             f"crashed {found.reproduced} times.")
                elif found.known:
                    known = (f" Known departure: "
                             f"{KNOWN_DEPARTURES.get(found.known, found.known)}.")
                else:
                    known = " Unexplained."
                section.add(Paragraph(
                    f"-{leg.frontend}, {start_text(found.workflow)}; "
                    f"{len(found.workflow.steps)} steps (from a workflow of "
                    f"{len(found.original.steps)}; {found.seen} workflows shrank to it)."
                    f"{known}"))
                lines = []
                for step in comparison.steps:
                    mark = "" if step.agree else "   <-- " + "; ".join(
                        step_difference(d) for d in step.differences)
                    lines.append(f"  {step.index + 1}. {step.step}{mark}")
                if comparison.reason:
                    lines.append(f"  {comparison.reason}")
                section.add(Preformatted(tuple(lines)))
    return doc


# -- explore --backend qemu: its data -------------------------------------------


def _summary(result: Differential) -> dict[str, object]:
    return {
        "planned": result.planned,
        "workflows": result.workflows,
        "steps": result.steps,
        "agreements": result.agreements,
        "disagreements": result.disagreements,
        "backend_failures": result.backend_failures,
        "not_applicable": result.not_applicable,
        "shrunk": len(result.found),
        "unexplained": result.unexplained,
        "crashes": result.crashes,
        "interrupted": result.interrupted,
        "out_of_budget": result.out_of_budget,
    }


def _found_data(result: Differential) -> list[dict[str, object]]:
    from optcompare.render.qemu_views import scenario_json

    return [
        {"frontend": result.frontend,
         "steps": [s.describe() for s in d.workflow.steps],
         "images": [{"name": i.name, "writable": i.writable} for i in d.workflow.images()],
         "readonly": d.workflow.start.readonly,
         "original": [s.describe() for s in d.original.steps],
         "known": d.known, "seen": d.seen, "crash": d.crash,
         "reruns": d.reruns, "reproduced": d.reproduced,
         "comparison": scenario_json(d.comparison)}
        for d in result.found
    ]


def differential_json(result: DifferentialRun) -> dict[str, object]:
    """``explore --backend qemu``'s data: ``summary`` adds up the frontends,
    ``frontends`` has each one's."""
    legs = [{"frontend": leg.frontend, "guest": leg.bounds.guest,
             "bounds": _bounds_json(leg.bounds), "summary": _summary(leg)}
            for leg in result.legs]
    return {
        "policy": result.policy,
        "summary": _summary(result.total),
        "frontends": legs,
        "found": [item for leg in result.legs for item in _found_data(leg)],
    }
