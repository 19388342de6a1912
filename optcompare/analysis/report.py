"""The report: every analysis, and the verdict matrix computed from them.

Each matrix cell carries its value, whether that value is good for the
question, and the table or scenario it came from. The verdict paragraph and
the "considered options" block are generated from the cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optcompare import __version__
from optcompare.analysis import compat, visibility
from optcompare.analysis import data as table_data
from optcompare.analysis import scenarios as scenario_analysis
from optcompare.analysis.truth_table import driver_rows, tables
from optcompare.model.drivers import RELEASES
from optcompare.model.modes import Mode
from optcompare.model.options import READ_ONLY
from optcompare.policies.base import Frontend, Policy
from optcompare.scenario.runner import Outcome, ScenarioResult
from optcompare.scenario.spec import Scenario

BASELINE = "qemu-3.1"


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    origin: str
    """"thread" (Peter's requirements) or "derived"."""


QUESTIONS = (
    Question("readonly-disks", "read-only disks refuse guest writes", "thread"),
    Question("block-commit", "block-commit under -blockdev, images writable only later",
             "thread"),
    Question("schema-alone", "visible in query-qmp-schema alone", "derived"),
    Question("cacheable", "cacheable per binary", "derived"),
    Question("extra-command", "needs no extra command", "derived"),
    Question("detectable", "detectable at all", "derived"),
    Question("granularity", "per-driver granularity", "derived"),
    Question("accuracy", "no false positives or negatives", "derived"),
    Question("no-break", "no break for 3.1 users", "derived"),
    Question("no-silent", "no silent change of meaning", "derived"),
    Question("later-dynamic", "survives another driver going dynamic", "derived"),
    Question("later-fallback", "shows a driver going hard to fallback", "derived"),
    Question("shipped-libvirt", "(shipped libvirt) right under -blockdev", "derived"),
    Question("no-denials", "(sVirt) no access denials at start", "derived"),
    Question("no-write-fd", "(sVirt) no write fd left after a job", "derived"),
    Question("cost", "interface cost (options, valid/all, semantics)", "derived"),
    Question("facade", "no facade option", "derived"),
)


def _cell(value: str, good: bool | None, source: str, short: str | None = None
          ) -> dict[str, Any]:
    """``short`` is the matrix's word for the value; the value is the detail."""
    if short is None:
        short = value.split(":", 1)[0].split(" (", 1)[0]
    return {"value": value, "short": short, "good": good, "source": source}


def _outcomes(results: Sequence[ScenarioResult]) -> dict[tuple[str, str], ScenarioResult]:
    return {(r.scenario, r.policy): r for r in results}


def _scenario_cell(index: dict[tuple[str, str], ScenarioResult], policy: str,
                   names: Sequence[str]) -> dict[str, Any]:
    found = [index[(n, policy)] for n in names if (n, policy) in index]
    source = "scenario " + ", ".join(names)
    if not found:
        return _cell("not run", None, source)
    failed = [r for r in found if r.outcome is Outcome.FAILS]
    if failed:
        r = failed[0]
        return _cell(f"no: {r.scenario} step {r.step}: {r.reason}", False, source)
    if all(r.outcome is Outcome.NOT_APPLICABLE for r in found):
        return _cell("n/a", None, source)
    return _cell("yes", True, source)


def interface_cost(policy: Policy) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options of ``file``, valid combinations, distinct modes, and the facade test."""
    build = policy.build()
    rows = driver_rows(build, "file", Frontend.BLOCKDEV)
    valid = [r for r in rows if r.cell.mode is not Mode.ERROR]
    modes = {r.cell.mode for r in valid}
    options = build.options("file")
    source = f"truth table {policy.name}: file"
    cost = _cell(f"{len(options)} options, {len(valid)}/{len(rows)} valid, {len(modes)} modes",
                 None, source, short=f"{len(options)}; {len(valid)}/{len(rows)}; {len(modes)}")
    extra = [o for o in options if o not in (READ_ONLY, policy.auto_option)]
    if not extra:
        return cost, _cell("-", None, source)
    facades = []
    for option in extra:
        changes = False
        for row in valid:
            if option not in row.written:
                continue
            without = {k: v for k, v in row.written.items() if k != option}
            other = build.resolve(without, "file")
            if other.mode is Mode.ERROR or other.mode != row.cell.mode:
                changes = True
                break
        if not changes:
            facades.append(option)
    if facades:
        return cost, _cell(f"no: {', '.join(facades)} changes no mode", False, source)
    return cost, _cell("yes", True, source)


def _frontends_cell(findings: list[compat.Finding], level: compat.Level, source: str
                    ) -> dict[str, Any]:
    hits = {f.id.split("/")[4] for f in findings if f.level is level and f.kind == "cmdline"}
    workflows = [f for f in findings if f.level is level and f.kind == "workflow"]
    parts = [f"-{fe}: {'no' if fe in hits else 'yes'}" for fe in ("blockdev", "drive")]
    if workflows:
        parts.append(f"{len(workflows)} workflow(s)")
    good = not hits and not workflows
    return _cell(("yes" if good else "no") + " (" + ", ".join(parts) + ")", good, source)


def verdict_row(policy: Policy, vis: dict[str, Any], index: dict[tuple[str, str], ScenarioResult],
                findings: list[compat.Finding] | None) -> dict[str, dict[str, Any]]:
    name = policy.name
    src_vis = f"visibility {name}"
    cells: dict[str, dict[str, Any]] = {}
    cells["readonly-disks"] = _scenario_cell(index, name, ["readonly-disk-guest-write",
                                                           "readonly-disk-drive"])
    cells["block-commit"] = _scenario_cell(index, name, ["blockdev-commit-selinux"])
    dynamic = vis["dynamic_anywhere"]
    if not dynamic:
        for key in ("schema-alone", "cacheable", "extra-command", "detectable", "granularity"):
            cells[key] = _cell("n/a (nothing dynamic)", None, src_vis)
    else:
        cells["schema-alone"] = _cell("yes" if vis["visible_in_schema"] else
                                      "no" + (" (version only)" if vis["fragile"] else ""),
                                      vis["visible_in_schema"], src_vis)
        cells["cacheable"] = _cell("yes" if vis["cacheable"] else "no", vis["cacheable"], src_vis)
        extra = vis["extra_commands"]
        cells["extra-command"] = _cell(
            "yes" if not extra else f"no: {', '.join(extra)}", not extra, src_vis)
        if not vis["detectable"]:
            cells["detectable"] = _cell("no", False, src_vis)
        elif vis["fragile"]:
            cells["detectable"] = _cell("fragile (version sniffing)", False, src_vis)
        else:
            cells["detectable"] = _cell("yes", True, src_vis)
        grain = vis["granularity"]
        cells["granularity"] = _cell(grain, grain == "per driver", src_vis,
                                     short=grain.replace("options struct", "struct"))
    fp, fn = vis["false_positives"], vis["false_negatives"]
    cells["accuracy"] = _cell(
        "yes" if not fp and not fn else "no: " + "; ".join(
            part for part in (f"FP {', '.join(fp)}" if fp else "",
                              f"FN {', '.join(fn)}" if fn else "") if part),
        not fp and not fn, src_vis)
    src_compat = f"compat {name} --against {BASELINE}"
    if findings is None:
        cells["no-break"] = _cell("n/a (baseline or older)", None, src_compat)
        cells["no-silent"] = _cell("n/a (baseline or older)", None, src_compat)
    else:
        cells["no-break"] = _frontends_cell(findings, compat.Level.BREAK, src_compat)
        cells["no-silent"] = _frontends_cell(findings, compat.Level.SILENT, src_compat)
    later = vis["later"]
    glu, hard = later["gluster_dynamic"], later["hard_to_fallback"]
    cells["later-dynamic"] = (
        _cell("yes" if glu["learns"] else "no", glu["learns"], src_vis + ": gluster dynamic")
        if glu else _cell("n/a", None, src_vis))
    cells["later-fallback"] = (
        _cell("yes" if hard["visible"] else "no", hard["visible"],
              src_vis + f": {hard['driver']} hard to fallback")
        if hard else _cell("n/a", None, src_vis))
    cells["shipped-libvirt"] = _shipped_cell(vis["shipped_client"][0], src_vis)
    cells["no-denials"] = _scenario_cell(index, name, ["deep-chain-start-denials"])
    cells["no-write-fd"] = _scenario_cell(index, name, ["snapshot-then-commit",
                                                        "blockdev-commit-selinux"])
    cells["cost"], cells["facade"] = interface_cost(policy)
    return cells


def _shipped_cell(found: dict[str, Any], source: str) -> dict[str, Any]:
    """The shipped libvirt on the POSIX build: right, latent misreads, or never on -blockdev."""
    source += ": shipped libvirt"
    if not found["file_probe"]:
        return _cell("n/a (-drive throughout: its +file probe fails)", None, source)
    wrong = [m["driver"] for m in found["wrongly_dynamic"]]
    bad = wrong + found["missed"] + found["rejected"]
    frontend = f"-{found['frontend']}"
    if found["missing"]:
        frontend += f" until {', '.join(found['missing'])}"
    if not bad:
        return _cell(f"yes ({frontend})", True, source)
    return _cell(f"no: {len(wrong)} protocol(s) taken for dynamic ({', '.join(wrong)}); "
                 f"{frontend}", False, source)


def verdict_paragraph(matrix: list[dict[str, Any]]) -> str:
    sentences = []
    for row in matrix:
        cells = row["cells"]
        good = [q.title for q in QUESTIONS if cells[q.id]["good"] is True]
        bad = [q for q in QUESTIONS if cells[q.id]["good"] is False]
        thread_bad = [q.title for q in bad if q.origin == "thread"]
        if thread_bad:
            head = f"{row['policy']} fails the thread's requirement: {'; '.join(thread_bad)}"
        else:
            head = f"{row['policy']} meets both of the thread's requirements"
        derived_bad = [f"{q.title} ({cells[q.id]['value']})" for q in bad if q.origin != "thread"]
        tail = f", but not: {'; '.join(derived_bad)}" if derived_bad else (
            f", and every measured criterion ({len(good)})")
        sentences.append(head + tail + ".")
    clean = [r["policy"] for r in matrix
             if all(r["cells"][q.id]["good"] is not False for q in QUESTIONS)]
    lead = ("No option passes every criterion. " if not clean else
            f"Passing every criterion: {', '.join(clean)}. ")
    return lead + " ".join(sentences)


def considered_options(matrix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MADR-shaped pros and cons, generated from the matrix."""
    result = []
    for row in matrix:
        cells = row["cells"]
        def points(flag: bool | None, cells: dict[str, Any] = cells) -> list[str]:
            return [f"{q.title}: {cells[q.id]['value']}" for q in QUESTIONS
                    if cells[q.id]["good"] is flag]
        result.append({"policy": row["policy"], "title": row["title"],
                       "good": points(True), "neutral": points(None), "bad": points(False)})
    return result


def build_report(policies: Sequence[Policy], scenarios: Sequence[Scenario], *,
                 full: bool = False) -> dict[str, Any]:
    from optcompare.policies import registry

    results = scenario_analysis.matrix(scenarios, policies)
    index = _outcomes(results)
    vis = {p.name: visibility.analyse(p).to_data() for p in policies}
    baseline = registry.get(BASELINE)
    rank = RELEASES.index
    compat_reports: dict[str, compat.Report] = {}
    for policy in policies:
        if policy.name != BASELINE and rank(policy.release) >= rank(baseline.release):
            compat_reports[policy.name] = compat.compare(policy, [baseline], scenarios)
    matrix = []
    for policy in policies:
        report = compat_reports.get(policy.name)
        matrix.append({
            "policy": policy.name,
            "title": policy.title,
            "cells": verdict_row(policy, vis[policy.name], index,
                                 report.findings if report else None),
        })
    truth: list[dict[str, Any]] = []
    previous: Policy | None = None
    for policy in policies:
        if full or previous is None:
            chosen = tables(policy, drivers=("file", "host_device", "host_cdrom")
                            if not full else ())
        else:
            chosen = [t for t in tables(policy, against=previous) if t.rows]
        truth += table_data.tables(chosen)
        previous = policy
    cells = scenario_analysis.skew(scenarios, policies)
    return {
        "questions": [{"id": q.id, "title": q.title, "origin": q.origin} for q in QUESTIONS],
        "verdict": verdict_paragraph(matrix),
        "matrix": matrix,
        "truth_tables": {"full": full, "tables": truth},
        "visibility": list(vis.values()),
        "compat": [compat.to_data(r) for r in compat_reports.values()],
        "scenarios": scenario_analysis.scenario_data(scenarios),
        "results": [scenario_analysis.result_data(r, trace=r.outcome is Outcome.FAILS)
                    for r in results],
        "skew": scenario_analysis.skew_data(cells),
        "considered": considered_options(matrix),
        "provenance": {
            "tool": f"optcompare {__version__}",
            "policies": [{"name": p.name, "source": p.source, "origin": p.origin}
                         for p in policies],
            "scenarios": [{"file": s["file"], "sha256": s["sha256"]}
                          for s in scenario_analysis.scenario_data(scenarios)],
        },
    }
