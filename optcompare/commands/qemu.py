"""Commands on a real QEMU: ``conformance``, and ``run_on_qemu`` for ``run --backend qemu``."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from optcompare.commands.common import (
    FormatOption,
    OutputOption,
    WidthOption,
    boundary,
    directory_path,
    emit,
)
from optcompare.render.formats import Format

if TYPE_CHECKING:
    from optcompare.analysis.conformance import run_on_qemu as run_on_qemu
    from optcompare.backends.qemu.backend import Progress

__all__ = ["FailOn", "conformance", "progress_display", "run_on_qemu"]


def __getattr__(name: str) -> Any:
    # ``run_on_qemu`` lives with the analysis; importing it here stays lazy.
    if name == "run_on_qemu":
        from optcompare.analysis.conformance import run_on_qemu

        return run_on_qemu
    raise AttributeError(name)


class FailOn(StrEnum):
    DISAGREE = "disagree"


@contextlib.contextmanager
def progress_display(what: str) -> Iterator[Callable[[Progress], None] | None]:
    """A rich progress bar on stderr while the block runs, when stderr is a terminal.

    Yields the callback to pass as ``progress=`` (None when stderr is not a
    terminal: nothing is drawn then). The bar is removed when the block ends.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(what, total=None, current="")

    def update(step: Progress) -> None:
        bar.update(task, completed=step.done, total=step.total, current=step.current)

    with bar:
        yield update


@boundary
def conformance(
    scenario_names: Annotated[
        list[str] | None,
        typer.Argument(metavar="[SCENARIO]...",
                       help="Scenario names or files (default: every built-in scenario)."),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option("--scenarios", parser=directory_path,
                     help="Take scenarios from this directory instead."),
    ] = None,
    fail_on: Annotated[
        FailOn | None,
        typer.Option("--fail-on", help="Exit 1 when the model and QEMU disagree.",
                     case_sensitive=False),
    ] = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """The model of QEMU's released behaviour against a real QEMU.

    Every scenario runs step by step on the model (qemu-4.1, 5.2+ error texts)
    and on QEMU (qemu-storage-daemon for -blockdev, qemu-system-x86_64 -M none
    for -drive and guest writes); results, error texts, ro flags and
    descriptor modes are compared. Then both halves of iotest 232 are
    measured live and compared cell for cell, and each auto scenario's client
    probe is checked against the daemon's own schema. Needs qemu-storage-daemon,
    qemu-img and qemu-system-x86_64 (Debian: qemu-system-common, qemu-utils,
    qemu-system-x86).
    """

    from optcompare.analysis import conformance as analysis
    from optcompare.backends.qemu.daemon import find_qemu
    from optcompare.policies import registry
    from optcompare.render.qemu_views import conformance_json, conformance_view
    from optcompare.scenario import load

    tools = find_qemu()
    chosen = load.select(scenario_names or [], scenarios_dir)
    clients = [p.name for p in registry.plugins()]
    with progress_display("conformance") as progress:
        result = analysis.run(chosen, tools=tools, progress=progress, clients=clients)
    emit("conformance", result, conformance_view, fmt, output, width, encode=conformance_json)
    if fail_on is FailOn.DISAGREE and result.disagreements:
        raise typer.Exit(1)
