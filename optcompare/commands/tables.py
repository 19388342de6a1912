"""Commands about a build's options: policies, drivers, truth tables."""

from __future__ import annotations

from typing import Annotated

import typer

from optcompare.commands.common import (
    FormatOption,
    OutputOption,
    PlatformOption,
    WidthOption,
    boundary,
    emit,
    frontend_of,
    platform_of,
)
from optcompare.render.formats import Format


@boundary
def policies(
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """List the policies: name, title, where in the thread it comes from."""
    from optcompare.policies import registry
    from optcompare.render.views import policies_view

    emit("policies", registry.listing(), policies_view, fmt, output, width)


@boundary
def drivers(
    policy: Annotated[str, typer.Option("--policy", "-p", help="Policy whose build to show.")] = (
        "qemu-4.1"
    ),
    platform: PlatformOption = "posix",
    sources: Annotated[bool, typer.Option(
        "--sources", help="Also where each fact comes from: every driver's class and refusal, "
        "the messages of the build's era, the client rules (QEMU or libvirt file:line@tag, "
        "or a commit).")] = False,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Driver classes (hard, fallback, dynamic, sticky, self-read-only) of one build."""
    from optcompare.analysis.driver_facts import drivers as gather
    from optcompare.policies import registry
    from optcompare.render.views import drivers_json, drivers_view

    result = gather(registry.get(policy), platform_of(platform), sources)
    emit("drivers", result, drivers_view, fmt, output, width, encode=drivers_json)


@boundary
def table(
    policy_names: Annotated[
        list[str] | None, typer.Argument(metavar="[POLICY]...", help="Policies (default: all).")
    ] = None,
    driver: Annotated[
        list[str] | None, typer.Option("--driver", "-d", help="Only this driver (repeatable).")
    ] = None,
    frontend: Annotated[
        str, typer.Option("--frontend", help="blockdev (both options default off) or drive.")
    ] = "blockdev",
    diff: Annotated[
        str | None, typer.Option("--diff", help="Show only rows that differ from this policy.")
    ] = None,
    platform: PlatformOption = "posix",
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Flag truth tables: every combination of each driver's options (each not
    given, or one of its values: on/off, or an enum's).

    Drivers with identical tables are grouped. Each row shows the options as
    written, what they are shorthand for, the open mode, and the outcome on a
    writable and on an unwritable image (node read-only flag, descriptor mode,
    access denial).
    """
    from optcompare.analysis.truth_table import truth_tables
    from optcompare.policies import registry
    from optcompare.render.views import table_json, table_view

    chosen = registry.select(policy_names or [])
    front = frontend_of(frontend)
    against = registry.get(diff) if diff else None
    plat = platform_of(platform)
    result = truth_tables(chosen, drivers=driver or [], frontend=front, platform=plat,
                          against=against)
    emit("truth-table", result, table_view, fmt, output, width, encode=table_json)
