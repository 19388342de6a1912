"""The command line: one typer app; each command module registers its commands.

Command modules import only typer at load time; analyses, renderers and rich
are imported inside the commands that need them, so ``--help`` stays fast.
"""

from __future__ import annotations

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
    app()
