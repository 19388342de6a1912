"""What every command shares: option types, the error boundary, output."""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from optcompare import streams
from optcompare.errors import OptcompareError, PluginFailure, Terminated
from optcompare.render.formats import Format

if TYPE_CHECKING:
    from optcompare.render.document import Document

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DATA_FORMATS = (Format.TEXT, Format.MARKDOWN, Format.JSON)
"""What every command prints; ``report`` also renders HTML and SVG."""


def _formats(accepted: tuple[Format, ...]) -> Callable[[str], Format]:
    """A ``--format`` parser that accepts only ``accepted`` (any case)."""

    def parse(value: str) -> Format:
        known = {fmt.value: fmt for fmt in accepted}
        fmt = known.get(str(value).lower())
        if fmt is None:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(known)}")
        return fmt

    return parse


FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", metavar="[" + "|".join(DATA_FORMATS) + "]",
                 parser=_formats(DATA_FORMATS), help="Output format."),
]
ReportFormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", metavar="[" + "|".join(Format) + "]",
                 parser=_formats(tuple(Format)),
                 help="Output format (html: a page for a meeting, svg: one slide)."),
]
STDOUT = "-"


def _output_path(value: str) -> Path:
    if not value:
        raise typer.BadParameter("an empty file name (give a file, or - for stdout)")
    return Path(value)


def directory_path(value: str) -> Path:
    """A directory named on the command line (``Path('')`` would silently be ``.``)."""
    if not value:
        raise typer.BadParameter("an empty directory name")
    return Path(value)


OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", metavar="FILE", parser=_output_path,
        help="Write to this file instead of stdout: a regular file is replaced atomically "
        "(keeping its mode), a device or FIFO written directly, - is stdout.",
    ),
]
MIN_WIDTH = 20

WidthOption = Annotated[
    int | None,
    typer.Option("--width", min=MIN_WIDTH,
                 help=f"Line width, at least {MIN_WIDTH} (default: $COLUMNS, markdown 76)."),
]
PlatformOption = Annotated[
    str, typer.Option("--platform", help="Build platform: posix or windows.")
]


TERMINATING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def terminating_signals_raise() -> Iterator[None]:
    """While the block runs, SIGINT, SIGTERM and SIGHUP raise :class:`Terminated`.

    Only the first one raises: one that arrives while we are already
    unwinding is ignored, so that it cannot cut the cleanup short. A block
    that ends normally after a signal (its exception was swallowed where
    Python ignores exceptions) raises it at the end. From the signal on,
    asyncio objects the signal cut short while they were being built (a QMP
    socket transport) may fail in their finalizers; we are exiting, so
    those reports are dropped (:func:`_drop_cut_short_finalizers`).
    """
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not fired:
            fired.append(signum)
            _drop_cut_short_finalizers()
            raise Terminated(signum)

    try:
        previous = {number: signal.signal(number, handler) for number in TERMINATING_SIGNALS}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
        if fired:
            raise Terminated(fired[0])
    finally:
        for number, action in previous.items():
            signal.signal(number, action)


def _drop_cut_short_finalizers() -> None:
    """Leave out the unraisable errors of asyncio objects, and the warning about a
    coroutine the signal caught between its creation and its first step (an
    ``asyncio.wait`` in the QMP loop); the rest as before."""
    import warnings

    warnings.filterwarnings("ignore", message=r"coroutine '.*' was never awaited",
                            category=RuntimeWarning)
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        owner = unraisable.object
        module = getattr(owner, "__module__", None) or type(owner).__module__
        if str(module).startswith("asyncio"):
            return
        previous(unraisable)

    sys.unraisablehook = hook


_PROCESS_MODULE = "optcompare.backends.qemu.process"


def _components() -> frozenset[int]:
    process = sys.modules.get(_PROCESS_MODULE)
    return process.live() if process is not None else frozenset()


def _stop_components(before: frozenset[int]) -> None:
    """Stop what the command started and a signal kept from being stopped."""
    process = sys.modules.get(_PROCESS_MODULE)
    if process is not None:
        process.stop_all(keep=before)


def _contained(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a command; a plugin that fails while it runs is left out and the command runs again.

    The one place where a plugin's failure at use is contained: each run
    either succeeds or leaves one more plugin out (nothing is written
    before a command has its result).
    """
    while True:
        try:
            return func(*args, **kwargs)
        except PluginFailure as failure:
            from optcompare.policies import registry

            registry.leave_out(failure)


def boundary(func: F) -> F:
    """Turn domain errors into one line on stderr and their exit code; a
    terminating signal into a cleanup and exit 128+n."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with terminating_signals_raise():
                before = _components()
                try:
                    return _contained(func, *args, **kwargs)
                finally:
                    _stop_components(before)
        except OptcompareError as error:
            from optcompare.render.escape import printable

            streams.to_stderr(f"optcompare: error: {printable(str(error))}")
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt as interrupt:
            number = interrupt.signum if isinstance(interrupt, Terminated) else signal.SIGINT
            how = "" if number == signal.SIGINT else f" by {signal.Signals(number).name}"
            streams.to_stderr(f"optcompare: interrupted{how}")
            raise typer.Exit(128 + number) from None

    return wrapper  # type: ignore[return-value]


def emit(
    kind: str,
    data: T,
    view: Callable[[T], Document],
    fmt: Format,
    output: Path | None,
    width: int | None = None,
    encode: Callable[[T], dict[str, object]] | None = None,
) -> None:
    """``data``: the command's result; ``view`` lays it out for text and markdown,
    ``encode`` makes its JSON (default: the typed model through the codec)."""
    from optcompare.render.formats import render

    if fmt in (Format.HTML, Format.SVG) and kind != "report":
        raise OptcompareError(f"--format {fmt.value} is only available for 'report'")
    deliver(render(fmt, kind, data, view, width=width, color=colored(fmt, output),
                   encode=encode), output)


def to_stdout(output: Path | None) -> bool:
    return output is None or str(output) == STDOUT


def colored(fmt: Format, output: Path | None) -> bool:
    """Colour for text on a terminal only (a second cue; ``NO_COLOR`` still wins)."""
    return to_stdout(output) and fmt is Format.TEXT and sys.stdout.isatty()


def deliver(content: str, output: Path | None) -> None:
    """Print ``content``, or write it to ``output`` (see ``write_atomic``)."""
    if output is None or to_stdout(output):
        try:
            sys.stdout.write(content)
            sys.stdout.flush()
        except OSError as error:
            streams.drop_stdout()
            raise OptcompareError(streams.cannot_write(error)) from None
        return
    from optcompare.atomic import write_atomic

    directory = output.parent
    if not directory.is_dir():
        raise OptcompareError(f"{output}: cannot write: no directory {str(directory)!r}")
    try:
        write_atomic(output, content)
    except OSError as error:
        raise OptcompareError(f"{output}: cannot write: {error.strerror or error}") from None


def platform_of(name: str) -> Any:
    from optcompare.errors import UnknownNameError
    from optcompare.model.drivers import Platform

    try:
        return Platform(name)
    except ValueError:
        raise UnknownNameError(
            f"unknown platform {name!r}; known: {', '.join(p.value for p in Platform)}"
        ) from None


def frontend_of(name: str) -> Any:
    from optcompare.errors import UnknownNameError
    from optcompare.policies.base import Frontend

    try:
        return Frontend(name)
    except ValueError:
        raise UnknownNameError(f"unknown frontend {name!r}; known: blockdev, drive") from None
