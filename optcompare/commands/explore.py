"""``optcompare explore``: every short workflow on the model, the shortest findings."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from optcompare.commands.common import (
    FormatOption,
    OutputOption,
    PlatformOption,
    WidthOption,
    boundary,
    emit,
)
from optcompare.render.formats import Format

if TYPE_CHECKING:
    from optcompare.analysis.explore import TooManySteps
    from optcompare.errors import OptcompareError

MAX_IMAGES = 5
MAX_STEPS = 1_000_000
"""The default bound on the steps the searches of one run play in all."""

T = TypeVar("T")


class Backend(StrEnum):
    MODEL = "model"
    QEMU = "qemu"


@boundary
def explore(
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", "-p", help="Policy to search (repeatable; default: all)."),
    ] = None,
    depth: Annotated[int, typer.Option("--depth", "-n", min=1, max=12,
                                       help="Longest workflow, in steps.")] = 5,
    images: Annotated[int, typer.Option("--images", "-k", min=1, max=MAX_IMAGES,
                                        help="Longest chain at start.")] = 3,
    driver: Annotated[str, typer.Option("--driver", "-d", help="Protocol driver.")] = "file",
    frontend: Annotated[str | None, typer.Option(
        "--frontend", help="blockdev, drive or auto (the client decides); default blockdev "
        "(with --backend qemu: blockdev and drive, one after the other).")] = None,
    client: Annotated[str, typer.Option(
        "--client", help="native, legacy, libvirt (as shipped), or a policy name (its "
        "libvirt).")] = "native",
    platform: PlatformOption = "posix",
    emit_dir: Annotated[Path | None, typer.Option(
        "--emit", help="Write each finding as a scenario file into this directory.")] = None,
    backend: Annotated[Backend, typer.Option(
        "--backend", help="model (search), or qemu: replay the released policy's workflows "
        "on a real qemu-storage-daemon and compare each step.")] = Backend.MODEL,
    max_steps: Annotated[int, typer.Option(
        "--max-steps", min=1, help="Give up, with an error, before the search plays more "
        "steps than this in all: its time and memory grow with them.")] = MAX_STEPS,
    budget: Annotated[float | None, typer.Option(
        "--budget", min=0, help="With --backend qemu: start no workflow after this many "
        "seconds.")] = None,
    fmt: FormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
) -> None:
    """Search every workflow up to a depth: shortest counterexamples and differences.

    A breadth-first search over workflows built from the scenario steps, on
    chains of 1 to K images with every labelling at start, states deduplicated.
    For each policy and property it prints the shortest violating workflow or
    that the property holds up to the depth; for each pair of policies the
    shortest workflow on which they differ.
    """
    from optcompare.analysis import explore as analysis
    from optcompare.commands.common import platform_of
    from optcompare.errors import InputError, UnknownNameError
    from optcompare.model.drivers import DRIVER_NAMES
    from optcompare.policies import registry
    from optcompare.render.explore_views import explore_json, explore_view
    from optcompare.scenario.spec import FRONTENDS, LEGACY, NATIVE

    if frontend is not None and frontend not in FRONTENDS:
        raise UnknownNameError(f"unknown frontend {frontend!r}; known: {', '.join(FRONTENDS)}")
    if driver not in DRIVER_NAMES:
        raise UnknownNameError(f"unknown driver {driver!r}; known: {', '.join(DRIVER_NAMES)}")
    from optcompare.policies import libvirt

    if client not in (NATIVE, LEGACY, libvirt.NAME):
        registry.get(client)
    if backend is Backend.QEMU:
        _differential(policy or [], depth, images, driver, frontend, client, platform, budget,
                      max_steps, emit_dir, fmt, output, width)
        return
    if budget is not None:
        raise InputError("--budget goes with --backend qemu")
    policies = registry.select(policy or [])
    bounds = analysis.Bounds(depth, images, driver, frontend or "blockdev", client,
                             platform_of(platform).value)
    files: list[tuple[str, str]] = []
    try:
        result = analysis.explore(policies, bounds, analysis.Context(max_steps))
    except analysis.TooManySteps as stop:
        raise _too_many(stop) from None
    if emit_dir is not None:
        from optcompare.render.explore_files import emitted_files

        files = emitted_files(result)
        _write_all(emit_dir, files)
    emit("explore", result, explore_view, fmt, output, width,
         encode=_with_emitted(explore_json, files if emit_dir is not None else None))


def _too_many(stop: TooManySteps) -> OptcompareError:
    from optcompare.errors import InputError

    return InputError(
        f"the search would pass --max-steps {stop.limit} at depth {stop.depth} of "
        f"{stop.bounds.depth} on {stop.policy}; ask for a smaller --depth or --images, "
        "or a larger --max-steps")


def _with_emitted(encode: Callable[[T], dict[str, object]],
                  files: list[tuple[str, str]] | None) -> Callable[[T], dict[str, object]]:
    """The command's JSON, with ``--emit`` the names of the files written last."""
    if files is None:
        return encode
    names = [name for name, _ in files]
    return lambda result: {**encode(result), "emitted": names}


def _write_all(directory: Path, files: list[tuple[str, str]]) -> None:
    from optcompare.atomic import write_atomic
    from optcompare.errors import OptcompareError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files:
            write_atomic(directory / name, text)
    except OSError as error:
        raise OptcompareError(f"{directory}: cannot write: {error.strerror}") from None


def _differential(policy: list[str], depth: int, images: int, driver: str,
                  frontend: str | None, client: str, platform: str, budget: float | None,
                  max_steps: int, emit_dir: Path | None, fmt: Format, output: Path | None,
                  width: int | None) -> None:
    from optcompare.analysis import differential
    from optcompare.analysis.explore import Context, TooManySteps
    from optcompare.backends.qemu.backend import QemuFactory, released_policy
    from optcompare.backends.qemu.daemon import find_qemu
    from optcompare.commands.qemu import progress_display
    from optcompare.errors import InputError
    from optcompare.render.explore_views import differential_json, differential_view
    from optcompare.scenario.spec import NATIVE

    released = released_policy()
    if any(name != "qemu-4.1" for name in policy):
        raise InputError("--backend qemu replays the released policy (qemu-4.1) only")
    bounds = differential.BOUNDS
    wanted = {"--driver": (driver, bounds.driver), "--client": (client, NATIVE),
              "--platform": (platform, bounds.platform)}
    for flag, (given, supported) in wanted.items():
        if given != supported:
            raise InputError(f"{flag} {given}: the real backend supports {supported} only")
    if frontend is not None and frontend not in differential.FRONTENDS:
        raise InputError(f"--frontend {frontend}: the real backend replays workflows with "
                         f"{' or '.join(differential.FRONTENDS)} (auto is one of them)")
    frontends = differential.FRONTENDS if frontend is None else (frontend,)
    tools = find_qemu()
    try:
        with progress_display("differential") as progress:
            result = differential.run_frontends(
                released, Context(max_steps), depth=depth, images=images, frontends=frontends,
                budget=budget, factory=QemuFactory(tools), progress=progress)
    except TooManySteps as stop:
        raise _too_many(stop) from None
    files: list[tuple[str, str]] = []
    if emit_dir is not None:
        from optcompare.render.explore_files import disagreement_files

        files = disagreement_files(result)
        _write_all(emit_dir, files)
    emit("explore-differential", result, differential_view, fmt, output, width,
         encode=_with_emitted(differential_json, files if emit_dir is not None else None))
