"""The meeting view: what the HTML page and the SVG slides show.

Built from the typed report (never from the terminal: no width, no colour
setting), so the page is the same bytes wherever it is rendered. Every
sentence and every anchor is made here or taken from the report's other
views (the decision, the cell reasons, traces, findings); the templates
only lay it out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from optcompare.analysis import report_model as m
from optcompare.frozen import frozen
from optcompare.render import report_words as w
from optcompare.render.counted import plural
from optcompare.render.document import Block, Item, Paragraph, Preformatted, Table
from optcompare.render.report_full import level_lines, truth_rows
from optcompare.render.report_views import TITLE, report_view
from optcompare.render.views import Footnotes

Mark = m.Mark

CSS_CLASS = {Mark.YES: "yes", Mark.NO: "no", Mark.NA: "na", Mark.ERR: "err"}

MARK_MEANING = (
    (Mark.YES, "meets the criterion"),
    (Mark.NO, "fails it"),
    (Mark.NA, "does not apply"),
    (Mark.ERR, "the check itself broke"),
)

OUTCOME_MARK = {"meets": Mark.YES, "fails": Mark.NO, "not-applicable": Mark.NA,
                "backend-failure": Mark.ERR}


@frozen
class Bullets:
    """Consecutive list points of a view, as one list."""

    items: tuple[str, ...]


@frozen
class Link:
    """A mark that links to its evidence."""

    mark: Mark
    css: str
    href: str
    detail: str


@frozen
class MarkGrid:
    """Marks by row and column, each a link (the scenario outcomes)."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Link | None, ...]], ...]
    """A label, then per column its link, or None: not run there."""


PageBlock = Block | Bullets | MarkGrid


@frozen
class Cell:
    mark: Mark
    css: str
    note: int | None
    """The number of the note that gives the cell's reason, if it needs one."""
    detail: str
    """The reason in words (the tooltip), or the mark's meaning."""
    href: str


@frozen
class Row:
    criterion: str
    title: str
    from_thread: bool
    cells: tuple[Cell, ...]


@frozen
class Column:
    name: str
    parts: tuple[str, ...]
    """The name in pieces a line may break between (after a hyphen before a word)."""
    title: str


@frozen
class RowGroup:
    heading: str
    """Empty for the deciding criteria, which come first."""
    rows: tuple[Row, ...]


@frozen
class Matrix:
    columns: tuple[Column, ...]
    groups: tuple[RowGroup, ...]
    """The deciding criteria; then those every policy scores the same on."""
    notes: tuple[str, ...]

    @property
    def span(self) -> int:
        return len(self.columns) + 1

    @property
    def rows(self) -> tuple[Row, ...]:
        return tuple(row for group in self.groups for row in group.rows)


@frozen
class Evidence:
    """One piece of evidence, in a ``<details>`` of its own."""

    id: str
    summary: str
    blocks: tuple[PageBlock, ...]
    mark: Mark | None = None

    @property
    def css(self) -> str:
        return CSS_CLASS[self.mark] if self.mark else ""


@frozen
class Group:
    id: str
    title: str
    intro: tuple[PageBlock, ...]
    items: tuple[Evidence, ...]


@frozen
class TruthSlide:
    policy: str
    caption: str
    table: Table


@frozen
class SkewSlide:
    builds: tuple[str, ...]
    clients: tuple[str, ...]
    cells: tuple[tuple[tuple[int, int, str], ...], ...]
    """Per client, per build: workflows met, run, and the detection (ok, FP, FN)."""
    note: str


@frozen
class Page:
    title: str
    tool: str
    subtitle: str
    decision: tuple[PageBlock, ...]
    matrix: Matrix
    matrix_note: str
    groups: tuple[Group, ...]
    provenance_summary: str
    provenance: tuple[str, ...]
    truth: tuple[TruthSlide, ...]
    skew: SkewSlide


def anchor(kind: str, *names: str) -> str:
    """An id for a piece of evidence: ``run:qemu-3.1:blockdev-commit-selinux``.

    Names keep letters, digits, ``-``, ``_`` and ``.``; anything else becomes
    ``_``. A colon cannot occur in a name, so two pieces never share an id.
    """
    return ":".join((kind, *(re.sub(r"[^A-Za-z0-9_.-]", "_", name) for name in names)))


def _bullets(blocks: Sequence[Block]) -> tuple[PageBlock, ...]:
    result: list[PageBlock] = []
    for block in blocks:
        if isinstance(block, Item):
            last = result[-1] if result else None
            if isinstance(last, Bullets):
                result[-1] = Bullets((*last.items, block.text))
            else:
                result.append(Bullets((block.text,)))
        else:
            result.append(block)
    return tuple(result)


def _decision(report: m.Report) -> tuple[PageBlock, ...]:
    view = report_view(report)
    section = next(s for s in view.sections if s.title == "Decision")
    return _bullets(section.blocks)


def _name_parts(name: str) -> tuple[str, ...]:
    return tuple(re.split(r"(?<=-)(?=[A-Za-z])", name))


def _truth_id(policy: str, drivers: Sequence[str]) -> str:
    return anchor("truth", policy, drivers[0])


def _href(cell: m.Cell, report: m.Report, runs: set[tuple[str, str]],
          tables: dict[str, dict[str, str]], compat: set[str]) -> str:
    source = cell.source
    policy = source.policy
    if source.kind is m.SourceKind.SCENARIO:
        reason = cell.reason
        named = [reason.scenario] if isinstance(reason, m.ScenarioFailure | m.BackendBroke) \
            else []
        for scenario in (*named, *source.names):
            if (scenario, policy) in runs:
                return "#" + anchor("run", policy, scenario)
        return "#scenarios"
    if source.kind is m.SourceKind.VISIBILITY:
        return "#" + anchor("visibility", policy)
    if source.kind is m.SourceKind.COMPAT:
        return "#" + (anchor("compat", policy) if policy in compat else "compat")
    by_driver = tables.get(policy, {})
    driver = source.names[0] if source.names else "file"
    return "#" + by_driver.get(driver, "truth")


def _matrix(report: m.Report, tables: dict[str, dict[str, str]]) -> Matrix:
    runs = {(r.scenario, r.policy) for r in report.results}
    compat = {c.policy for c in report.compat}
    common = {c.criterion for c in report.decision.common}
    notes = Footnotes()
    deciding: list[Row] = []
    same: list[Row] = []
    for index, criterion in enumerate(report.criteria):
        cells = []
        for row in report.matrix:
            cell = row.cells[index]
            why = w.reason(cell)
            note = notes.number(why) if why and cell.mark is not Mark.NA else None
            meaning = dict(MARK_MEANING)[cell.mark]
            cells.append(Cell(cell.mark, CSS_CLASS[cell.mark], note,
                              f"{cell.mark.value}: {why}" if why else meaning,
                              _href(cell, report, runs, tables, compat)))
        line = Row(criterion.id, w.title(criterion.id), criterion.origin is m.Origin.THREAD,
                   tuple(cells))
        (same if criterion.id in common else deciding).append(line)
    columns = tuple(Column(p.name, _name_parts(p.name), p.title) for p in report.policies)
    groups = [RowGroup("", tuple(deciding))]
    if same:
        groups.append(RowGroup("The same on every policy it applies to (said once, not "
                               "deciding)", tuple(same)))
    return Matrix(columns, tuple(groups), tuple(notes.messages))


def _truth_group(report: m.Report) -> tuple[Group, dict[str, dict[str, str]],
                                            tuple[TruthSlide, ...]]:
    items = []
    ids: dict[str, dict[str, str]] = {}
    slides: list[TruthSlide] = []
    for t in report.truth_tables:
        item_id = _truth_id(t.policy, t.drivers)
        for driver in t.drivers:
            ids.setdefault(t.policy, {})[driver] = item_id
        notes = Footnotes()
        table = Table((*t.options, "mode", "writable image", "unwritable image"),
                      truth_rows(t, notes),
                      notes=tuple(f"[{i}] {text}" for i, text in enumerate(notes.messages, 1)))
        valid = sum(r.mode != "error" for r in t.rows)
        summary = (f"{t.policy}: {', '.join(t.drivers)} ({valid} of "
                   f"{plural(len(t.rows), 'combination')} valid)")
        items.append(Evidence(item_id, summary, (table,)))
        if "file" in t.drivers:
            slides.append(TruthSlide(t.policy, f"{', '.join(t.drivers)}; -{t.frontend}, "
                                     f"{t.platform}; {valid} of {len(t.rows)} combinations "
                                     "valid", table))
    intro: tuple[PageBlock, ...] = (Paragraph(
        "Every driver of every policy, -blockdev, POSIX; drivers with identical tables "
        "grouped. Options: on/off as written; (on)/(off): not given, and what the default "
        "makes it. Opening a writable and an unwritable image: the node's read-only flag / "
        "the descriptor; +d: an access denial was logged; ERR n: QEMU's message n."),)
    return Group("truth", "Truth tables", intro, tuple(items)), ids, tuple(slides)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _visibility_group(report: m.Report) -> Group:
    items = []
    for v in report.visibility:
        glu, hard = v.gluster, v.hard_to_fallback
        rows = (
            ("signal", v.signal),
            ("how a client learns it", v.evidence),
            ("visible in query-qmp-schema alone", _yes(v.visible_in_schema)),
            ("cacheable per binary", _yes(v.cacheable)),
            ("extra command", w.names(list(v.extra_commands)) or "none"),
            ("detectable", ("fragile (version sniffing)" if v.fragile else "yes")
             if v.detectable else "no"),
            ("granularity", v.granularity),
            ("false positives", ", ".join(v.false_positives) or "none"),
            ("false negatives", ", ".join(v.false_negatives) or "none"),
            ("a later driver going dynamic (gluster) is learnt",
             _yes(glu.learns) if glu else "n/a"),
            (f"{hard.driver} going {hard.before} to {hard.after} is visible" if hard else
             "a driver going hard to fallback is visible", _yes(hard.visible) if hard else "n/a"),
        )
        items.append(Evidence(anchor("visibility", v.policy),
                              f"{v.policy}: signal {v.signal}",
                              (Table(("property", "value"), rows),)))
    intro = (Paragraph("What a libvirt written for each policy can learn from the QEMU it "
                       "talks to, and how reliably."),)
    return Group("visibility", "Introspection visibility", intro, tuple(items))


def _compat_group(report: m.Report) -> Group:
    items = []
    for c in report.compat:
        counts = {level: c.count(level) for level in m.Level}
        blocks: list[PageBlock] = []
        for level in (m.Level.BREAK, m.Level.SILENT):
            lines = level_lines(c, level)
            if lines:
                blocks.append(Preformatted(tuple(lines)))
        if not blocks:
            blocks.append(Paragraph("Nothing breaks and nothing changes silently."))
        summary = (f"{c.policy} against {c.against}: {counts[m.Level.BREAK]} break, "
                   f"{counts[m.Level.SILENT]} silent, {counts[m.Level.INFO]} info")
        mark = Mark.NO if counts[m.Level.BREAK] or counts[m.Level.SILENT] else Mark.YES
        items.append(Evidence(anchor("compat", c.policy), summary, tuple(blocks), mark))
    against = w.names(sorted({c.against for c in report.compat})) or "the baseline"
    intro = (Paragraph(f"Each policy from {against} on, against {against}: what a libvirt "
                       "written for it sees change. Informational findings are counted, "
                       "not listed."),)
    return Group("compat", "Compatibility", intro, tuple(items))


def _scenario_group(report: m.Report) -> Group:
    items = []
    for r in report.results:
        mark = OUTCOME_MARK.get(r.outcome, Mark.ERR)
        who = r.policy if r.client == "native" else f"{r.policy} (client {r.client})"
        blocks: tuple[PageBlock, ...]
        if r.outcome == "fails":
            summary = f"{r.scenario} on {who}: fails at step {r.step}, {r.step_text}"
            blocks = (Paragraph(f"Step {r.step} ({r.step_text}) broke: {r.reason}"),
                      Preformatted(tuple(w.trace_lines(r))))
        elif r.outcome == "not-applicable":
            summary = f"{r.scenario} on {who}: not applicable"
            blocks = (Paragraph(f"Not applicable: {r.reason}"),)
        elif r.outcome == "meets":
            summary = f"{r.scenario} on {who}: meets"
            blocks = (Paragraph("Every step gave the result the scenario expects."),)
        else:
            summary = f"{r.scenario} on {who}: the backend broke"
            blocks = (Paragraph(r.reason or "no reason given"),)
        items.append(Evidence(anchor("run", r.policy, r.scenario), summary, blocks, mark))
    builds = list(dict.fromkeys(r.policy for r in report.results))
    index = {(r.scenario, r.policy): r for r in report.results}
    names = list(dict.fromkeys(r.scenario for r in report.results))
    grids: list[PageBlock] = []
    for platform in dict.fromkeys(b.partition("@")[2] for b in builds):
        chosen = [b for b in builds if b.partition("@")[2] == platform]
        rows = []
        for name in names:
            links = tuple(_run_link(index.get((name, b))) for b in chosen)
            if any(links):
                rows.append((name, links))
        grids.append(MarkGrid(f"Scenarios on the {platform.capitalize() or 'POSIX'} builds",
                              tuple(b.partition("@")[0] for b in chosen), tuple(rows)))
    grids.append(Paragraph("yes: meets its requirement; no: fails; n/a: not applicable; "
                           "ERR: the real backend broke; -: not run on that build. Each mark "
                           "links to its run below."))
    overview = tuple(grids)
    return Group("scenarios", "Scenario results", overview, tuple(items))


def _run_link(run: m.Run | None) -> Link | None:
    if run is None:
        return None
    mark = OUTCOME_MARK.get(run.outcome, Mark.ERR)
    return Link(mark, CSS_CLASS[mark], "#" + anchor("run", run.policy, run.scenario),
                f"{run.scenario} on {run.policy}: {run.outcome}")


def _detection(cell: m.SkewCell) -> str:
    bad = [name for name, found in (("FP", cell.false_positives), ("FN", cell.false_negatives))
           if found]
    return "+".join(bad) or "ok"


def _skew(report: m.Report) -> tuple[Group, SkewSlide]:
    builds = tuple(dict.fromkeys(c.build for c in report.skew))
    clients = tuple(dict.fromkeys(c.client for c in report.skew))
    index = {(c.client, c.build): c for c in report.skew}
    note = ("Rows: the libvirt written for a policy (legacy: always -drive, never probes). "
            "Columns: the QEMU build. Each cell: workflows met / run, then the client's "
            "detection (ok; FP: claims a driver that is not dynamic; FN: misses one).")
    table = Table(("client \\ build", *builds), tuple(
        (client, *(f"{index[client, b].met}/{index[client, b].ran} "
                   f"{_detection(index[client, b])}" for b in builds)) for client in clients))
    slide = SkewSlide(builds, clients, tuple(
        tuple((index[client, b].met, index[client, b].ran, _detection(index[client, b]))
              for b in builds) for client in clients), note)
    notes = tuple(Paragraph(w.skew_note(n, len(clients))) for n in report.skew_notes)
    item = Evidence(anchor("skew", "matrix"),
                    f"The matrix: {len(clients)} clients x {len(builds)} builds", (table, *notes))
    return Group("skew", "Version skew", (Paragraph(note),), (item,)), slide


def _considered(report: m.Report) -> Group:
    items = []
    for row, info in zip(report.matrix, report.policies, strict=True):
        points = w.considered_points(row)
        items.append(Evidence(anchor("considered", info.name), f"{info.name}: {info.title}",
                              (Bullets(tuple(points)),) if points else ()))
    return Group("considered", "Considered options", (), tuple(items))


def page(report: m.Report) -> Page:
    truth, tables, truth_slides = _truth_group(report)
    skew, skew_slide = _skew(report)
    matrix = _matrix(report, tables)
    p = report.provenance
    provenance = [
        f"Reproduce: {w.reproduce(report, 'html')} (input sha256 {p.input_sha256})",
        *(f"policy {x.name} ({x.origin}): {x.source}" for x in p.policies),
        *(f"scenario {s.file} sha256 {s.sha256}" for s in p.scenarios),
    ]
    criteria = len(matrix.rows)
    return Page(
        title=TITLE,
        tool=p.tool,
        subtitle=(f"{plural(len(report.policies), 'policy', 'policies')}, "
                  f"{plural(len(p.scenarios), 'scenario')}, {criteria} criteria; "
                  f"every cell computed by {p.tool}."),
        decision=_decision(report),
        matrix=matrix,
        matrix_note=("Rows: the thread's requirements first, then criteria derived from "
                     "them; criteria on which every policy scores the same come last and "
                     "do not decide. Each cell links to the evidence it came from, further "
                     "down; a number points to the cell's reason under the table."),
        groups=(_scenario_group(report), truth, _visibility_group(report),
                _compat_group(report), skew, _considered(report)),
        provenance_summary=f"{p.tool}, input sha256 {p.input_sha256[:16]}...",
        provenance=tuple(provenance),
        truth=truth_slides,
        skew=skew_slide,
    )
