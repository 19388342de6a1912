"""The terminal view, through rich. Colour is only ever a second cue."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from optcompare.render.document import (
    ERR,
    NO,
    YES,
    Document,
    Item,
    Paragraph,
    Preformatted,
    Table,
)

if TYPE_CHECKING:
    from rich.console import Console

_STYLES = {YES: "green", NO: "red", ERR: "bold red"}


def _cell_style(text: str) -> str | None:
    head = text.split(" ", 1)[0].rstrip(":,")
    return _STYLES.get(head)


DEFAULT_WIDTH = 100


def terminal_width() -> int:
    """``$COLUMNS`` when it is a usable width (20 or more), else 100."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) >= 20 else DEFAULT_WIDTH


def console(width: int | None = None, *, color: bool = False, record: bool = False,
            file: io.StringIO | None = None) -> Console:
    from rich.console import Console

    if width is None:
        width = terminal_width()
    return Console(
        file=file or io.StringIO(),
        width=width,
        force_terminal=color,
        no_color=not color or "NO_COLOR" in os.environ,
        color_system="standard" if color else None,
        record=record,
        highlight=False,
        emoji=False,
        legacy_windows=False,
        soft_wrap=False,
    )


def draw(document: Document, out: Console) -> None:
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    out.print(Text(document.title, style="bold"))
    for section in document.sections:
        out.print()
        out.print(Text(section.title, style="bold" if section.sub else "bold underline"))
        for index, block in enumerate(section.blocks):
            if not (isinstance(block, Item) and index and isinstance(section.blocks[index - 1],
                                                                      Item)):
                out.print()
            if isinstance(block, Paragraph):
                out.print(Text(block.text))
            elif isinstance(block, Item):
                out.print(Text("- " + block.text))
            elif isinstance(block, Preformatted):
                out.print(Text("\n".join(block.lines)))
            elif isinstance(block, Table):
                # Text, never a markup string: a name like "[bold]" is shown as it is.
                table = RichTable(box=box.ASCII2, title=Text(block.caption) if block.caption
                                  else None, title_justify="left", show_lines=False,
                                  expand=False)
                for index, column in enumerate(block.columns):
                    table.add_column(Text(column), overflow="fold", no_wrap=index == 0)
                for number, row in enumerate(block.rows):
                    marks = block.marks[number] if block.marks else (None,) * len(row)
                    table.add_row(*(Text(c, style=(_STYLES.get(mark or "") if block.marks
                                                   else _cell_style(c)) or "")
                                    for c, mark in zip(row, marks, strict=True)))
                out.print(table)
                for note in block.notes:
                    out.print(Text(note))
    if document.provenance:
        out.print()
        out.print("---")
        for item in document.provenance:
            out.print(Text(item))


def _least_width(table: Table) -> int:
    """The narrowest rich can draw ``table`` without folding a word: the first column
    whole (it never wraps), every other as wide as its longest word, plus the borders
    and padding of box.ASCII2."""
    rows = (table.columns, *table.rows)
    first = max(len(row[0]) for row in rows)
    others = sum(max((len(word) for row in rows for word in row[i].split()), default=0)
                 for i in range(1, len(table.columns)))
    return first + others + 3 * len(table.columns) + 1


def render(document: Document, width: int | None = None, *, color: bool = False) -> str:
    """The document for a terminal; without colour, also for a file or a mail, so no
    line ends in the spaces rich leaves where it wraps or pads. A table that rich could
    only draw by folding words (or dropping cells) is split by columns first."""
    from optcompare.render.columns import fit_tables

    width = terminal_width() if width is None else width
    document = fit_tables(document, lambda table: _least_width(table) <= width)
    if color:
        return render_rich(document, width, color=True)
    from optcompare.render import plain  # the common case needs none of rich

    laid_out = plain.render(document, width)
    if laid_out is None:
        laid_out = render_rich(document, width)
    return "".join(line.rstrip(" ") + "\n" for line in laid_out.splitlines())


def render_rich(document: Document, width: int | None = None, *, color: bool = False) -> str:
    """The document laid out by rich (what :func:`render` matches without colour)."""
    buffer = io.StringIO()
    draw(document, console(width, color=color, file=buffer))
    return buffer.getvalue()
