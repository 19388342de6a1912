"""The command line: one typer app; each command module registers its commands.

Command modules import only typer at load time; analyses, renderers and rich
are imported inside the commands that need them, so ``--help`` stays fast.
The console script goes one step further: when the command line names a
command, it builds the app with that command alone (typer converts every
command's parameters up front), so a run pays for one command module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Annotated

import typer

from optcompare import streams

COMMANDS: dict[str, str] = {
    "policies": "tables",
    "drivers": "tables",
    "table": "tables",
    "schema": "introspection",
    "probe": "introspection",
    "visibility": "introspection",
    "run": "scenarios",
    "skew": "scenarios",
    "check": "scenarios",
    "compat": "compat",
    "report": "report",
    "conformance": "qemu",
    "explore": "explore",
}
"""Every command, in the order ``--help`` lists them, and its module in optcompare.commands."""

HELP = (
    "Put the API options of the 2019 auto-read-only debate side by side and measure "
    "them: truth tables, introspection, replayed libvirt workflows, compatibility, "
    "and a verdict matrix."
)


def _print_version(value: bool) -> None:
    if value:
        from optcompare import __version__

        typer.echo(f"optcompare {__version__}")
        raise typer.Exit()


def _global_options(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version,
                     help="Print the version of optcompare and exit."),
    ] = False,
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
    from optcompare.policies import discovery

    discovery.set_plugins_disabled(no_plugins)


def build_app(names: Iterable[str] = COMMANDS) -> typer.Typer:
    """The app with the named commands (default: all of them)."""
    application = typer.Typer(
        name="optcompare",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    application.callback()(_global_options)
    for name in names:
        application.command()(getattr(_module(COMMANDS[name]), name))
    return application


def _module(group: str) -> ModuleType:
    """One command module, imported on demand."""
    if group == "tables":
        from optcompare.commands import tables

        return tables
    if group == "introspection":
        from optcompare.commands import introspection

        return introspection
    if group == "scenarios":
        from optcompare.commands import scenarios

        return scenarios
    if group == "compat":
        from optcompare.commands import compat

        return compat
    if group == "report":
        from optcompare.commands import report

        return report
    if group == "explore":
        from optcompare.commands import explore

        return explore
    from optcompare.commands import qemu

    return qemu


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # built on first use: importing main() costs no command module
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _named_command(args: Sequence[str]) -> str | None:
    """The command the arguments run, if they name one before any help flag."""
    for arg in args:
        if arg in ("--help", "-h"):
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main() -> None:
    """The console script: like ``app()``, but a usage error is one line on stderr."""
    from optcompare import garbage

    streams.hold_closed()
    with garbage.deferred():
        try:
            _run()
        except OSError as error:
            if not streams.failed_echo(error):
                raise
            streams.stdout_failed(error)
            sys.exit(2)


def _run() -> None:
    command = _named_command(sys.argv[1:])
    application = build_app([command]) if command else build_app()
    try:
        code = application(standalone_mode=False)
    except typer.TyperException as error:
        formatter = getattr(error, "format_message", None)
        message = formatter() if callable(formatter) else str(error)
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `optcompare`: the help
            streams.to_stderr(message)
            sys.exit(getattr(error, "exit_code", 2))
        context = getattr(error, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        streams.to_stderr(f"optcompare: error: {message}{hint}")
        sys.exit(getattr(error, "exit_code", 2))
    except typer.Abort:
        streams.to_stderr("optcompare: interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
