"""The default report's search, started before the command line is read.

The console script starts it, before it imports typer, when the arguments
name the report and no policy (:func:`speculate`). The child loads the
registry itself, searches the default policies and waits for the
visibility's task numbers, while this process imports typer, parses the
arguments and loads the same registry. The report adopts it when it reports
the default policies (:func:`optcompare.analysis.report_beside.begin`); the
child's values are used only if they are for the same list (names and
origins), so a speculation that guessed wrong costs time on the other core,
never a different result. One nobody adopts (a stored report, a usage
error) is stopped when the process ends; a child whose parent is gone finds
the task pipe closed and ends too.

This module is imported before anything else: it imports only what forking
takes.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.parallel import Beside, Tokens, available

if TYPE_CHECKING:
    from typing import Any


class Speculation:
    """The child and the pipe its visibility's task numbers will come through."""

    def __init__(self, plugins: bool) -> None:
        self.tokens = Tokens()
        self.search: Beside[Any] = Beside(
            functools.partial(_speculated, self.tokens, plugins), parallel=True)
        atexit.register(self.stop)

    def stop(self) -> None:
        self.search.stop()
        self.tokens.close()


def _speculated(tokens: Tokens, plugins: bool) -> object:
    tokens.forgo()
    quiet = os.open(os.devnull, os.O_WRONLY)  # the registry's warnings are the parent's
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    # By name: report_beside finds this module the same way (neither imports the other).
    beside = importlib.import_module("optcompare.analysis.report_beside")
    found: object = beside.search_default(tokens, plugins)
    return found


_pending: Speculation | None = None


def speculate(args: Sequence[str]) -> None:
    """Start the default report's search now if ``args`` (the command line after the
    program) run the report on the default policies and the machine allows."""
    global _pending
    plugins = default_report(args)
    if plugins is not None and _pending is None and available():
        _pending = Speculation(plugins)


def default_report(args: Sequence[str]) -> bool | None:
    """For ``[--no-plugins] report ...`` with no policy named and no help asked: whether
    plugins are on; else None. A guess from the words alone, which typer reads later."""
    plugins = True
    for place, arg in enumerate(args):
        if arg == "--no-plugins":
            plugins = False
            continue
        if arg != "report":
            return None
        for rest in args[place + 1:]:
            if rest in ("--help", "-h") or rest.startswith(("-p", "--policy")):
                return None
        return plugins
    return None


def take() -> Speculation | None:
    """The pending speculation, handed over once; None if there is none."""
    global _pending
    pending, _pending = _pending, None
    return pending


def abandon() -> None:
    """Stop the pending speculation, if any: nothing will adopt it."""
    pending = take()
    if pending is not None:
        pending.stop()
