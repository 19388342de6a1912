"""Markdown for a plain-text mailing list (DESIGN section 7).

Lines stay within ``width`` columns; a table that would be wider goes into
a fenced block; only ASCII; no line starts with ``From `` or ``>``; no
trailing spaces; provenance after a ``---`` line.
"""

from __future__ import annotations

import textwrap

from optcompare.render.document import Block, Document, Paragraph, Table

WIDTH = 76


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _safe(line: str) -> str:
    """Keep mail software from quoting or mangling a line."""
    line = line.rstrip()
    if line.startswith((">", "From ")):
        return " " + line
    return line


def _escape_cell(text: str) -> str:
    return text.replace("|", "/")


def _table(table: Table, width: int) -> list[str]:
    from tabulate import tabulate

    rows = [[_escape_cell(c) for c in row] for row in table.rows]
    headers = [_escape_cell(c) for c in table.columns]
    piped = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    lines = piped.splitlines()
    out: list[str] = []
    if table.caption:
        out += [*textwrap.wrap(table.caption, width), ""]
    if max((len(line) for line in lines), default=0) <= width:
        out += lines
    else:
        plain = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
        out += ["```", *plain.splitlines(), "```"]
    for note in table.notes:
        out += ["", *textwrap.wrap(note, width, subsequent_indent="  ")]
    return out


def _block(block: Block, width: int) -> list[str]:
    if isinstance(block, Paragraph):
        return textwrap.wrap(block.text, width, break_on_hyphens=False) or [""]
    if isinstance(block, Table):
        return _table(block, width)
    return ["```", *block.lines, "```"]


def render(document: Document, width: int = WIDTH) -> str:
    lines = [f"# {document.title}", ""]
    for section in document.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += [*_block(block, width), ""]
    if document.provenance:
        lines += ["---", ""]
        for item in document.provenance:
            lines += textwrap.wrap(item, width, subsequent_indent="  ")
        lines.append("")
    text = "\n".join(_safe(_ascii(line)) for line in lines)
    return text.rstrip("\n") + "\n"
