"""The command line: one typer app; each command module registers its commands.

Command modules import only typer at load time; analyses, renderers and rich
are imported inside the commands that need them, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from optcompare.commands import compat, introspection, qemu, report, scenarios, tables

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


@app.callback()
def _global_options(
    no_plugins: Annotated[
        bool,
        typer.Option(
            "--no-plugins",
            help="Use only the built-in policies: no entry-point discovery "
            "(also OPTCOMPARE_NO_PLUGINS=1).",
        ),
    ] = False,
) -> None:
    # Runs before every command, never for --help; discovery itself waits
    # until a command asks the registry for policies.
    from optcompare.policies import registry

    registry.set_plugins_disabled(no_plugins)


for command in (
    tables.policies,
    tables.drivers,
    tables.table,
    introspection.schema,
    introspection.probe,
    introspection.visibility,
    scenarios.run,
    scenarios.skew,
    scenarios.check,
    compat.compat,
    report.report,
    qemu.conformance,
):
    app.command()(command)


def main() -> None:
    """The console script: like ``app()``, but a usage error is one line on stderr."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:
        formatter = getattr(error, "format_message", None)
        message = formatter() if callable(formatter) else str(error)
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `optcompare`: the help
            typer.echo(message, err=True)
            sys.exit(getattr(error, "exit_code", 2))
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        typer.echo(f"optcompare: error: {message}{hint}", err=True)
        sys.exit(getattr(error, "exit_code", 2))
    except typer.Abort:
        typer.echo("optcompare: interrupted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
