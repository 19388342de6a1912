"""Output formats behind one small interface, and atomic writes."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optcompare import __version__

if TYPE_CHECKING:
    from optcompare.render.document import Document


class Format(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"
    SVG = "svg"


def to_json(kind: str, data: dict[str, Any]) -> str:
    import json

    payload = {"optcompare": __version__, "kind": kind, **data}
    return json.dumps(payload, indent=2, sort_keys=False, ensure_ascii=True) + "\n"


def render(
    fmt: Format,
    kind: str,
    data: dict[str, Any],
    view: Callable[[dict[str, Any]], Document],
    *,
    width: int | None = None,
    color: bool = False,
) -> str:
    """Render analysis ``data`` (JSON) or its Document (every other format)."""
    if fmt is Format.JSON:
        return to_json(kind, data)
    document = view(data)
    if fmt is Format.MARKDOWN:
        from optcompare.render import markdown

        return markdown.render(document, width or markdown.WIDTH)
    from optcompare.render import text

    if fmt is Format.TEXT:
        return text.render(document, width, color=color)
    return text.render_export(document, fmt.value, width)


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
