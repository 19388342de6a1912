"""The rich-free text layout is rich's layout, byte for byte, or it declines.

``optcompare.render.plain`` lays out colourless text without importing rich
(the speed of ``table``); whatever it returns must be exactly what rich
prints. Checked on the documents every command produces, at many widths,
and on generated documents; and the commands it exists for take it.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.render import formats, plain, text
from optcompare.render.document import Document, Item, Paragraph, Preformatted, Table

runner = CliRunner()
WIDTHS = (20, 31, 40, 59, 76, 80, 100, 133, 200)

COMMANDS = (
    ("table",), ("table", "option-3"), ("table", "qemu-4.1", "-d", "file"), ("policies",),
    ("drivers",), ("visibility",), ("run",), ("skew",), ("compat", "qemu-4.0"),
    ("probe", "--schema", "list"), ("probe", "--policy", "qemu-4.1"), ("report",),
)


def documents_of(monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]) -> list[Document]:
    documents: list[Document] = []
    real = formats.render

    def keep(fmt: formats.Format, kind: str, data: dict[str, Any], view: Any,
             **options: Any) -> str:
        documents.append(view(data))
        return real(fmt, kind, data, view, **options)

    monkeypatch.setattr(formats, "render", keep)
    result = runner.invoke(app, [*args, "-f", "text"])
    assert result.exit_code == 0, result.stderr
    return documents


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_document_is_laid_out_as_rich_does(
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    for document in documents_of(monkeypatch, args):
        for width in WIDTHS:
            laid_out = plain.render(document, width)
            if laid_out is not None:
                assert laid_out == text.render_rich(document, width), (args, width)


def test_the_table_command_takes_the_plain_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    (document,) = documents_of(monkeypatch, ("table", "option-3"))
    assert plain.render(document, 100) is not None


# -- generated documents ------------------------------------------------------------------

WORDS = st.text(alphabet=string.ascii_letters + string.digits + "-_()[]/.,:'+=", min_size=0,
                max_size=14)
SPACES = st.sampled_from(["", " ", " ", "  ", "   "])
LINE = st.lists(st.tuples(SPACES, WORDS), max_size=25).map(
    lambda parts: "".join(s + w for s, w in parts))
TEXT = st.one_of(LINE, st.lists(LINE, min_size=1, max_size=3).map("\n".join),
                 st.text(alphabet=string.printable, max_size=60))
CELL = st.one_of(WORDS, LINE.map(lambda s: s[:30]))


@st.composite
def tables(draw: st.DrawFn) -> Table:
    columns = tuple(draw(st.lists(CELL, min_size=1, max_size=6)))
    rows = tuple(tuple(draw(CELL) for _ in columns) for _ in range(draw(st.integers(0, 4))))
    caption = draw(st.one_of(st.just(""), TEXT))
    notes = tuple(draw(st.lists(TEXT, max_size=2)))
    return Table(columns, rows, caption, notes)


BLOCK = st.one_of(TEXT.map(Paragraph), TEXT.map(Item), tables(),
                  st.lists(LINE, max_size=4).map(lambda ls: Preformatted(tuple(ls))))


@st.composite
def documents(draw: st.DrawFn) -> Document:
    document = Document(draw(TEXT))
    for title in draw(st.lists(TEXT, max_size=3)):
        section = document.section(title)
        for block in draw(st.lists(BLOCK, max_size=4)):
            section.add(block)
    document.provenance = draw(st.lists(TEXT, max_size=2))
    return document


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=documents(), width=st.integers(20, 140))
def test_a_generated_document_is_laid_out_as_rich_does_or_declined(
    document: Document, width: int
) -> None:
    laid_out = plain.render(document, width)
    if laid_out is not None:
        assert laid_out == text.render_rich(document, width)
