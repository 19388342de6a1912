"""Slides: one 16:9 SVG picture per view, readable from the back of a room.

Each view is laid out on a 1920 x 1080 canvas with the metrics of
:mod:`optcompare.render.svgtext`: the largest type that fits, never under
18 px; text stays text, in the reader's own sans-serif. A table that cannot
fit at 18 px shows the rows that fit and says how many are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.errors import UnknownNameError
from optcompare.frozen import frozen
from optcompare.render import meeting
from optcompare.render.document import Paragraph, Table
from optcompare.render.slide_spec import Slide, parse_slide
from optcompare.render.svgtext import MIN_SIZE, MONO, SANS, Font, fit, widest_piece, wrap

if TYPE_CHECKING:
    from optcompare.analysis.report_model import Report

WIDTH, HEIGHT = 1920, 1080
LEFT, RIGHT = 60, 1860
BODY_TOP, BODY_BOTTOM = 200, 990
PAD_X = 12
LEGEND_Y = 985
"""The baseline of a legend under a table; the table then ends above it."""


INK = "#1b1b1b"
MUTED = "#4a4a4a"
RULE = "#c8c8c8"
HEAD = "#ececec"
FILL = {  # Okabe-Ito blue / vermillion, as tints dark text reads on
    meeting.Mark.YES: ("#d4e8f6", "#0072b2"),
    meeting.Mark.NO: ("#fbdcc6", "#d55e00"),
    meeting.Mark.NA: ("#ececec", "#9a9a9a"),
    meeting.Mark.ERR: ("#f2b48c", "#7a2e00"),
}
SKEW_STEPS = ("#f0f0f0", "#d4e8f6", "#a6cfee", "#6fb0e0", "#3a8fcc")
"""Workflows met as a share of those run, light to dark (one hue: no colour pair to confuse)."""


@frozen
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str = "none"


@frozen
class Text:
    x: float
    y: float
    text: str
    font: Font
    fill: str = INK
    anchor: str = "start"


@frozen
class Picture:
    title: str
    shapes: tuple[Rect | Text, ...]


@frozen
class GridCell:
    text: str
    fill: str = "none"
    bar: str = ""
    """A colour for a bar down the cell's left edge (the mark's colour, as in the page)."""
    bold: bool = False
    ink: str = INK


def _lines(shapes: list[Rect | Text], lines: Sequence[str], font: Font, x: float, top: float,
           *, anchor: str = "start", fill: str = INK) -> float:
    """Lines of text from ``top`` down; returns the y under the last line."""
    y = top
    for line in lines:
        y += font.line_height
        shapes.append(Text(x, round(y - font.size * 0.28, 1), line, font, fill, anchor))
    return y


def _frame(title: str, subtitle: str, footer: str) -> list[Rect | Text]:
    shapes: list[Rect | Text] = [Rect(0, 0, WIDTH, HEIGHT, "#ffffff")]
    title_fit = fit(title, RIGHT - LEFT, 70, largest=56, smallest=36, bold=True)
    font, lines = title_fit or (Font(36, True), [title])
    _lines(shapes, lines[:1], font, LEFT, 50)
    if subtitle:
        sub = fit(subtitle, RIGHT - LEFT, 70, largest=28, smallest=MIN_SIZE)
        if sub:
            _lines(shapes, sub[1], sub[0], LEFT, 118, fill=MUTED)
    _lines(shapes, [footer], Font(20), LEFT, 1030, fill=MUTED)
    return shapes


def _column_widths(natural: list[float], floor: list[float], total: float) -> list[float] | None:
    """Shrink the widest columns first until the table fits ``total``; None if it cannot."""
    widths = list(natural)
    if sum(floor) > total:
        return None
    while sum(widths) > total + 0.01:
        widest = max(widths)
        others = [w for w in widths if w < widest]
        target = max(max(others, default=0.0), (total - sum(others)) / widths.count(widest))
        excess = sum(widths) - total
        count = widths.count(widest)
        target = max(target, widest - excess / count)
        widths = [max(floor[i], target) if w == widest else w for i, w in enumerate(widths)]
        if max(widths) == widest:  # every widest column is at its floor
            return None if sum(widths) > total + 0.01 else widths
    spare = max(0.0, total - sum(widths))
    if len(widths) == 1:
        return [total]
    return [widths[0]] + [w + spare / (len(widths) - 1) for w in widths[1:]]


@frozen
class _Layout:
    font: Font
    widths: list[float]
    heights: list[float]
    wrapped: list[list[list[str]]]


def _layout(rows: list[list[GridCell]], width: float, height: float, largest: int,
            mono: bool) -> tuple[_Layout, int]:
    """The largest size at which the rows fit; at the smallest, the rows that fit."""
    columns = len(rows[0])
    for size in range(largest, MIN_SIZE - 1, -1):
        plain, bold = Font(size, mono=mono), Font(size, True, mono)
        def font_of(cell: GridCell, plain: Font = plain, bold: Font = bold) -> Font:
            return bold if cell.bold else plain
        natural = [max(font_of(r[c]).width(r[c].text) for r in rows) + 2 * PAD_X
                   for c in range(columns)]
        floor = [max(widest_piece(r[c].text, font_of(r[c])) for r in rows) + 2 * PAD_X
                 for c in range(columns)]
        widths = _column_widths(natural, floor, width)
        if widths is None:
            continue
        wrapped = [[wrap(cell.text, font_of(cell), widths[c] - 2 * PAD_X + 0.01) or [""]
                    for c, cell in enumerate(row)] for row in rows]
        heights = [max(len(lines) for lines in row) * plain.line_height + 0.5 * size
                   for row in wrapped]
        if sum(heights) <= height or size == MIN_SIZE:
            shown = len(rows)
            while sum(heights[:shown]) > height:
                shown -= 1
            return _Layout(plain, widths, heights, wrapped), shown
    raise ValueError("a column cannot fit the slide even at the smallest size")


def grid(shapes: list[Rect | Text], rows: list[list[GridCell]], *, top: float = BODY_TOP,
         bottom: float = BODY_BOTTOM, largest: int = 30, mono: bool = False,
         left: float = LEFT, right: float = RIGHT) -> int:
    """Draw ``rows`` (the first is the header) as a table; returns the rows left out."""
    layout, shown = _layout(rows, right - left, bottom - top, largest, mono)
    y = top
    for r in range(shown):
        x = float(left)
        for c, cell in enumerate(rows[r]):
            w, h = layout.widths[c], layout.heights[r]
            if cell.fill != "none":
                shapes.append(Rect(x + 2, y + 2, w - 4, h - 4, cell.fill))
            if cell.bar:
                shapes.append(Rect(x + 2, y + 2, 7, h - 4, cell.bar))
            font = Font(layout.font.size, cell.bold, mono)
            lines = layout.wrapped[r][c]
            block = len(lines) * font.line_height
            centre = c > 0
            _lines(shapes, lines, font, x + w / 2 if centre else x + PAD_X + (6 if cell.bar else 0),
                   y + (h - block) / 2, anchor="middle" if centre else "start", fill=cell.ink)
            x += w
        y += layout.heights[r]
        shapes.append(Rect(left, y - 1, right - left, 2 if r == 0 else 1, INK if r == 0 else RULE))
    return len(rows) - shown


def _legend(shapes: list[Rect | Text], items: Sequence[tuple[str, str, str]], y: float) -> None:
    font = Font(22)
    x = float(LEFT)
    for swatch, mark, meaning in items:
        label = f"{mark}: {meaning}" if mark else meaning
        shapes.append(Rect(x, y - 22, 28, 28, swatch))
        shapes.append(Text(x + 38, y, label, font, INK))
        x += 38 + font.width(label) + 40


def matrix(page: meeting.Page, footer: str) -> Picture:
    shapes = _frame("Verdict matrix", page.subtitle, footer)
    m = page.matrix
    header = [GridCell("criterion", HEAD, bold=True)] + [GridCell(c.name, HEAD, bold=True)
                                                         for c in m.columns]
    rows = [header]
    deciding, *rest = m.groups
    for row in deciding.rows:
        label = row.title + (" (thread)" if row.from_thread else "")
        cells = [GridCell(label, bold=row.from_thread)]
        cells += [GridCell(cell.mark.value, FILL[cell.mark][0], FILL[cell.mark][1],
                           bold=cell.mark in (meeting.Mark.YES, meeting.Mark.NO))
                  for cell in row.cells]
        rows.append(cells)
    same = [f"{row.title} ({_one_mark(row)})" for group in rest for row in group.rows]
    note_font = Font(22)
    note = wrap("Not deciding, the same on every policy it applies to: " + "; ".join(same)
                + ".", note_font, RIGHT - LEFT) if same else []
    bottom = LEGEND_Y - 45 - len(note) * note_font.line_height
    grid(shapes, rows, bottom=bottom, largest=30)
    _lines(shapes, note, note_font, LEFT, bottom + 6, fill=MUTED)
    _legend(shapes, [(FILL[mark][1], mark.value, meaning) for mark, meaning in
                     meeting.MARK_MEANING[:3]] + [("#ffffff", "", "bold (thread): a "
                                                   "requirement from the thread")], LEGEND_Y)
    return Picture("Verdict matrix", tuple(shapes))


def _one_mark(row: meeting.Row) -> str:
    marks = [c.mark.value for c in row.cells if c.mark is not meeting.Mark.NA]
    return marks[0] if marks else meeting.Mark.NA.value


def _prose(blocks: Sequence[meeting.PageBlock], size: int) -> list[tuple[float, str]]:
    """Lines (indent, text) of paragraphs and bullet lists at ``size`` px."""
    font = Font(size)
    lines: list[tuple[float, str]] = []
    indent = font.width("\u2022 ")
    for block in blocks:
        if isinstance(block, meeting.Bullets):
            for item in block.items:
                wrapped = wrap(item, font, RIGHT - LEFT - indent)
                lines += [(0.0, "\u2022 " + wrapped[0])] + [(indent, t) for t in wrapped[1:]]
        elif isinstance(block, Paragraph):
            lines += [(0.0, t) for t in wrap(block.text, font, RIGHT - LEFT)]
        lines.append((0.0, ""))
    return lines[:-1]


def decision(page: meeting.Page, footer: str) -> Picture:
    shapes = _frame("Decision", page.subtitle, footer)
    height = BODY_BOTTOM - BODY_TOP + 10
    for size in range(40, MIN_SIZE - 1, -1):
        lines = _prose(page.decision, size)
        if len(lines) * Font(size).line_height <= height:
            break
    else:
        keep = int(height // Font(size).line_height) - 1
        lines = [*lines[:keep], (0.0, "... continued on the page "
                                      "(optcompare report --format html)")]
    font = Font(size)
    y: float = BODY_TOP - 10
    for indent, text in lines:
        y += font.line_height
        if text:
            shapes.append(Text(LEFT + indent, round(y - font.size * 0.28, 1), text, font))
    return Picture("Decision", tuple(shapes))


def truth(page: meeting.Page, policy: str, footer: str) -> Picture:
    slide = next(t for t in page.truth if t.policy == policy)
    table: Table = slide.table
    shapes = _frame(f"Truth table: {policy}", slide.caption, footer)
    note_font = Font(22)
    note_lines = [line for n in table.notes for line in wrap(n, note_font, RIGHT - LEFT)]
    bottom = BODY_BOTTOM - len(note_lines) * note_font.line_height - (10 if note_lines else 0)
    header = [GridCell(c, HEAD, bold=True) for c in table.columns]
    body = [[GridCell(c) for c in row] for row in table.rows]
    halves = 2 if _layout([header, *body], RIGHT - LEFT, bottom - BODY_TOP, 30, True)[1] \
        < len(body) + 1 and len(table.columns) <= 7 else 1
    per = -(-len(body) // halves)
    left_out = 0
    width = (RIGHT - LEFT - 40 * (halves - 1)) / halves
    for half in range(halves):
        x = LEFT + half * (width + 40)
        left_out += grid(shapes, [header, *body[half * per:(half + 1) * per]], bottom=bottom,
                         largest=30, mono=True, left=x, right=x + width)
    if left_out:
        note_lines.insert(0, f"{left_out} more row{'s' if left_out != 1 else ''}: "
                             "see the page (optcompare report --format html)")
    _lines(shapes, note_lines, note_font, LEFT, BODY_BOTTOM - len(note_lines) *
           note_font.line_height, fill=MUTED)
    return Picture(f"Truth table: {policy}", tuple(shapes))


def skew(page: meeting.Page, footer: str) -> Picture:
    shapes = _frame("Version skew: libvirt for a policy x QEMU build", page.skew.note, footer)
    s = page.skew
    rows = [[GridCell("client \\ build", HEAD, bold=True)] +
            [GridCell(b, HEAD, bold=True) for b in s.builds]]
    for client, cells in zip(s.clients, s.cells, strict=True):
        row = [GridCell(client, bold=True)]
        for met, ran, detection in cells:
            step = SKEW_STEPS[min(len(SKEW_STEPS) - 1, met * len(SKEW_STEPS) // ran)
                              if ran else 0]
            row.append(GridCell(f"{met}/{ran} {detection}", step, bold=detection == "ok"))
        rows.append(row)
    grid(shapes, rows, bottom=LEGEND_Y - 45, largest=30)
    _legend(shapes, [(SKEW_STEPS[0], "", "few workflows met"),
                     (SKEW_STEPS[-1], "", "most met"),
                     ("#ffffff", "", "ok / FP / FN: the client's detection")], LEGEND_Y)
    return Picture("Version skew", tuple(shapes))


def picture(page: meeting.Page, slide: Slide, policy: str | None, footer: str) -> Picture:
    if slide is Slide.MATRIX:
        return matrix(page, footer)
    if slide is Slide.DECISION:
        return decision(page, footer)
    if slide is Slide.SKEW:
        return skew(page, footer)
    return truth(page, policy or page.truth[0].policy, footer)


def choose(spec: str, page: meeting.Page) -> tuple[Slide, str | None]:
    """The slide ``spec`` names (see :func:`slide_spec.parse_slide`), a truth slide with the
    policy whose table it shows."""
    slide, policy = parse_slide(spec)
    if slide is Slide.TRUTH:
        known = [t.policy for t in page.truth]
        policy = policy or known[0]
        if policy not in known:
            raise UnknownNameError(f"--slide: no truth table of {policy!r} in this report; "
                                   f"known: {', '.join(known)}")
    return slide, policy


def render(report: Report, spec: str) -> str:
    page = meeting.page(report)
    slide, policy = choose(spec, page)
    footer = f"{page.tool} · optcompare report --format svg --slide {spec}"
    return render_picture(picture(page, slide, policy, footer))


def render_picture(pic: Picture) -> str:
    from optcompare.render import jinja

    return jinja.environment((("rect", Rect),)).get_template("slide.svg").render(
        picture=pic, width=WIDTH, height=HEIGHT, ink=INK, sans=SANS, mono=MONO)
