"""The command line: one typer app; each command module registers its commands.

Command modules import only typer at load time; analyses, renderers and rich
are imported inside the commands that need them, so ``--help`` stays fast.
"""

from __future__ import annotations

import typer

from optcompare.commands import scenarios, tables

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

for command in (
    tables.policies,
    tables.drivers,
    tables.table,
    scenarios.run,
    scenarios.skew,
    scenarios.check,
):
    app.command()(command)


def main() -> None:
    app()
