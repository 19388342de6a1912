"""The report command: the main job of the tool."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from optcompare.commands.common import (
    OutputOption,
    ReportFormatOption,
    WidthOption,
    boundary,
    colored,
    deliver,
    directory_path,
)
from optcompare.errors import OptcompareError
from optcompare.render.formats import Format
from optcompare.render.slide_spec import parse_slide

if TYPE_CHECKING:
    from optcompare import cache
    from optcompare.analysis.report_model import Report


@boundary
def report(
    policy: Annotated[
        list[str] | None,
        typer.Option("--policy", "-p", help="Policy to include (repeatable; default: all)."),
    ] = None,
    scenarios_dir: Annotated[
        Path | None,
        typer.Option("--scenarios", parser=directory_path,
                     help="Scenario files (default: built-in)."),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Add every truth table, compatibility finding, trace, "
                     "the skew matrix and the MADR block."),
    ] = False,
    fmt: ReportFormatOption = Format.TEXT,
    output: OutputOption = None,
    width: WidthOption = None,
    slide: Annotated[
        str | None,
        typer.Option("--slide", help="With --format svg, the slide: matrix (default), "
                     "decision, skew, truth (the first policy's table) or truth:POLICY."),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Replay everything even if a stored result matches "
                     "(also OPTCOMPARE_NO_CACHE=1)."),
    ] = False,
) -> None:
    """The decision, short enough for a reply on qemu-devel: who meets the
    thread's requirements, who is not dominated, the trade-off, what no
    option solves; the verdict matrix; short evidence; how to reproduce it.

    The markdown format is written for a plain-text mailing list (76
    columns, ASCII, at most 160 lines without --full); text is 76 columns
    too unless the terminal is narrower or --width says otherwise. A result
    is stored (in $OPTCOMPARE_CACHE_DIR, else ~/.cache/optcompare) under the
    hash of everything it depends on: the optcompare and plugin source, the
    scenario files, these options. The same inputs are served from there;
    any change replays.

    HTML (a page for a meeting, every piece of evidence folded under the
    matrix) and SVG (one 16:9 slide, see --slide) always carry everything
    --full measures.
    """
    from optcompare import cache
    from optcompare.render.formats import render_inputs

    if slide is not None and fmt is not Format.SVG:
        raise OptcompareError("--slide applies to --format svg only")
    slide = slide or "matrix"
    if fmt is Format.SVG:
        parse_slide(slide)  # a mistyped slide is told before anything is analysed
    if fmt is Format.TEXT and width is None:
        from optcompare.render.markdown import WIDTH as REPLY_WIDTH
        from optcompare.render.text import terminal_width

        width = min(terminal_width(), REPLY_WIDTH)  # the reply fits a mail in a terminal too
    full = full or fmt in (Format.HTML, Format.SVG)
    store = cache.Store.default(disabled=no_cache)
    names = list(dict.fromkeys(policy or []))  # a policy named twice is one column
    inputs = _inputs(store, names, scenarios_dir, full) if store.directory else None
    if inputs is None:  # off, or an input the analysis will report on: store nothing
        store = cache.Store(None)
    color = colored(fmt, output)
    prepare = functools.partial(_prepare, fmt, slide)  # while the search runs
    if store.directory is None:  # nothing to look up or keep: no keys, no codec
        data, _ = _analyse(names, scenarios_dir, full, prepare)
        deliver(_render(data, fmt, width, color, slide), output)
        return
    data_key = cache.key("report data", *(inputs or ()))
    output_key = cache.key("report output", data_key, *render_inputs(fmt, width, color),
                           *([slide] if fmt is Format.SVG else []))
    content = store.get(output_key)
    if content is not None:  # the stored output is the answer: no search will be adopted
        from optcompare.analysis import speculation

        speculation.take(default=False)
    else:
        import json

        from optcompare.render import codec

        stored = _stored_report(store.get(data_key))
        if stored is not None:
            data, problems = stored, False
        else:
            data, problems = _analyse(names, scenarios_dir, full, prepare)
            if store.directory is not None and not problems:
                store.put(data_key, json.dumps(codec.encode(data), ensure_ascii=True))
        content = _render(data, fmt, width, color, slide)
        if not problems:
            store.put(output_key, content)
    deliver(content, output)


def _stored_report(text: str | None) -> Report | None:
    """A stored report, once it is checked to have the report's shape; else None (replay)."""
    if text is None:
        return None
    import json

    from optcompare.analysis.report_model import Report
    from optcompare.render import codec

    try:
        return codec.decode(Report, json.loads(text))
    except (ValueError, RecursionError):  # not JSON, or not a Report (codec.ShapeError)
        return None


def _render(data: Report, fmt: Format, width: int | None, color: bool, slide: str) -> str:
    from optcompare.render.formats import render
    from optcompare.render.report_views import report_view

    return render(fmt, "report", data, report_view, width=width, color=color, slide=slide)


def _prepare(fmt: Format, slide: str) -> None:
    """Import what rendering the report in ``fmt`` takes."""
    from optcompare.render import report_views  # noqa: F401
    from optcompare.render.formats import output

    output(fmt, slide).prepare()


def _analyse(names: list[str], scenarios_dir: Path | None, full: bool,
             meanwhile: Callable[[], None] = lambda: None) -> tuple[Report, bool]:
    """The report data, and whether a plugin was left out (then nothing is stored);
    ``meanwhile``: work that needs no result, done while the search runs."""
    from optcompare.analysis import report_beside, speculation
    from optcompare.policies import registry

    policies = registry.reported(names)
    arguments = [part for name in names for part in ("--policy", name)]
    if scenarios_dir is not None:
        arguments += ["--scenarios", str(scenarios_dir)]
    ahead = speculation.take(default=not names)  # the console's guess, if it was right
    with report_beside.begin(policies, ahead=ahead) as found:
        # Imported and read while the search runs.
        from optcompare.analysis.report import build_report
        from optcompare.scenario import files, load

        scenarios = load.load_all(files.discover(scenarios_dir))
        meanwhile()
        data = build_report(policies, scenarios, full=full, found=found, arguments=arguments)
    return data, bool(registry.plugin_problems())


def _inputs(store: cache.Store, names: list[str], scenarios_dir: Path | None,
            full: bool) -> list[str] | None:
    """Everything the report data depends on, as strings; None if a part is unreadable.

    An unreadable part is left to the analysis, which reports it properly.
    """
    from optcompare import cache
    from optcompare.inputs import SCENARIO_LIMIT
    from optcompare.policies import discovery
    from optcompare.scenario import files

    plugins = discovery.fingerprint(store)
    if plugins is None:
        return None
    try:
        paths = files.discover(scenarios_dir)
        scenario_parts = [part for path in paths
                          for part in (str(path), cache.file_digest(path, SCENARIO_LIMIT))]
    except (OptcompareError, OSError):
        return None
    return [cache.source_digest(), f"full={full}", f"policies={len(names)}", *names,
            f"scenarios-option={scenarios_dir}",
            f"plugins={len(plugins)}", *plugins, f"scenarios={len(paths)}", *scenario_parts]
