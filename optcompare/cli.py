"""The command line: parse options, call an analysis, hand its data to a renderer."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from optcompare.errors import OptcompareError
from optcompare.render.formats import Format

app = typer.Typer(
    name="optcompare",
    help=(
        "Put the API options of the 2019 auto-read-only debate side by side and measure "
        "them: truth tables, introspection, replayed libvirt workflows, compatibility, "
        "and a verdict matrix."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout."),
]
WidthOption = Annotated[
    int | None, typer.Option("--width", help="Line width (default: $COLUMNS, markdown 76).")
]
PlatformOption = Annotated[
    str, typer.Option("--platform", help="Build platform: posix or windows.")
]


def boundary(func: F) -> F:
    """Turn domain errors into one line on stderr and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OptcompareError as error:
            typer.echo(f"optcompare: error: {error}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("optcompare: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def emit(
    kind: str,
    data: dict[str, Any],
    view: Callable[[dict[str, Any]], Any],
    fmt: Format,
    output: Path | None,
    width: int | None = None,
) -> None:
    from optcompare.render.formats import render, write_atomic

    if fmt in (Format.HTML, Format.SVG) and kind != "report":
        raise OptcompareError(f"--format {fmt.value} is only available for 'report'")
    color = output is None and fmt is Format.TEXT and sys.stdout.isatty()
    content = render(fmt, kind, data, view, width=width, color=color)
    if output is None:
        sys.stdout.write(content)
        return
    try:
        write_atomic(output, content)
    except OSError as error:
        raise OptcompareError(f"{output}: cannot write: {error.strerror}") from None


def platform_of(name: str) -> Any:
    from optcompare.errors import UnknownNameError
    from optcompare.model.drivers import Platform

    try:
        return Platform(name)
    except ValueError:
        raise UnknownNameError(
            f"unknown platform {name!r}; known: {', '.join(p.value for p in Platform)}"
        ) from None


@app.command()
@boundary
def policies(
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """List the policies: name, title, where in the thread it comes from."""
    from optcompare.policies import registry
    from optcompare.render.views import policies_view

    data = {
        "policies": [
            {"name": p.name, "title": p.title, "source": p.source, "origin": p.origin}
            for p in registry.all_policies()
        ]
    }
    emit("policies", data, policies_view, fmt, output, width)


@app.command()
@boundary
def drivers(
    policy: Annotated[str, typer.Option("--policy", "-p", help="Policy whose build to show.")] = (
        "qemu-4.1"
    ),
    platform: PlatformOption = "posix",
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Driver classes (hard, fallback, dynamic, sticky) of one build."""
    from optcompare.policies import registry
    from optcompare.render.views import drivers_view

    chosen = registry.get(policy)
    plat = platform_of(platform)
    build = chosen.build(plat)
    data = {
        "policy": chosen.name,
        "platform": plat.value,
        "drivers": [
            {
                "name": d.name,
                "class": d.behaviour.value,
                "source": d.source,
                "cannot_write": d.cannot_write,
                "struct": chosen.struct_of(d, build.drivers),
            }
            for d in build.drivers.values()
        ],
    }
    emit("drivers", data, drivers_view, fmt, output, width)


@app.command()
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
    """Flag truth tables: every tri-state combination of each driver's options.

    Drivers with identical tables are grouped. Each row shows the options as
    written, what they are shorthand for, the open mode, and the outcome on a
    writable and on an unwritable image (node read-only flag, descriptor mode,
    access denial).
    """
    from optcompare.analysis import data as to_data
    from optcompare.analysis.truth_table import tables
    from optcompare.policies import registry
    from optcompare.policies.base import Frontend
    from optcompare.render.views import table_view

    chosen = registry.select(policy_names or [])
    front = frontend_of(frontend, Frontend)
    against = registry.get(diff) if diff else None
    plat = platform_of(platform)
    result = []
    for policy in chosen:
        result += tables(policy, drivers=driver or [], frontend=front, platform=plat,
                         against=against)
    data = {"frontend": front.value, "platform": plat.value, "against": diff,
            "tables": to_data.tables(result)}
    emit("truth-table", data, table_view, fmt, output, width)


def frontend_of(name: str, enum: Any) -> Any:
    from optcompare.errors import UnknownNameError

    try:
        return enum(name)
    except ValueError:
        raise UnknownNameError(f"unknown frontend {name!r}; known: blockdev, drive") from None


def main() -> None:
    app()
