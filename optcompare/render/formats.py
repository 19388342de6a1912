"""Output formats behind one small interface, and atomic writes."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from optcompare import __version__

if TYPE_CHECKING:
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


class JsonOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        return to_json(kind, data)


class MarkdownOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import markdown

        return markdown.render(view(data), width or markdown.WIDTH)


class TextOutput:
    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import text

        return text.render(view(data), width, color=color)


class ExportOutput:
    """HTML or SVG through the terminal view's console export."""

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt

    def render(self, kind: str, data: object, view: View, width: int | None,
               color: bool) -> str:
        from optcompare.render import text

        return text.render_export(view(data), self.fmt.value, width)


OUTPUTS: dict[Format, Output] = {
    Format.TEXT: TextOutput(),
    Format.MARKDOWN: MarkdownOutput(),
    Format.JSON: JsonOutput(),
    Format.HTML: ExportOutput(Format.HTML),
    Format.SVG: ExportOutput(Format.SVG),
}


def render(
    fmt: Format,
    kind: str,
    data: object,
    view: View,
    *,
    width: int | None = None,
    color: bool = False,
) -> str:
    """Render a command's result (a typed model, or plain data) in ``fmt``."""
    return OUTPUTS[fmt].render(kind, data, view, width, color)


def render_inputs(fmt: Format, width: int | None, color: bool) -> list[str]:
    """Everything besides the data that :func:`render` output depends on.

    The report's result cache keys rendered output on this; keep it in step
    with :func:`render` and the renderers it calls.
    """
    if fmt is Format.JSON:
        return [fmt.value]
    if fmt is Format.MARKDOWN:
        import tabulate

        return [fmt.value, str(width), f"tabulate {tabulate.__version__}"]
    from importlib.metadata import version

    return [fmt.value, str(width), str(color), os.environ.get("COLUMNS", ""),
            str("NO_COLOR" in os.environ), f"rich {version('rich')}"]


def write_atomic(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old or the new file."""
    import tempfile

    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
