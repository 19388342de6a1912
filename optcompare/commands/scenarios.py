"""Commands that replay workflows: run, skew, check."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from optcompare import streams
from optcompare.commands.common import (
    FormatOption,
    OutputOption,
    WidthOption,
    boundary,
    directory_path,
    emit,
)
from optcompare.render.formats import Format

ScenariosDir = Annotated[
    Path | None,
    typer.Option("--scenarios", parser=directory_path,
                 help="Read scenario files from this directory instead of the built-in ones."),
]
PolicyList = Annotated[
    list[str] | None,
    typer.Option("--policy", "-p", help="Policy to run on (repeatable; default: all)."),
]


class Backend(StrEnum):
    MODEL = "model"
    QEMU = "qemu"


class FailOn(StrEnum):
    UNMET = "unmet"


@boundary
def run(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[SCENARIO]...", help="Scenario names or .toml paths."),
    ] = None,
    scenarios_dir: ScenariosDir = None,
    policy: PolicyList = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="model (in memory) or qemu (real daemon).")
    ] = Backend.MODEL,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 1 when a scenario fails.")
    ] = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Replay scenarios on builds: meets / fails / not applicable, with traces.

    Each failure names the step that broke, QEMU's message, and a trace of
    every step with node modes, descriptor modes and access denials.
    """
    from optcompare.analysis import scenarios as analysis
    from optcompare.policies import registry
    from optcompare.render.scenario_views import run_json, run_view
    from optcompare.scenario import load
    from optcompare.scenario.runner import Outcome

    chosen = load.select(names or [], scenarios_dir)
    policies = registry.select(policy or [])
    if backend is Backend.QEMU:
        from optcompare.analysis.conformance import run_on_qemu

        results = tuple(run_on_qemu(chosen, policies))
    else:
        results = tuple(analysis.matrix(chosen, policies))
    runs = analysis.Runs(backend.value, analysis.scenario_infos(chosen), results)
    emit("scenario-run", runs, run_view, fmt, output, width, encode=run_json)
    if fail_on is FailOn.UNMET and any(r.outcome is Outcome.FAILS for r in results):
        raise typer.Exit(1)


@boundary
def skew(
    scenarios_dir: ScenariosDir = None,
    policy: PolicyList = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Version skew: the libvirt written for each policy on every build.

    Each cell says whether the client's detection matched the build's truth
    and how many of its workflows met their requirements.
    """
    from optcompare.analysis import scenarios as analysis
    from optcompare.policies import registry
    from optcompare.render.scenario_views import skew_json, skew_view
    from optcompare.scenario import load

    chosen = load.select([], scenarios_dir)
    policies = registry.select(policy or [])
    cells = analysis.skew(chosen, policies)
    emit("skew", analysis.Skew(tuple(cells)), skew_view, fmt, output, width, encode=skew_json)


@boundary
def check(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Scenario files.")],
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Validate scenario files; each problem as path:line: message, exit 2 on any."""
    from optcompare.render.escape import printable
    from optcompare.render.scenario_views import check_view
    from optcompare.scenario import load

    problems = load.check_files(files)
    for problem in problems:
        streams.to_stderr(printable(str(problem)))
    emit("check", load.check_report(files, problems), check_view, fmt, output, width)
    if problems:
        raise typer.Exit(2)
