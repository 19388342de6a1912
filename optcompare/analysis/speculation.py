"""The default report's search, started before the command line is read.

The console script starts it, before it imports typer, when the arguments
name the report and no policy (:func:`speculate`). The child loads the
registry itself, searches the default policies and waits for the
visibility's task numbers, while this process imports typer, parses the
arguments and loads the same registry. The report command takes it
(:func:`take`) and hands it to the search's ``begin`` when it reports the
default policies; the child's values are used only if they are for the same
list (names and origins), so a speculation that guessed wrong costs time on
the other core, never a different result. Named policies or a stored report
stop it at once; one nobody took (a usage error) is stopped when the process
ends; a child whose parent is gone finds the task pipe closed and ends too.

This module is imported before anything else: it imports only what forking
takes (the child imports the search).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

from optcompare.parallel import Ahead, Tokens, available


def _speculated(plugins: bool, tokens: Tokens) -> object:
    """In the child: the default policies' search, and the visibility it takes."""
    quiet = os.open(os.devnull, os.O_WRONLY)  # the registry's warnings are the parent's
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    os.close(quiet)
    from optcompare.analysis import report_beside

    found: object = report_beside.search_default(tokens, plugins)
    return found


_pending: Ahead[Any] | None = None


def speculate(args: Sequence[str]) -> None:
    """Start the default report's search now if ``args`` (the command line after the
    program) run the report on the default policies and the machine allows."""
    global _pending
    plugins = default_report(args)
    if plugins is not None and _pending is None and available():
        _pending = Ahead(functools.partial(_speculated, plugins))


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


def take(*, default: bool = True) -> Ahead[Any] | None:
    """The pending speculation, handed over once, for a report on the default policies;
    for any other (``default=False``) it is stopped here, freeing the other core, and
    None is returned, as when there is none."""
    global _pending
    pending, _pending = _pending, None
    if pending is not None and not default:
        pending.stop()
        return None
    return pending
