"""The report command: the main job of the tool."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from optcompare.commands.common import FormatOption, OutputOption, WidthOption, boundary, emit
from optcompare.render.formats import Format


@boundary
def report(
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", "-p", help="Policy to include (repeatable; default: all)."),
    ] = None,
    scenarios_dir: Annotated[
        Path | None, typer.Option("--scenarios", help="Scenario files (default: built-in).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Every truth table in full.")] = False,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Everything, for a design review: verdict, matrix, tables, visibility,
    compatibility, scenarios with traces, skew, considered options, provenance.

    The markdown format is written for a plain-text mailing list.
    """
    from optcompare.analysis.report import build_report
    from optcompare.policies import registry
    from optcompare.render.report_views import report_view
    from optcompare.scenario import load

    policies = registry.select(policy or [])
    scenarios = load.load_all(load.discover(scenarios_dir))
    data = build_report(policies, scenarios, full=full)
    emit("report", data, report_view, fmt, output, width)
