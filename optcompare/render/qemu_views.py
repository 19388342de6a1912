"""The conformance report (``optcompare conformance``): its Document and its JSON.

Both are written here from :class:`optcompare.analysis.conformance.Conformance`;
every difference between the model and QEMU is worded here from its
:class:`~optcompare.analysis.conformance.Difference`.
"""

from __future__ import annotations

from optcompare.analysis.conformance import (
    DAEMON,
    Aspect,
    CellComparison,
    CellSide,
    Conformance,
    Difference,
    ImageState,
    ProbeComparison,
    ScenarioComparison,
    Side,
    Status,
    StepComparison,
    StepSide,
    Value,
)
from optcompare.render.codec import encode
from optcompare.render.document import ERR, NO, YES, Document, Paragraph, Preformatted, Table
from optcompare.render.views import Footnotes

__all__ = ["conformance_json", "conformance_view", "scenario_json", "step_difference"]

_OUTCOME = {"meets": "meets", "fails": "fails", "not-applicable": "n/a",
            "backend-failure": ERR}
_STATUS = {Status.AGREE: YES, Status.DISAGREE: NO, Status.NOT_APPLICABLE: "n/a",
           Status.BACKEND_FAILURE: ERR}

IOTEST_LEGEND = (
    "Each option set opened on a writable (0644) and a read-only (0444) image: the "
    "node's ro flag and the descriptor mode, or the error. One value when the model "
    "and QEMU agree, both otherwise."
)
DRIVER_LEGEND = (
    "Each option set opened by a client QEMU on what a live server offers writable "
    "and read-only (nbd: an export with and without writable; iscsi: a LUN with and "
    "without readonly=1; ssh: a 0644 and a 0444 remote file; http: one URL, never "
    "writable): the node's ro flag, "
    "or the error (the client holds a socket: no descriptor mode). One value when "
    "the model and QEMU agree, both otherwise."
)

LEGEND = (
    "Each step runs on the model and on the real QEMU (qemu-storage-daemon for "
    "-blockdev, qemu-system-x86_64 -M none for -drive and guest writes). Compared: "
    "the result (ok, or QEMU's error text), whether the step's expectation held, "
    "and for every image "
    "its descriptor mode (fd), the ro flags of its protocol and qcow2 nodes, its "
    "label and its access denials. 'fd after' lists each image's descriptor mode "
    "after the step (closed: no descriptor). ERR [n]: QEMU's message n below the "
    "table; n/a: the real QEMU cannot express the scenario."
)


NOT_MEASURED = (
    "Not compared: the open mode of a node (a real QEMU does not report it), and the "
    "access denial SELinux logs for a write through a descriptor opened read/write "
    "before a relabel (file modes, which stand in for labels here, are checked at "
    "open only). Denials on the daemon are its refused opens for writing, counted "
    "from QEMU's 'Permission denied' errors (an open, a dynamic upgrade, a reopen)."
)


def _label(writable: bool) -> str:
    return "writable" if writable else "read-only"


def _show(value: Value) -> str:
    if value is None:
        return "(no node)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _yes_no(value: Value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def step_difference(d: Difference) -> str:
    """One difference of a step, in words."""
    if d.aspect is Aspect.STOPPED:
        return (f"the run on the {'model' if d.missing is Side.MODEL else 'daemon'} "
                "stopped before this step")
    if d.aspect is Aspect.NOT_KNOWN:
        return f"{d.image}: not known on the {d.missing} side"
    if d.aspect is Aspect.RESULT:
        return f"result: model {d.model}, qemu {d.qemu}"
    if d.aspect is Aspect.ERROR:
        return f"error: model {d.model!r}, qemu {d.qemu!r}"
    if d.aspect is Aspect.MET:
        return f"expectation met: model {_yes_no(d.model)}, qemu {_yes_no(d.qemu)}"
    model, qemu = d.model, d.qemu
    if d.aspect is Aspect.LABEL:
        model, qemu = _label(bool(model)), _label(bool(qemu))
    return f"{d.image} {d.aspect.value}: model {_show(model)}, qemu {_show(qemu)}"


def cell_difference(d: Difference) -> str:
    """One difference of an iotest 232 or driver cell, in words."""
    return f"{d.aspect.value}: model {_show(d.model)}, qemu {_show(d.qemu)}"


# -- JSON ----------------------------------------------------------------------------


def _image_json(state: ImageState) -> dict[str, object]:
    return {"label": _label(state.label), "fd": state.fd, "ro": state.ro,
            "format_ro": state.format_ro, "denials": state.denials}


def _side_json(side: StepSide | None) -> dict[str, object] | None:
    if side is None:
        return None
    return {"result": side.result, "message": side.message, "met": side.met,
            "images": {name: _image_json(state) for name, state in side.images}}


def _step_json(step: StepComparison) -> dict[str, object]:
    return {"index": step.index, "step": step.step, "agree": step.agree,
            "differences": [step_difference(d) for d in step.differences],
            "model": _side_json(step.model), "qemu": _side_json(step.qemu)}


def scenario_json(s: ScenarioComparison) -> dict[str, object]:
    """One scenario compared step by step (``explore --backend qemu`` shows these too)."""
    return {
        "scenario": s.scenario,
        "summary": s.summary,
        "sha256": s.digest,
        "status": s.status.value,
        "model": s.model_outcome,
        "qemu": s.qemu_outcome,
        "reason": s.reason,
        "frontend": s.frontend,
        "driver": s.driver,
        "steps_compared": len(s.steps),
        "steps_agreeing": sum(1 for step in s.steps if step.agree),
        "steps": [_step_json(step) for step in s.steps],
    }


def _cell_json(c: CellComparison) -> dict[str, object]:
    return {"options": c.options, "frontend": c.frontend, "driver": c.driver,
            "image": _label(c.writable), "agree": c.agree,
            "differences": [cell_difference(d) for d in c.differences],
            "model": encode(c.model), "qemu": encode(c.qemu)}


def _probe_json(p: ProbeComparison) -> dict[str, object]:
    return {"client": p.client, "evidence": p.evidence, "agree": p.agree,
            "model": list(p.model), "qemu": list(p.qemu)}


def conformance_json(c: Conformance) -> dict[str, object]:
    return {
        "model": {"policy": c.policy, "wording": c.wording},
        "qemu": {"binary": DAEMON, "version": c.qemu_version},
        "summary": encode(c.summary()),
        "live": encode(c.live()),
        "not_measured": NOT_MEASURED,
        "scenarios": [scenario_json(s) for s in c.scenarios],
        "iotest232": {
            "frontends": _frontends(c),
            "driver": "file",
            "cells": [_cell_json(cell) for cell in c.iotest],
        },
        "probes": [_probe_json(p) for p in c.probes],
        "drivers": {
            "cells": [_cell_json(cell) for cell in c.tables],
            "unmeasured": [encode(u) for u in c.unmeasured],
        },
    }


def _frontends(c: Conformance) -> list[str]:
    return sorted({cell.frontend for cell in c.iotest})


# -- the Document ----------------------------------------------------------------------


def _cell(value: CellSide, notes: Footnotes) -> str:
    if value.error:
        return notes.cite(value.error)
    if value.ro is None:
        return "-"
    node = f"node {'ro' if value.ro else 'rw'}"
    return node if value.fd is None else f"{node}, fd {value.fd}"


def _result(side: StepSide | None, notes: Footnotes) -> str:
    if side is None:
        return "(not run)"
    if side.result == "error":
        return notes.cite(side.message or "error")
    return str(side.result)


def _fds(side: StepSide | None) -> str:
    if side is None:
        return "-"
    return ", ".join(f"{name} {state.fd}" for name, state in side.images)


def _verdict(c: Conformance) -> str:
    s = c.summary()
    expressible = s.scenarios - s.not_applicable
    parts = [
        f"The model of the released behaviour ({c.policy}, "
        f"{c.wording} error texts) against {DAEMON} "
        f"{c.qemu_version}:",
        f"{s.agree} of {expressible} scenarios the real QEMU can express agree step for "
        f"step ({s.steps_agreeing} of {s.steps_compared} steps compared agree);",
    ]
    if s.iotest_cells:
        halves = " and ".join(f"-{f}" for f in _frontends(c))
        parts.append(f"{s.iotest_agreeing} of {s.iotest_cells} cells of iotest 232 "
                     f"({halves}) agree;")
    if s.driver_cells:
        drivers = ", ".join(sorted({cell.driver for cell in c.tables}))
        parts.append(f"{s.driver_cells_agreeing} of {s.driver_cells} truth-table cells "
                     f"of network drivers on live servers ({drivers}) agree;")
    parts.append(f"{s.probes_agreeing} of {s.probes} client probes agree.")
    if s.not_applicable:
        parts.append(f"{s.not_applicable} scenarios cannot be expressed on the real QEMU "
                     "(listed below, with the reason).")
    if s.backend_failures:
        parts.append(f"{s.backend_failures} scenarios hit a backend failure.")
    if s.disagreements:
        parts.append(f"{s.disagreements} disagreements, each listed below with both sides.")
    else:
        parts.append("No disagreement.")
    return " ".join(parts)


def conformance_view(c: Conformance) -> Document:
    doc = Document(f"Conformance: the model of {c.policy} against {DAEMON}")
    doc.section("Verdict").add(Paragraph(_verdict(c)))

    overview = doc.section("Scenarios")
    overview.add(Paragraph(LEGEND))
    rows = tuple(
        (s.scenario, _OUTCOME.get(s.model_outcome, s.model_outcome),
         _OUTCOME.get(s.qemu_outcome, s.qemu_outcome),
         f"{sum(1 for step in s.steps if step.agree)}/{len(s.steps)}", _STATUS[s.status])
        for s in c.scenarios
    )
    if rows:
        overview.add(Table(("scenario", "model", "qemu", "steps", "agree"), rows))
    else:
        overview.add(Paragraph("No scenario was run."))

    live = doc.section("Compared live")
    live.add(Paragraph("Scenarios run on the real QEMU, their steps compared and iotest 232's "
                       "cells, per frontend and per driver."))
    counted = c.live()
    live_rows = tuple(
        (f"{axis} {key}", str(n.scenarios), str(n.steps), str(n.cells))
        for axis, by in (("frontend", counted.frontend), ("driver", counted.driver))
        for key, n in by.items()
    )
    if live_rows:
        live.add(Table(("", "scenarios", "steps", "cells"), live_rows))

    for scenario in c.scenarios:
        if not scenario.steps:
            continue
        section = doc.section(f"Steps: {scenario.scenario}")
        section.add(Paragraph(scenario.summary))
        notes = Footnotes()
        step_rows = []
        for step in scenario.steps:
            a, b = _result(step.model, notes), _result(step.qemu, notes)
            result = a if a == b else f"model {a}, qemu {b}"
            fds = _fds(step.model) if _fds(step.model) == _fds(step.qemu) else (
                "differs (see below)")
            step_rows.append((str(step.index), step.step, result, fds,
                              YES if step.agree else NO))
        section.add(Table(("#", "step", "result", "fd after", "agree"), tuple(step_rows),
                          notes=notes.notes()))
        if scenario.status is Status.NOT_APPLICABLE:
            section.add(Paragraph(f"Not applicable on the real QEMU from here on: "
                                  f"{scenario.reason}"))

    for frontend in _frontends(c):
        _iotest_section(doc, f"iotest 232, -{frontend} half (driver file)",
                        [cell for cell in c.iotest if cell.frontend == frontend])
    for driver in sorted({cell.driver for cell in c.tables}):
        _iotest_section(doc, f"Driver {driver}, on a live server (-blockdev)",
                        [cell for cell in c.tables if cell.driver == driver], DRIVER_LEGEND)
    for missing in c.unmeasured:
        doc.section(f"Driver {missing.driver}").add(
            Paragraph(f"Not measured: {missing.reason}"))

    if c.probes:
        section = doc.section("Client probes")
        section.add(Paragraph(
            "What the client of each 'auto' scenario concludes is dynamic, from the model's "
            "schema and from the daemon's own query-qmp-schema (the runner picks the "
            "frontend from the model's)."
        ))
        probe_rows = tuple(
            (p.client, ", ".join(p.model) or "(none)", ", ".join(p.qemu) or "(none)",
             YES if p.agree else NO)
            for p in c.probes
        )
        probes = tuple(f"{p.client}: {p.evidence}" for p in c.probes)
        section.add(Table(("client", "dynamic on the model", "dynamic on the daemon", "agree"),
                          probe_rows, notes=("Probes:", *probes)))

    section = doc.section("Disagreements")
    lines = _disagreements(c)
    section.add(Preformatted(tuple(lines)) if lines else Paragraph("None."))

    missing_scenarios = [s for s in c.scenarios if s.status is Status.NOT_APPLICABLE]
    if missing_scenarios:
        section = doc.section("Not expressible on the real QEMU")
        for s in missing_scenarios:
            section.add(Paragraph(f"{s.scenario}: {s.reason}"))

    doc.section("Not measured").add(Paragraph(NOT_MEASURED))

    doc.provenance.append(f"model: policy {c.policy} with {c.wording} error texts")
    doc.provenance.append(f"daemon: {DAEMON} {c.qemu_version}, run "
                          "unprivileged; labels are file modes (0644 writable, 0444 read-only)")
    for s in c.scenarios:
        doc.provenance.append(f"scenario {s.scenario}: sha256 {s.digest[:16]}")
    return doc


def _iotest_section(doc: Document, title: str, cells: list[CellComparison],
                    legend: str = IOTEST_LEGEND) -> None:
    section = doc.section(title)
    section.add(Paragraph(legend))
    notes = Footnotes()
    by_options: dict[str, dict[str, CellComparison]] = {}
    for each in cells:
        by_options.setdefault(each.options, {})[_label(each.writable)] = each
    iotest_rows = []
    for options, images in by_options.items():
        texts = []
        agree = True
        for image in ("writable", "read-only"):
            cell = images.get(image)
            if cell is None:
                texts.append("-")
                continue
            a, b = _cell(cell.model, notes), _cell(cell.qemu, notes)
            texts.append(a if a == b else f"model {a}; qemu {b}")
            agree = agree and cell.agree
        iotest_rows.append((options, *texts, YES if agree else NO))
    section.add(Table(("options", "writable image", "read-only image", "agree"),
                      tuple(iotest_rows), notes=notes.notes()))


def _disagreements(c: Conformance) -> list[str]:
    lines: list[str] = []
    for s in c.scenarios:
        if s.status is Status.BACKEND_FAILURE:
            lines.append(f"{s.scenario}: {s.reason} (model: {s.model_outcome})")
            continue
        if s.model_outcome != s.qemu_outcome and s.status is Status.DISAGREE:
            lines.append(f"{s.scenario}: model {s.model_outcome}, qemu {s.qemu_outcome}")
        for step in s.steps:
            if step.agree:
                continue
            lines.append(f"{s.scenario}, step {step.index} ({step.step}):")
            lines += [f"  {step_difference(d)}" for d in step.differences]
    for cell in c.tables:
        if not cell.agree:
            lines.append(f"driver {cell.driver}, {cell.options} on a {_label(cell.writable)} "
                         "target:")
            lines.extend(f"  {cell_difference(d)}" for d in cell.differences)
    for cell in c.iotest:
        if not cell.agree:
            lines.append(f"iotest 232, -{cell.frontend} {cell.options} on a "
                         f"{_label(cell.writable)} image:")
            lines += [f"  {cell_difference(d)}" for d in cell.differences]
    for probe in c.probes:
        if not probe.agree:
            lines.append(f"probe of {probe.client} ({probe.evidence}): model "
                         f"{', '.join(probe.model) or '(none)'}, qemu "
                         f"{', '.join(probe.qemu) or '(none)'}")
    return lines
