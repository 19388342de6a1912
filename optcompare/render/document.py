"""The one report model every text format renders.

Views (``optcompare.render.views``) turn analysis data into a Document; the
text, markdown, html and svg renderers only lay it out. JSON renders the
analysis data itself, not the Document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from optcompare.frozen import frozen

YES = "yes"
NO = "no"
ERR = "ERR"


def yes_no(value: bool) -> str:
    return YES if value else NO


@frozen
class Paragraph:
    """Running text."""

    text: str


@frozen
class Item:
    """One point of a list."""

    text: str


@frozen
class Table:
    """A table: a header and its rows."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    notes: tuple[str, ...] = ()
    marks: tuple[tuple[str | None, ...], ...] = ()
    """Per cell, the mark it shows (``yes``, ``no``, ``n/a``, ``ERR``), for
    renderers that add a second cue (colour); empty: none given."""


@frozen
class Preformatted:
    """Lines shown as they are (traces)."""

    lines: tuple[str, ...]


Block = Paragraph | Item | Table | Preformatted


@dataclass
class Section:
    """A titled part of a document."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    sub: bool = False
    """A part of the section before it (one truth table of "Truth tables")."""

    def add(self, block: Block) -> None:
        self.blocks.append(block)


@dataclass
class Document:
    """What a view lays out, for a format to write."""

    title: str
    sections: list[Section] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)

    def section(self, title: str, *, sub: bool = False) -> Section:
        section = Section(title, sub=sub)
        self.sections.append(section)
        return section
