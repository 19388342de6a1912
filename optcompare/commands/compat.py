"""The compat command: what a policy breaks or silently changes."""

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
from optcompare.errors import InputError
from optcompare.render.formats import Format


class FailOn(StrEnum):
    BREAK = "break"
    SILENT = "silent"
    INFO = "info"


@boundary
def compat(
    policy: Annotated[str, typer.Argument(help="The policy to check.")],
    against: Annotated[
        list[str] | None,
        typer.Option("--against", help="Baseline build (repeatable; default: every released "
                     "build older than the policy's)."),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 on an unaccepted finding at or above this level."),
    ] = None,
    accept: Annotated[
        Path | None,
        typer.Option("--accept", help="File of accepted finding ids, one per line, # comments."),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option("--scenarios", parser=directory_path,
                     help="Workflows to replay (default: built-in)."),
    ] = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Compatibility findings: break, silent, info, in both directions.

    Every driver and combination of its options (each not given or one of its
    values) on both platforms and frontends,
    plus the built-in workflows replayed by the old libvirt on the new build
    and by the new libvirt on the old build.
    """
    from optcompare.analysis import compat as analysis
    from optcompare.policies import registry
    from optcompare.render.compat_views import compat_json, compat_view
    from optcompare.render.escape import printable
    from optcompare.scenario import files, load

    chosen = registry.get(policy)
    released = [registry.get(n) for n in registry.RELEASED]
    baselines = ([registry.get(n) for n in dict.fromkeys(against)] if against
                 else analysis.default_baselines(chosen, released))
    if not baselines:
        raise InputError(f"no released build is older than {policy}; name one with --against")
    accepted = analysis.read_accept_file(accept) if accept else {}
    scenarios = load.load_all(files.discover(scenarios_dir))
    report = analysis.compare(chosen, baselines, scenarios, accepted)
    emit("compat", report, compat_view, fmt, output, width, encode=compat_json)
    found = {f.id for f in report.findings}
    for name, line in accepted.items():
        if name not in found:
            streams.to_stderr(printable(
                f"optcompare: warning: {accept}:{line}: {name} is no finding of {policy} "
                f"against {', '.join(report.against)}"))
    if fail_on is not None and report.failing(analysis.Level[fail_on.name]):
        raise typer.Exit(1)
