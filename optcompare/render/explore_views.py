"""The search (``optcompare explore``) as a Document.

Only lays out the data of :func:`optcompare.analysis.explore.to_data`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from optcompare.render.document import ERR, Document, Paragraph, Preformatted, Table

if TYPE_CHECKING:
    from optcompare.analysis.differential import Differential, DifferentialRun

__all__ = ["PROPERTY_TITLES", "differential_json", "differential_view", "explore_view",
           "start_text", "trace_lines"]

PROPERTY_TITLES = {
    "readonly-disks": "a read-only disk refuses guest writes",
    "block-commit": "block-commit into a base labelled writable succeeds",
    "block-stream": "block-stream into an image labelled writable succeeds",
    "no-denials": "no access denial at start (active layer writable)",
    "no-write-fd": "no write descriptor on a read-only-labelled image no writer holds",
    "no-crash": "QEMU does not crash",
}


def bounds_text(bounds: dict[str, Any], frontend: str | None = None) -> str:
    images = "1 image" if bounds["images"] == 1 else f"1 to {bounds['images']} images"
    if frontend is None:
        frontend = ("the frontend the client picks" if bounds["frontend"] == "auto"
                    else f"-{bounds['frontend']}")
    platform = "" if bounds["platform"] == "posix" else f", {bounds['platform']} build"
    return (f"every workflow of up to {bounds['depth']} steps on chains of {images} "
            f"(every labelling at start; read/write and read-only disks), driver "
            f"{bounds['driver']}, {frontend}, {bounds['client']} client{platform}")


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def start_text(workflow: dict[str, Any]) -> str:
    labels = ", ".join(f"{i['name']} {'writable' if i['writable'] else 'read-only'}"
                       for i in workflow["images"])
    disk = "read-only disk" if workflow["readonly"] else "read/write disk"
    return f"{disk}; labels at start: {labels}"


def _state(name: str, state: dict[str, Any]) -> str:
    parts = [f"label {state['label']}", f"fd {state['fd']}"]
    if state["ro"] is not None:
        parts.append("node ro" if state["ro"] else "node rw")
    if state["denials"]:
        parts.append(f"denials {state['denials']}")
    return f"      {name}: " + ", ".join(parts)


def trace_lines(trace: list[dict[str, Any]], focus: str | None = None) -> list[str]:
    """One line per step; the images after the last step (or only ``focus``)."""
    lines = []
    for record in trace:
        verdict = ERR if record["result"] == "error" else record["result"]
        message = f" {record['message']}" if record["message"] else ""
        lines.append(f"  {record['index'] + 1}. {record['step']} -> {verdict}{message}")
    if trace:
        state = trace[-1]["state"]
        lines += [_state(n, s) for n, s in state.items() if focus is None or n == focus]
    return lines


def _cell(prop: dict[str, Any]) -> str:
    if prop["holds"]:
        return "holds"
    steps = len(prop["workflow"]["steps"])
    return f"no: {steps} step{'s' if steps != 1 else ''}"


def _value(value: Any) -> str:
    if value is None:
        return "(no node)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def difference_text(diff: dict[str, Any]) -> str:
    if not diff["differ"]:
        return f"none up to the depth ({diff['pairs']} state pairs)"
    steps = diff["workflow"]["steps"]
    parts = []
    for item in diff["what"]:
        where = f"{item['image']} {item['field']}" if item["image"] else item["field"]
        parts.append(f"{where} {_value(item['first'])} vs {_value(item['second'])}")
    workflow = diff["workflow"]
    labels = " ".join(f"{i['name']}={'rw' if i['writable'] else 'ro'}"
                      for i in workflow["images"])
    disk = "read-only disk" if workflow["readonly"] else "disk"
    return f"{disk} {labels}: {'; '.join(steps)} -> {', '.join(parts)}"


def explore_view(data: dict[str, Any]) -> Document:
    bounds, summary = data["bounds"], data["summary"]
    doc = Document(f"Explore: every workflow up to {bounds['depth']} steps")
    doc.section("Search").add(Paragraph(
        f"Searched {bounds_text(bounds)}: {summary['states']} distinct states, "
        f"{summary['transitions']} steps played, over "
        f"{_count(summary['policies'], 'policy', 'policies')}. "
        f"{_count(summary['violations'], 'shortest counterexample', 'shortest counterexamples')}"
        + (f"; {summary['pairs_differing']} of "
           f"{_count(summary['pairs'], 'pair', 'pairs')} of policies differ."
           if summary["pairs"] else ".")))
    searches = data["searches"]
    names = [p["property"] for p in searches[0]["properties"]] if searches else []
    rows = []
    for found in searches:
        if found["not_applicable"]:
            rows.append((found["policy"], *("n/a" for _ in names), "-"))
            continue
        rows.append((found["policy"], *(_cell(p) for p in found["properties"]),
                     str(found["states"])))
    section = doc.section("Properties: the shortest counterexample, or holds up to the depth")
    section.add(Table(("policy", *names, "states"), tuple(rows), notes=tuple(
        f"{n}: {PROPERTY_TITLES[n]}" for n in names)))
    for found in searches:
        for prop in found["properties"]:
            if prop["holds"]:
                continue
            workflow = prop["workflow"]
            section.add(Paragraph(f"{found['policy']}, {prop['property']}: "
                                  f"{start_text(workflow)}"))
            section.add(Preformatted(tuple(trace_lines(workflow["trace"], prop["image"]))))
    if data["differences"]:
        diffs = doc.section("Where two policies differ: the shortest workflow")
        diffs.add(Paragraph("Labels at start (rw: writable, ro: read-only), the steps, "
                            "then what the last step shows differently: first policy vs "
                            "second."))
        diffs.add(Table(("policies", "shortest difference"), tuple(
            (f"{d['first']} / {d['second']}", difference_text(d))
            for d in data["differences"])))
    return doc


KNOWN_DEPARTURES: dict[str, str] = {
    "write-after-relabel": "a guest write through a descriptor opened read/write before "
    "the image was relabelled read-only; SELinux refuses it (the model), file modes, which "
    "stand in for labels here, are checked at open only (the real backend)",
}
"""What each known departure of the model means."""


def differential_view(data: dict[str, Any]) -> Document:
    s = data["summary"]
    doc = Document(f"Differential: the explored workflows of {data['policy']} on a real QEMU")
    stopped = ""
    if s["interrupted"]:
        stopped = " Interrupted: what was found so far."
    elif s["out_of_budget"]:
        stopped = " The budget ran out before the longest workflows."
    legs = data["frontends"]
    frontends = " and ".join(f"-{leg['frontend']}" for leg in legs)
    doc.section("Verdict").add(Paragraph(
        f"Replayed {s['workflows']} of {s['planned']} workflows "
        f"({bounds_text(legs[0]['bounds'], frontends)}"
        f"{', guest writes' if legs[0]['guest'] else ''}) on the model and on a real QEMU "
        f"(qemu-storage-daemon; qemu-system-x86_64 -M none for -drive and guest writes), "
        f"compared step by step as conformance does: {s['agreements']} of {s['steps']} "
        f"steps agree, {s['disagreements']} disagree; {s['backend_failures']} backend "
        f"failures (QEMU crashed). {s['shrunk'] - s['crashes']} distinct disagreements after "
        f"shrinking, {s['unexplained']} unexplained; {s['crashes']} distinct workflows on "
        f"which QEMU crashed.{stopped}"))
    doc.section("By frontend").add(Table(
        ("frontend", "workflows", "planned", "steps", "agree", "disagree", "crashed",
         "shrunk", "unexplained"),
        tuple((f"-{leg['frontend']}", *(str(leg["summary"][key]) for key in (
            "workflows", "planned", "steps", "agreements", "disagreements",
            "backend_failures", "shrunk", "unexplained"))) for leg in legs)))
    if data["found"]:
        section = doc.section("Disagreements and crashes, each shrunk to a minimal workflow")
        for found in data["found"]:
            comparison = found["comparison"]
            if found["crash"]:
                known = (f" QEMU crashed (no-crash); run again {found['reruns']} times, it "
                         f"crashed {found['reproduced']} times.")
            elif found["known"]:
                known = (f" Known departure: "
                         f"{KNOWN_DEPARTURES.get(found['known'], found['known'])}.")
            else:
                known = " Unexplained."
            section.add(Paragraph(
                f"-{found['frontend']}, {start_text(found)}; {len(found['steps'])} steps "
                f"(from a workflow of {len(found['original'])}; {found['seen']} workflows "
                f"shrank to it).{known}"))
            lines = []
            for step in comparison["steps"]:
                mark = "" if step["agree"] else "   <-- " + "; ".join(step["differences"])
                lines.append(f"  {step['index'] + 1}. {step['step']}{mark}")
            if comparison["reason"]:
                lines.append(f"  {comparison['reason']}")
            section.add(Preformatted(tuple(lines)))
    return doc


# -- explore --backend qemu: its data -------------------------------------------------


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
    from optcompare.analysis.explore import bounds_data

    legs = [{"frontend": leg.frontend, "guest": leg.bounds.guest,
             "bounds": bounds_data(leg.bounds), "summary": _summary(leg)}
            for leg in result.legs]
    return {
        "policy": result.policy,
        "summary": _summary(result.total),
        "frontends": legs,
        "found": [item for leg in result.legs for item in _found_data(leg)],
    }
