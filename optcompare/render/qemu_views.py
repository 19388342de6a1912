"""The conformance report (``optcompare conformance``) as a Document.

Only lays out the data of :meth:`optcompare.analysis.conformance.Conformance.to_data`.
"""

from __future__ import annotations

from typing import Any

from optcompare.render.document import ERR, NO, YES, Document, Paragraph, Preformatted, Table
from optcompare.render.views import Footnotes

__all__ = ["conformance_view"]

_OUTCOME = {"meets": "meets", "fails": "fails", "not-applicable": "n/a",
            "backend-failure": ERR}
_STATUS = {"agree": YES, "disagree": NO, "not-applicable": "n/a", "backend-failure": ERR}

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


def _cell(value: dict[str, Any], notes: Footnotes) -> str:
    if value["error"]:
        return notes.cite(value["error"])
    if value["ro"] is None:
        return "-"
    node = f"node {'ro' if value['ro'] else 'rw'}"
    return node if value["fd"] is None else f"{node}, fd {value['fd']}"


def _result(side: dict[str, Any] | None, notes: Footnotes) -> str:
    if side is None:
        return "(not run)"
    if side["result"] == "error":
        return notes.cite(side["message"] or "error")
    return str(side["result"])


def _fds(side: dict[str, Any] | None) -> str:
    if side is None:
        return "-"
    return ", ".join(f"{name} {state['fd']}" for name, state in side["images"].items())


def _verdict(data: dict[str, Any]) -> str:
    s = data["summary"]
    expressible = s["scenarios"] - s["not_applicable"]
    parts = [
        f"The model of the released behaviour ({data['model']['policy']}, "
        f"{data['model']['wording']} error texts) against {data['qemu']['binary']} "
        f"{data['qemu']['version']}:",
        f"{s['agree']} of {expressible} scenarios the real QEMU can express agree step for "
        f"step ({s['steps_agreeing']} of {s['steps_compared']} steps compared agree);",
    ]
    if s["iotest_cells"]:
        halves = " and ".join(f"-{f}" for f in data["iotest232"]["frontends"])
        parts.append(f"{s['iotest_agreeing']} of {s['iotest_cells']} cells of iotest 232 "
                     f"({halves}) agree;")
    if s["driver_cells"]:
        drivers = ", ".join(sorted({c["driver"] for c in data["drivers"]["cells"]}))
        parts.append(f"{s['driver_cells_agreeing']} of {s['driver_cells']} truth-table cells "
                     f"of network drivers on live servers ({drivers}) agree;")
    parts.append(f"{s['probes_agreeing']} of {s['probes']} client probes agree.")
    if s["not_applicable"]:
        parts.append(f"{s['not_applicable']} scenarios cannot be expressed on the real QEMU "
                     "(listed below, with the reason).")
    if s["backend_failures"]:
        parts.append(f"{s['backend_failures']} scenarios hit a backend failure.")
    if s["disagreements"]:
        parts.append(f"{s['disagreements']} disagreements, each listed below with both sides.")
    else:
        parts.append("No disagreement.")
    return " ".join(parts)


def conformance_view(data: dict[str, Any]) -> Document:
    doc = Document(f"Conformance: the model of {data['model']['policy']} against "
                   f"{data['qemu']['binary']}")
    doc.section("Verdict").add(Paragraph(_verdict(data)))

    overview = doc.section("Scenarios")
    overview.add(Paragraph(LEGEND))
    rows = tuple(
        (s["scenario"], _OUTCOME.get(s["model"], s["model"]), _OUTCOME.get(s["qemu"], s["qemu"]),
         f"{s['steps_agreeing']}/{s['steps_compared']}", _STATUS.get(s["status"], s["status"]))
        for s in data["scenarios"]
    )
    if rows:
        overview.add(Table(("scenario", "model", "qemu", "steps", "agree"), rows))
    else:
        overview.add(Paragraph("No scenario was run."))

    live = doc.section("Compared live")
    live.add(Paragraph("Scenarios run on the real QEMU, their steps compared and iotest 232's "
                       "cells, per frontend and per driver."))
    live_rows = tuple(
        (f"{axis} {key}", str(n["scenarios"]), str(n["steps"]), str(n["cells"]))
        for axis in ("frontend", "driver") for key, n in data["live"][axis].items()
    )
    if live_rows:
        live.add(Table(("", "scenarios", "steps", "cells"), live_rows))

    for scenario in data["scenarios"]:
        if not scenario["steps"]:
            continue
        section = doc.section(f"Steps: {scenario['scenario']}")
        section.add(Paragraph(scenario["summary"]))
        notes = Footnotes()
        step_rows = []
        for step in scenario["steps"]:
            model, qemu = step["model"], step["qemu"]
            a, b = _result(model, notes), _result(qemu, notes)
            result = a if a == b else f"model {a}, qemu {b}"
            fds = _fds(model) if _fds(model) == _fds(qemu) else "differs (see below)"
            step_rows.append((str(step["index"]), step["step"], result, fds,
                              YES if step["agree"] else NO))
        section.add(Table(("#", "step", "result", "fd after", "agree"), tuple(step_rows),
                          notes=notes.notes()))
        if scenario["status"] == "not-applicable":
            section.add(Paragraph(f"Not applicable on the real QEMU from here on: "
                                  f"{scenario['reason']}"))

    for frontend in data["iotest232"]["frontends"]:
        _iotest_section(doc, f"iotest 232, -{frontend} half (driver file)",
                        [c for c in data["iotest232"]["cells"] if c["frontend"] == frontend])
    tables = data["drivers"]["cells"]
    for driver in sorted({c["driver"] for c in tables}):
        _iotest_section(doc, f"Driver {driver}, on a live server (-blockdev)",
                        [c for c in tables if c["driver"] == driver], DRIVER_LEGEND)
    for missing in data["drivers"]["unmeasured"]:
        doc.section(f"Driver {missing['driver']}").add(
            Paragraph(f"Not measured: {missing['reason']}"))

    if data["probes"]:
        section = doc.section("Client probes")
        section.add(Paragraph(
            "What the client of each 'auto' scenario concludes is dynamic, from the model's "
            "schema and from the daemon's own query-qmp-schema (the runner picks the "
            "frontend from the model's)."
        ))
        probe_rows = tuple(
            (p["client"], ", ".join(p["model"]) or "(none)", ", ".join(p["qemu"]) or "(none)",
             YES if p["agree"] else NO)
            for p in data["probes"]
        )
        probes = tuple(f"{p['client']}: {p['evidence']}" for p in data["probes"])
        section.add(Table(("client", "dynamic on the model", "dynamic on the daemon", "agree"),
                          probe_rows, notes=("Probes:", *probes)))

    section = doc.section("Disagreements")
    lines = _disagreements(data)
    section.add(Preformatted(tuple(lines)) if lines else Paragraph("None."))

    missing = [s for s in data["scenarios"] if s["status"] == "not-applicable"]
    if missing:
        section = doc.section("Not expressible on the real QEMU")
        for s in missing:
            section.add(Paragraph(f"{s['scenario']}: {s['reason']}"))

    doc.section("Not measured").add(Paragraph(data["not_measured"]))

    doc.provenance.append(f"model: policy {data['model']['policy']} with "
                          f"{data['model']['wording']} error texts")
    doc.provenance.append(f"daemon: {data['qemu']['binary']} {data['qemu']['version']}, run "
                          "unprivileged; labels are file modes (0644 writable, 0444 read-only)")
    for s in data["scenarios"]:
        doc.provenance.append(f"scenario {s['scenario']}: sha256 {s['sha256'][:16]}")
    return doc


def _iotest_section(doc: Document, title: str, cells: list[dict[str, Any]],
                    legend: str = IOTEST_LEGEND) -> None:
    section = doc.section(title)
    section.add(Paragraph(legend))
    notes = Footnotes()
    by_options: dict[str, dict[str, dict[str, Any]]] = {}
    for each in cells:
        by_options.setdefault(each["options"], {})[each["image"]] = each
    iotest_rows = []
    for options, images in by_options.items():
        texts = []
        agree = True
        for image in ("writable", "read-only"):
            cell = images.get(image)
            if cell is None:
                texts.append("-")
                continue
            a, b = _cell(cell["model"], notes), _cell(cell["qemu"], notes)
            texts.append(a if a == b else f"model {a}; qemu {b}")
            agree = agree and cell["agree"]
        iotest_rows.append((options, *texts, YES if agree else NO))
    section.add(Table(("options", "writable image", "read-only image", "agree"),
                      tuple(iotest_rows), notes=notes.notes()))


def _disagreements(data: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for s in data["scenarios"]:
        if s["status"] == "backend-failure":
            lines.append(f"{s['scenario']}: {s['reason']} (model: {s['model']})")
            continue
        if s["model"] != s["qemu"] and s["status"] == "disagree":
            lines.append(f"{s['scenario']}: model {s['model']}, qemu {s['qemu']}")
        for step in s["steps"]:
            if step["agree"]:
                continue
            lines.append(f"{s['scenario']}, step {step['index']} ({step['step']}):")
            lines += [f"  {d}" for d in step["differences"]]
    for cell in data["drivers"]["cells"]:
        if not cell["agree"]:
            lines.append(f"driver {cell['driver']}, {cell['options']} on a {cell['image']} "
                         "target:")
            lines.extend(f"  {d}" for d in cell["differences"])
    for cell in data["iotest232"]["cells"]:
        if not cell["agree"]:
            lines.append(f"iotest 232, -{cell['frontend']} {cell['options']} on a "
                         f"{cell['image']} image:")
            lines += [f"  {d}" for d in cell["differences"]]
    for probe in data["probes"]:
        if not probe["agree"]:
            lines.append(f"probe of {probe['client']} ({probe['evidence']}): model "
                         f"{', '.join(probe['model']) or '(none)'}, qemu "
                         f"{', '.join(probe['qemu']) or '(none)'}")
    return lines
