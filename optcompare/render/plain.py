"""Text without colour, laid out exactly as rich lays it out, without importing rich.

Most text output has no colour (a pipe, a file, ``-o``, ``NO_COLOR``), and
for most documents rich's layout is simple: words wrapped greedily at the
width, ASCII tables whose columns are as wide as their widest cell.
Importing and running rich for that costs more than the rest of a command
such as ``table``. This module reproduces that layout for the cases where
it can be exact (printable ASCII, no word wider than the line, tables that
fit) and answers ``None`` for anything else, which rich then renders.
``tests/test_plain.py`` holds it to rich's output byte for byte, on every
command's documents and on generated ones.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from optcompare.render.document import Document, Item, Paragraph, Preformatted, Table

_PRINTABLE = re.compile(r"[ -~]*")
_WORD = re.compile(r"\s*\S+\s*")  # a word with the whitespace around it, as rich splits
_TRAILING_SPACE = re.compile(r"\s+$")


class _Unsupported(Exception):
    """Something only rich lays out exactly."""


def render(document: Document, width: int) -> str | None:
    """The colourless text rich would print for ``document``, or None when this
    module cannot be sure to match it."""
    try:
        return "".join(line + "\n" for line in _document(document, width))
    except _Unsupported:
        return None


def _document(document: Document, width: int) -> Iterator[str]:
    yield from _wrap(document.title, width)
    for section in document.sections:
        yield ""
        yield from _wrap(section.title, width)
        for index, block in enumerate(section.blocks):
            if not (isinstance(block, Item) and index
                    and isinstance(section.blocks[index - 1], Item)):
                yield ""
            if isinstance(block, Paragraph):
                yield from _wrap(block.text, width)
            elif isinstance(block, Item):
                yield from _wrap("- " + block.text, width)
            elif isinstance(block, Preformatted):
                yield from _wrap("\n".join(block.lines), width)
            else:
                yield from _table(block, width)
                for note in block.notes:
                    yield from _wrap(note, width)
    if document.provenance:
        yield ""
        yield "---"
        for item in document.provenance:
            yield from _wrap(item, width)


def _wrap(text: str, width: int, *, pad: bool = False) -> list[str]:
    """rich's word wrap (``Text.wrap``, fold overflow) of printable ASCII text."""
    lines: list[str] = []
    for line in text.split("\n"):
        if not _PRINTABLE.fullmatch(line):
            raise _Unsupported
        breaks = [0]
        offset = 0
        for match in _WORD.finditer(line):
            start, word = match.start(), match.group()
            length = len(word.rstrip())
            if width - offset >= length:
                offset += len(word)
            elif length > width:
                raise _Unsupported  # rich folds the word across lines
            elif offset and start:
                breaks.append(start)
                offset = len(word)
        breaks.append(len(line))
        for start, end in itertools.pairwise(breaks):
            piece = line[start:end]
            if len(piece) > width:  # trailing whitespace beyond the width goes
                space = _TRAILING_SPACE.search(piece)
                if space is not None:
                    piece = piece[: len(piece) - min(len(space.group()), len(piece) - width)]
                piece = piece[:width]
            lines.append(piece.ljust(width) if pad else piece)
    return lines


def _table(table: Table, width: int) -> list[str]:
    """A rich ASCII2 table whose cells all fit on one line."""
    if not table.columns or "[" in table.caption:  # a caption is rich markup
        raise _Unsupported
    cells = [table.columns, *table.rows]
    for row in cells:
        if len(row) != len(table.columns):
            raise _Unsupported
        for cell in row:
            if not _PRINTABLE.fullmatch(cell):
                raise _Unsupported
    widths = [max(len(row[column]) for row in cells) + 2
              for column in range(len(table.columns))]
    table_width = sum(widths) + len(widths) + 1
    if table_width > width:
        raise _Unsupported  # rich shrinks and wraps the columns
    rule = "+" + "+".join("-" * w for w in widths) + "+"

    def line(row: tuple[str, ...]) -> str:
        return "|" + "|".join(f" {cell.ljust(w - 2)} " for cell, w in zip(row, widths,
                                                                          strict=True)) + "|"

    out = _wrap(table.caption, table_width, pad=True) if table.caption else []
    out += [rule, line(table.columns), rule, *(line(row) for row in table.rows), rule]
    return out
