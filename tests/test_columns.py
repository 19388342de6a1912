"""A table too wide for the page is split by columns: every cell stays whole and
keeps its row's name (markdown and text alike)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.render.columns import fit_tables, split_columns
from optcompare.render.document import Document, Paragraph, Table

runner = CliRunner()


def wide(columns: int) -> Table:
    return Table(("name", *(f"c{i}" for i in range(columns))),
                 tuple((f"row{r}", *(f"v{r}.{i}" for i in range(columns))) for r in range(3)),
                 caption="caption", notes=("[1] a note",),
                 marks=tuple((None, *("yes",) * columns) for _ in range(3)))


def at_most(width: int) -> object:
    return lambda table: sum(max(len(row[i]) for row in (table.columns, *table.rows)) + 3
                             for i in range(len(table.columns))) + 1 <= width


def test_the_parts_repeat_the_first_column_and_keep_every_cell_in_order() -> None:
    table = wide(9)
    parts = split_columns(table, at_most(40))  # type: ignore[arg-type]
    assert parts is not None and len(parts) > 1
    assert all(part.columns[0] == "name" and at_most(40)(part) for part in parts)  # type: ignore[operator]
    assert [c for part in parts for c in part.columns[1:]] == list(table.columns[1:])
    for number, row in enumerate(table.rows):
        assert [c for part in parts for c in part.rows[number][1:]] == list(row[1:])
        assert all(part.rows[number][0] == row[0] for part in parts)
    assert all(len(part.marks) == 3 and len(part.marks[0]) == len(part.columns)
               for part in parts)


def test_a_table_too_narrow_for_two_columns_is_not_split() -> None:
    assert split_columns(wide(4), at_most(10)) is None  # type: ignore[arg-type]


def test_a_document_keeps_the_caption_on_the_first_part_and_the_notes_on_the_last() -> None:
    doc = Document("t")
    doc.section("s").add(wide(9))
    doc.sections[0].add(Paragraph("after"))
    fitted = fit_tables(doc, at_most(40))  # type: ignore[arg-type]
    blocks = fitted.sections[0].blocks
    tables = [b for b in blocks if isinstance(b, Table)]
    assert len(tables) > 1 and blocks[-1] == Paragraph("after")
    assert [t.caption for t in tables] == ["caption", *[""] * (len(tables) - 1)]
    assert [t.notes for t in tables] == [*[()] * (len(tables) - 1), ("[1] a note",)]
    assert doc.sections[0].blocks[0] == wide(9)  # the document given is left as it was


def matrix_cells(width: int) -> dict[tuple[str, str], str]:
    """The verdict matrix of the text report at ``width``, by criterion and column."""
    out = runner.invoke(app, ["report", "-f", "text", "--width", str(width)]).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    matrix = lines[lines.index("Verdict matrix"):]
    matrix = matrix[:next(i for i, line in enumerate(matrix) if line.startswith("[1] "))]
    cells: dict[tuple[str, str], str] = {}
    header: list[str] = []
    for line in matrix:
        if line.startswith("|"):
            row = [c.strip() for c in line.strip("|").split("|")]
            if row[0] == "criterion":
                header = row[1:]
            else:
                cells.update({(row[0], column): cell
                              for column, cell in zip(header, row[1:], strict=True)})
    return cells


@pytest.mark.parametrize("width", [30, 40, 60])
def test_a_narrow_text_report_shows_every_cell_of_the_matrix(width: int) -> None:
    """rich, short of room, folded cells into letters and showed columns empty."""
    wide = matrix_cells(200)
    criteria, columns = {c for c, _ in wide}, {p for _, p in wide}
    assert len(wide) == len(criteria) * len(columns) > 100 and all(wide.values())
    assert matrix_cells(width) == wide


def test_the_columns_are_shared_out_evenly_among_the_fewest_parts() -> None:
    """Filled greedily, nine columns at this width are 7 and 2 (the explore table was 5
    and 1); the parts are as many, and as even as fits."""
    parts = split_columns(wide(9), at_most(60))  # type: ignore[arg-type]
    assert parts is not None
    assert [len(p.columns) - 1 for p in parts] == [5, 4]
    uneven = Table(("name", "a" * 30, "b", "c", "d"), (("x", "1", "2", "3", "4"),))
    parts = split_columns(uneven, at_most(44))  # type: ignore[arg-type]
    assert parts is not None  # 2 and 2 would not fit: the greedy parts stay
    assert [p.columns[1:] for p in parts] == [("a" * 30,), ("b", "c", "d")]
