"""Markdown for a plain-text mailing list (DESIGN section 7).

Every line stays within ``width`` columns, fenced blocks included: a table
that would be wider is split into several that repeat its first column,
and one whose single column is still too wide becomes a list; a long line
of a preformatted block is wrapped with an indent. Only ASCII (see
``escape.ascii_text``); no line starts with ``From `` or ``>``; no
trailing spaces; provenance after a ``---`` line.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from optcompare.render.columns import split_columns
from optcompare.render.document import Block, Document, Item, Paragraph, Table

WIDTH = 76


def _safe(line: str) -> str:
    """Keep mail software from quoting or mangling a line."""
    line = line.rstrip()
    if line.startswith((">", "From ")):
        return " " + line
    return line


def _escape_cell(text: str) -> str:
    return text.replace("|", "/")


def _piped(table: Table) -> list[str]:
    """A GitHub pipe table, each column as wide as its widest cell (header included)."""
    headers, rows = table.columns, table.rows
    widths = [max([len(h), 3, *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *(line(r) for r in rows)]


def _fits(lines: list[str], width: int) -> bool:
    return max((len(line) for line in lines), default=0) <= width


def _as_list(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    out: list[str] = []
    for row in rows:
        out += textwrap.wrap(f"- {headers[0]} {row[0]}", width, subsequent_indent="  ")
        for header, cell in zip(headers[1:], row[1:], strict=True):
            out += textwrap.wrap(f"{header}: {cell}", width, initial_indent="  ",
                                 subsequent_indent="    ")
    return out


def _table(table: Table, width: int) -> list[str]:
    escaped = Table(tuple(map(_escape_cell, table.columns)),
                    tuple(tuple(map(_escape_cell, row)) for row in table.rows))
    lines = _piped(escaped)
    out: list[str] = []
    if table.caption:
        out += [*textwrap.wrap(table.caption, width), ""]
    if _fits(lines, width):
        out += lines
    else:
        parts = split_columns(escaped, lambda part: _fits(_piped(part), width))
        if parts is None:
            out += _as_list(escaped.columns, escaped.rows, width)
        else:
            for number, part in enumerate(parts):
                out += ([""] if number else []) + _piped(part)
    if table.notes:
        out.append("")
    for note in table.notes:
        out += textwrap.wrap(note, width, subsequent_indent="    ")
    return out


def _wrap_pre(line: str, width: int) -> list[str]:
    if len(line) <= width:
        return [line]
    indent = len(line) - len(line.lstrip()) + 4
    return textwrap.wrap(line, width, subsequent_indent=" " * indent,
                         break_on_hyphens=False, drop_whitespace=True) or [line[:width]]


def _block(block: Block, width: int) -> list[str]:
    if isinstance(block, Paragraph):
        return textwrap.wrap(block.text, width, break_on_hyphens=False) or [""]
    if isinstance(block, Item):
        return textwrap.wrap(block.text, width, initial_indent="- ", subsequent_indent="  ",
                             break_on_hyphens=False)
    if isinstance(block, Table):
        return _table(block, width)
    return ["```", *(part for line in block.lines for part in _wrap_pre(line, width)), "```"]


def render(document: Document, width: int = WIDTH) -> str:
    from optcompare.render.escape import ascii_model

    document = ascii_model(document)  # before the layout: an escape is wider than its char
    lines = [f"# {document.title}", ""]
    for section in document.sections:
        marker = "###" if section.sub else "##"
        heading = f"{marker} {section.title}"
        if len(heading) > width:  # a heading is one line: the rest opens the section
            head, _, rest = section.title.partition(": ")
            heading = f"{marker} {head}"[:width]
            lines += [heading, "", *textwrap.wrap(rest or section.title, width), ""]
        else:
            lines += [heading, ""]
        for index, block in enumerate(section.blocks):
            lines += _block(block, width)
            following = section.blocks[index + 1] if index + 1 < len(section.blocks) else None
            if not (isinstance(block, Item) and isinstance(following, Item)):
                lines.append("")
    if document.provenance:
        lines += ["---", ""]
        for item in document.provenance:
            lines += textwrap.wrap(item, width, subsequent_indent="  ",
                                   break_on_hyphens=False)
        lines.append("")
    text = "\n".join(_safe(line) for line in lines)
    return text.rstrip("\n") + "\n"
