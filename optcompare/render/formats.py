"""Output formats behind one small interface."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from optcompare import __version__

if TYPE_CHECKING:
    from optcompare.analysis.report_model import Report
    from optcompare.render.document import Document


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"
    SVG = "svg"


def to_json(kind: str, data: object) -> str:
    """``data``: a typed model (a dataclass) or plain data."""
    import dataclasses
    import json

    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        from optcompare.render import codec

        data = codec.encode(data)
    assert isinstance(data, dict)
    payload = {"optcompare": __version__, "kind": kind, **data}
    return json.dumps(payload, indent=2, sort_keys=False, ensure_ascii=True) + "\n"


View = Callable[[Any], "Document"]


class Output(Protocol):
    """One output format: what a command's result looks like in it."""

    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str: ...

    def prepare(self) -> None:
        """Import what :meth:`render` needs, ahead of it (while other work runs)."""


class JsonOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        return to_json(kind, data)

    def prepare(self) -> None:
        import json  # noqa: F401

        from optcompare.render import codec  # noqa: F401


class MarkdownOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import markdown

        return markdown.render(_document(view, data), width or markdown.WIDTH)

    def prepare(self) -> None:
        from optcompare.render import escape, markdown  # noqa: F401


class TextOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import text

        return text.render(_document(view, data), width, color=color)

    def prepare(self) -> None:
        from optcompare.render import escape, text  # noqa: F401


class PageOutput:
    """The meeting page: the report's own model, never a terminal view."""

    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import html

        return html.render(_report(kind, data))

    def prepare(self) -> None:
        from optcompare.render import escape, html  # noqa: F401


class SlideOutput:
    """One slide of the meeting view, chosen by ``slide`` (see ``slides.choose``)."""

    def __init__(self, slide: str = "matrix") -> None:
        self.slide = slide

    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import slides

        return slides.render(_report(kind, data), self.slide)

    def prepare(self) -> None:
        from optcompare.render import escape, slides  # noqa: F401


def _document(view: View, data: object) -> Document:
    """The Document a view makes of ``data``, every string in it printable.

    With :func:`_report`, the one path by which text from scenario files and
    plugins reaches a renderer: control characters become escapes there
    (see ``render.escape``); JSON escapes them itself.
    """
    from optcompare.render.escape import printable_model

    return printable_model(view(data))


def _report(kind: str, data: object) -> Report:
    """The report model for the meeting page and slides, every string in it printable."""
    from optcompare.analysis.report_model import Report
    from optcompare.errors import OptcompareError
    from optcompare.render.escape import printable_model

    if kind != "report" or not isinstance(data, Report):
        raise OptcompareError(f"--format html and svg are only available for 'report', "
                              f"not {kind!r}")
    return printable_model(data)


OUTPUTS: dict[Format, Output] = {
    Format.TEXT: TextOutput(),
    Format.MARKDOWN: MarkdownOutput(),
    Format.JSON: JsonOutput(),
    Format.HTML: PageOutput(),
    Format.SVG: SlideOutput(),
}


def output(fmt: Format, slide: str = "matrix") -> Output:
    """The format's output; for SVG, the one that draws ``slide``."""
    return SlideOutput(slide) if fmt is Format.SVG else OUTPUTS[fmt]


def render(
    fmt: Format,
    kind: str,
    data: object,
    view: View,
    *,
    width: int | None = None,
    color: bool = False,
    slide: str = "matrix",
    encode: Callable[[Any], dict[str, object]] | None = None,
) -> str:
    """Render a command's result (a typed model, or plain data) in ``fmt``; ``encode``:
    the command's JSON of its model, when it is not the model itself."""
    if fmt is Format.JSON and encode is not None:
        data = encode(data)
    return output(fmt, slide).render(kind, data, view, width, color)


def render_inputs(fmt: Format, width: int | None, color: bool) -> list[str]:
    """Everything besides the data that :func:`render` output depends on.

    The report's result cache keys rendered output on this; keep it in step
    with :func:`render` and the renderers it calls.
    """
    if fmt is Format.JSON:
        return [fmt.value]
    if fmt in (Format.HTML, Format.SVG):  # the same bytes whatever the terminal
        from importlib.metadata import version

        from optcompare.cache import tree_digest
        from optcompare.render import jinja

        return [fmt.value, f"jinja2 {version('jinja2')}",
                f"templates {tree_digest([jinja.TEMPLATES], suffix='')}"]
    from importlib.metadata import version

    if fmt is Format.MARKDOWN:
        return [fmt.value, str(width), f"tabulate {version('tabulate')}"]
    return [fmt.value, str(width), str(color), os.environ.get("COLUMNS", ""),
            str("NO_COLOR" in os.environ), f"rich {version('rich')}"]
