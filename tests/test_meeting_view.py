"""The meeting view without a browser: the page's and the slides' own rules."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optcompare.analysis.report_model import Report
from optcompare.cli import app
from optcompare.render import meeting, slides
from optcompare.render.svgtext import MIN_SIZE, Font, fit, pieces, wrap

runner = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"


def _report(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, ["report", *args], env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def data() -> Report:
    """The default report, in full, as the page and the slides get it."""
    from optcompare.commands import report

    return report._analyse([], None, True)[0]


@pytest.fixture(scope="module")
def page_html() -> str:
    return _report("-f", "html")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data


def _parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


def test_the_page_asks_for_nothing_outside_itself(page_html: str) -> None:
    parsed = _parse(page_html)
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"link", "script", "img", "iframe", "object", "embed", "base"}
    for tag, attrs in parsed.tags:
        assert "src" not in attrs and "srcset" not in attrs, tag
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
    assert "url(" not in parsed.style and "@import" not in parsed.style
    assert "@font-face" not in parsed.style and "@media print" in parsed.style


def test_every_fragment_names_one_element(page_html: str) -> None:
    parsed = _parse(page_html)
    ids = [attrs["id"] for _, attrs in parsed.tags if attrs.get("id")]
    assert len(ids) == len(set(ids)), "ids are unique"
    hrefs = {attrs["href"] for _, attrs in parsed.tags if attrs.get("href")}
    assert {h for h in hrefs if h and h[1:] not in ids} == set()


def test_the_matrix_is_a_semantic_table_with_each_mark_as_text(page_html: str,
                                                               data: Report) -> None:
    view = meeting.page(data)
    assert '<table class="matrix">' in page_html and "<thead>" in page_html
    assert page_html.count('<th scope="row">') >= len(view.matrix.rows)
    for row in view.matrix.rows:
        for cell in row.cells:
            assert cell.href.startswith("#")
            assert f'class="mark {cell.css}"><a href="{cell.href}"' in page_html
    marks = {cell.mark for row in view.matrix.rows for cell in row.cells}
    assert {meeting.Mark.YES, meeting.Mark.NO, meeting.Mark.NA} <= marks


def test_the_decision_comes_before_the_matrix_and_the_evidence(page_html: str) -> None:
    decision = page_html.index('<section id="decision"')
    matrix = page_html.index('<section id="matrix"')
    assert decision < matrix < page_html.index("<details")


def test_every_trace_table_and_finding_is_in_details(page_html: str) -> None:
    evidence = page_html[page_html.index('<section id="scenarios"'):]
    outside = evidence
    for chunk in evidence.split("<details")[1:]:
        outside = outside.replace(chunk.split("</details>", 1)[0], "")
    assert "<pre>" not in outside
    assert page_html.count("<details") > 50


def test_text_from_the_report_is_escaped(data: Report) -> None:
    """Policy titles and sources come from plugins: markup in them stays text."""
    from optcompare.render import html

    first = dataclasses.replace(data.policies[0], title='<script>alert(1)</script>"')
    prov = dataclasses.replace(data.provenance, policies=(dataclasses.replace(
        data.provenance.policies[0], source="A & B <b>bold</b>"),))
    page = html.render(dataclasses.replace(data, policies=(first, *data.policies[1:]),
                                           provenance=prov))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in page
    assert "A &amp; B &lt;b&gt;bold&lt;/b&gt;" in page and "<b>" not in page


def test_the_same_bytes_whatever_the_terminal() -> None:
    narrow = _report("-f", "html", env={"COLUMNS": "40", "NO_COLOR": "1"})
    wide = _report("-f", "html", "--width", "200", env={"COLUMNS": "300"})
    assert narrow == wide
    assert _report("-f", "svg", env={"COLUMNS": "40"}) == _report("-f", "svg", "--width", "300")


@pytest.mark.parametrize("slide", ["matrix", "decision", "truth", "truth:option-3", "skew"])
def test_a_slide_is_one_16_by_9_picture_with_large_text(slide: str) -> None:
    svg = _report("-f", "svg", "--slide", slide)
    assert len(svg.encode()) < 200_000
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 1920 1080"
    assert (root.get("width"), root.get("height")) == ("1920", "1080")
    texts = list(root.iter(f"{SVG}text"))
    assert len(texts) > 5
    assert all(float(t.get("font-size", "0")) >= MIN_SIZE for t in texts)
    assert not list(root.iter(f"{SVG}image")) and not list(root.iter(f"{SVG}foreignObject"))
    assert "href" not in svg and "url(" not in svg and "@font-face" not in svg


def test_the_matrix_slide_shows_every_cell(data: Report) -> None:
    view = meeting.page(data)
    root = ET.fromstring(_report("-f", "svg"))
    shown = [t.text for t in root.iter(f"{SVG}text")]
    for column in view.matrix.columns:
        assert column.name in shown
    deciding = view.matrix.groups[0].rows
    assert sum(1 for text in shown if text in {"yes", "no", "n/a", "ERR"}) == sum(
        len(row.cells) for row in deciding)
    assert all(row.title in " ".join(t or "" for t in shown) or len(row.title) > 40
               for row in deciding)


def test_a_bad_slide_is_one_line_and_exit_2() -> None:
    for args, message in (
        (["-f", "svg", "--slide", "pie"], "unknown slide 'pie'"),
        (["-f", "svg", "--slide", "truth:nope"], "no truth table of 'nope'"),
        (["-f", "svg", "--slide", "skew:qemu-4.1"], "only truth takes a policy"),
        (["-f", "svg", "--slide", "truth:"], "'truth:' names no policy"),
        (["-f", "svg", "--slide", "matrix:"], "only truth takes a policy"),
        (["-f", "html", "--slide", "matrix"], "--slide applies to --format svg only"),
    ):
        result = runner.invoke(app, ["report", *args])
        assert result.exit_code == 2, args
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize("spec", ["pie", "truth:", "skew:qemu-4.1"])
def test_a_mistyped_slide_is_told_before_anything_is_analysed(
        spec: str, report_analyses: list[list[str]]) -> None:
    result = runner.invoke(app, ["report", "-f", "svg", "--slide", spec])
    assert result.exit_code == 2
    assert report_analyses == []


def test_jinja2_is_imported_only_for_html_and_svg(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from optcompare.cli import main\n"
        "for args in (['table', 'option-3'], ['report', '-f', 'markdown', '-o', sys.argv[1]]):\n"
        "    sys.argv = ['optcompare', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as end:\n"
        "        assert not end.code, end.code\n"
        "print('jinja2' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.md")],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_lines_wrap_within_the_width_and_break_after_hyphens() -> None:
    font = Font(24)
    text = "block-commit under -blockdev, images writable only later"
    for width in (120.0, 200.0, 400.0, 900.0):
        lines = wrap(text, font, width)
        assert all(font.width(line) <= width for line in lines), (width, lines)
        assert " ".join(lines).replace("- ", "-") == text.replace("- ", "-") or width < 200
    assert wrap("explicit-reopen", Font(24, bold=True), 120) == ["explicit-", "reopen"]
    assert [p for p, _ in pieces("-blockdev qemu-3.1 auto-read-only")] == [
        "-blockdev", "qemu-3.1", "auto-", "read-", "only"]


def test_bold_is_wider_and_mono_is_fixed() -> None:
    assert Font(20, bold=True).width("criterion") > Font(20).width("criterion")
    assert Font(20, mono=True).width("iiii") == Font(20, mono=True).width("WWWW")


def test_fit_takes_the_largest_size_that_fits_and_never_goes_under_18() -> None:
    found = fit("a short line", 1000, 100, largest=40)
    assert found is not None and found[0].size == 40
    long = "word " * 400
    found = fit(long, 1800, 800, largest=40)
    assert found is not None and MIN_SIZE <= found[0].size < 40
    assert fit(long * 10, 1800, 800, largest=40) is None


def test_a_table_too_long_for_one_slide_says_how_many_rows_are_left_out(
        data: Report) -> None:
    view = meeting.page(data)
    many = meeting.TruthSlide("qemu-3.1", "caption", meeting.Table(
        ("read-only", "mode"), tuple(("on", f"mode {n}") for n in range(80))))
    longer = dataclasses.replace(view, truth=(many,))
    svg = slides.render_picture(slides.truth(longer, "qemu-3.1", "footer"))
    root = ET.fromstring(svg)
    shown = [t.text or "" for t in root.iter(f"{SVG}text")]
    rows = [t for t in shown if t.startswith("mode ")]
    assert 20 < len(rows) < 80
    assert f"{80 - len(rows)} more rows: see the page (optcompare report --format html)" in shown


def test_a_missing_chromium_fails_in_ci_and_skips_elsewhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import browser

    monkeypatch.setenv("OPTCOMPARE_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        browser.executable()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        browser.executable()


def test_a_cell_that_applies_links_to_its_own_piece_of_evidence(data: Report) -> None:
    view = meeting.page(data)
    items = {item.id: item for group in view.groups for item in group.items}
    for row in view.matrix.rows:
        for cell in row.cells:
            if cell.mark is meeting.Mark.NA:
                continue
            assert cell.href[1:] in items, (row.criterion, cell.href)
    by_kind = {row.criterion: {cell.href.split(":", 1)[0] for cell in row.cells
                               if cell.mark is not meeting.Mark.NA}
               for row in view.matrix.rows}
    assert by_kind["block-commit"] == {"#run"}
    assert by_kind["accuracy"] == {"#visibility"}
    assert by_kind["no-break"] == {"#compat"}
    assert by_kind["cost"] == {"#truth"}
    failed = next(r for r in data.results if r.scenario == "blockdev-commit-selinux"
                  and r.policy == "qemu-3.1")
    assert failed.outcome == "fails"
    commit = next(row for row in view.matrix.rows if row.criterion == "block-commit")
    index = [c.name for c in view.matrix.columns].index("qemu-3.1")
    assert commit.cells[index].href == "#run:qemu-3.1:blockdev-commit-selinux"
    assert "Block node is read-only" in " ".join(
        line for block in items["run:qemu-3.1:blockdev-commit-selinux"].blocks
        if isinstance(block, meeting.Preformatted) for line in block.lines)


GOLDEN = Path(__file__).parent / "golden"
SELECTION = ["-p", "qemu-3.1", "-p", "qemu-4.1", "--scenarios", "tests/golden/scenarios"]
"""The golden files record the command that made them, so the scenarios are named as
a user at the top of the checkout would name them (see ``at_top``)."""


@pytest.fixture(autouse=True)
def at_top(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN.parent.parent)


def test_golden_page_and_matrix_slide() -> None:
    """Exact expected output; after a deliberate change, regenerate with
    ``optcompare report -p qemu-3.1 -p qemu-4.1 --scenarios tests/golden/scenarios
    -f html -o tests/golden/report-3.1-4.1.html`` (and ``-f svg`` into
    ``report-3.1-4.1-matrix.svg``) and read the diff."""
    assert _report(*SELECTION, "-f", "html") == (GOLDEN / "report-3.1-4.1.html").read_text()
    assert _report(*SELECTION, "-f", "svg") == (GOLDEN / "report-3.1-4.1-matrix.svg").read_text()


def test_a_template_change_is_a_new_cache_key(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The templates are not Python: the source digest does not see them, the key must."""
    import shutil

    from optcompare.render import formats, jinja

    copy = tmp_path / "templates"
    shutil.copytree(jinja.TEMPLATES, copy)
    monkeypatch.setattr(jinja, "TEMPLATES", copy)
    before = formats.render_inputs(formats.Format.HTML, None, False)
    assert before == formats.render_inputs(formats.Format.HTML, 100, True)
    (copy / "report.css").write_text((copy / "report.css").read_text() + "/* x */\n")
    assert formats.render_inputs(formats.Format.HTML, None, False) != before
