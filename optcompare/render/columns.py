"""A table too wide for the page, as tables of fewer columns that repeat the first.

Markdown cannot wrap a cell and rich, short of room, folds words into
single letters and then shows columns empty; either way a reader loses
cells. Splitting by columns keeps every cell whole: each part has the
first column (the row's name) and as many of the next columns as fit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from optcompare.render.document import Block, Document, Section, Table

Fits = Callable[[Table], bool]
"""Whether a table fits the page as the renderer lays it out."""


def _part(table: Table, chosen: list[int]) -> Table:
    return Table(tuple(table.columns[i] for i in chosen),
                 tuple(tuple(row[i] for i in chosen) for row in table.rows),
                 marks=tuple(tuple(marks[i] for i in chosen) for marks in table.marks))


def split_columns(table: Table, fits: Fits) -> list[Table] | None:
    """Parts of ``table`` in column order, each the first column and as many of the
    next as fit; None when the first column and one other do not fit. The parts carry
    no caption and no notes."""
    if len(table.columns) < 3:
        return None
    groups: list[list[int]] = []
    current: list[int] = []
    for index in range(1, len(table.columns)):
        if fits(_part(table, [0, *current, index])):
            current.append(index)
            continue
        if not current or not fits(_part(table, [0, index])):
            return None
        groups.append(current)
        current = [index]
    groups.append(current)
    return [_part(table, [0, *group]) for group in _balanced(table, groups, fits)]


def _balanced(table: Table, groups: list[list[int]], fits: Fits) -> list[list[int]]:
    """As many groups as ``groups`` (the fewest that fit), with the columns shared out
    as evenly as fits: greedy filling leaves a last part of one column."""
    columns = [i for group in groups for i in group]
    even: list[list[int]] = []
    start = 0
    for left in range(len(groups), 0, -1):
        size = -(-(len(columns) - start) // left)  # the rest, shared by the parts left
        even.append(columns[start:start + size])
        start += size
    if all(fits(_part(table, [0, *group])) for group in even):
        return even
    return groups


def fit_tables(document: Document, fits: Fits) -> Document:
    """``document`` with each table that does not fit split (see :func:`split_columns`):
    the caption goes with the first part, the notes with the last. A table that cannot
    be split stays as it is."""
    sections = []
    for section in document.sections:
        blocks: list[Block] = []
        for block in section.blocks:
            parts = (split_columns(block, fits)
                     if isinstance(block, Table) and not fits(block) else None)
            if parts is None or not isinstance(block, Table):
                blocks.append(block)
                continue
            parts[0] = dataclasses.replace(parts[0], caption=block.caption)
            parts[-1] = dataclasses.replace(parts[-1], notes=block.notes)
            blocks += parts
        sections.append(Section(section.title, blocks, section.sub))
    return Document(document.title, sections, list(document.provenance))
