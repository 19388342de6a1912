"""The meeting view in a real browser: Debian's Chromium through Playwright.

The page and the slides are served from memory at an address of their own;
every other request the browser makes is recorded and refused, so "no
request but the page itself" is measured, not assumed. Screenshots of the
page top and of each slide go to ``screenshots/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser import SCREENSHOTS, chromium
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.render.svgtext import MIN_SIZE, Font

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

runner = CliRunner()
ORIGIN = "http://meeting.invalid"
SLIDES = ("matrix", "decision", "truth", "skew")


def _report(*args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def served() -> dict[str, tuple[str, str]]:
    """Address path -> (content type, body): the page, each slide, a page showing a slide."""
    files = {"/report.html": ("text/html; charset=utf-8", _report("-f", "html"))}
    for slide in SLIDES:
        files[f"/{slide}.svg"] = ("image/svg+xml", _report("-f", "svg", "--slide", slide))
    files["/img.html"] = ("text/html; charset=utf-8",
                          '<!DOCTYPE html><title>slide</title><img src="/matrix.svg" alt="">')
    return files


@dataclass
class Visit:
    page: Page
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory,
            served: dict[str, tuple[str, str]]) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("chromium-profile"), 1280, 800) as browser:
        yield browser


@pytest.fixture
def visit(context: BrowserContext, served: dict[str, tuple[str, str]]) -> Iterator[Any]:
    opened: list[Visit] = []

    def open_page(path: str, width: int = 1280, height: int = 800) -> Visit:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        seen = Visit(page)

        def answer(route: Route) -> None:
            url = route.request.url
            local = url.removeprefix(ORIGIN).split("#", 1)[0]
            if url.startswith(ORIGIN) and local in served:
                kind, body = served[local]
                route.fulfill(status=200, content_type=kind, body=body)
            else:
                seen.refused.append(url)
                route.abort()

        page.route("**/*", answer)
        page.on("request", lambda request: seen.requests.append(request.url))
        page.on("websocket", lambda ws: seen.refused.append(ws.url))
        page.on("console", lambda msg: seen.errors.append(msg.text)
                if msg.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.goto(ORIGIN + path, wait_until="load")
        opened.append(seen)
        return seen

    yield open_page
    for seen in opened:
        seen.page.close()


def test_the_page_never_scrolls_sideways_at_1280(visit: Any) -> None:
    seen = visit("/report.html")
    page = seen.page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "page-top.png"))
    width = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    scroll, client = page.evaluate(width)
    assert client == 1280 and scroll <= client, (scroll, client)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    scroll, client = page.evaluate(width)
    assert scroll <= client, f"with every <details> open the page is {scroll} px wide"
    # A policy name in the matrix header stays on one line ("qemu-3" / ".0" is a defect).
    heights = page.eval_on_selector_all(
        "table.matrix thead th.name",
        "cells => cells.map(c => [c.textContent, c.scrollWidth <= c.clientWidth])")
    assert heights and all(fits for _, fits in heights), heights


def test_the_decision_comes_first(visit: Any) -> None:
    page = visit("/report.html").page
    order = page.eval_on_selector_all("main > section", "s => s.map(x => x.id)")
    assert order[:2] == ["decision", "matrix"]
    top = page.eval_on_selector("#decision", "e => e.getBoundingClientRect().top")
    assert top < 800, "the decision starts in the first screen"


def test_every_matrix_link_lands_on_a_visible_element(visit: Any) -> None:
    page = visit("/report.html").page
    hrefs: list[str] = page.eval_on_selector_all(
        "table.matrix tbody td a", "links => links.map(a => a.getAttribute('href'))")
    cells = page.eval_on_selector_all("table.matrix tbody td", "cells => cells.length")
    assert hrefs and len(hrefs) == cells, "every cell is a link"
    checked = set()
    for href in hrefs:
        assert href.startswith("#"), href
        if href in checked:
            continue
        checked.add(href)
        target = page.locator(f'[id="{href[1:]}"]')
        assert target.count() == 1, f"{href}: no single element with that id"
        page.evaluate("id => { const e = document.getElementById(id); const d = e.closest("
                      "'details'); if (d) d.open = true; }", href[1:])
        assert target.is_visible(), f"{href} is not visible once its <details> is open"
        box = target.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, href
    assert len(checked) > 20, "cells point at their own evidence, not all at one place"


def test_following_a_matrix_link_opens_and_shows_its_evidence(visit: Any) -> None:
    page = visit("/report.html").page
    links = page.locator("table.matrix tbody td a")
    for index in (0, links.count() // 2, links.count() - 1):
        link = links.nth(index)
        href = link.get_attribute("href")
        assert href
        link.click()
        page.wait_for_function("id => location.hash === '#' + id", arg=href[1:])
        target = page.locator(f'[id="{href[1:]}"]')
        assert target.is_visible(), href
        box = target.bounding_box()
        assert box and 0 <= box["y"] < 800, f"{href} is not in view after the click: {box}"
        page.evaluate("() => window.scrollTo(0, 0)")


def test_no_console_error_and_no_request_but_the_page(visit: Any) -> None:
    seen = visit("/report.html")
    seen.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    seen.page.wait_for_timeout(200)
    assert seen.requests == [ORIGIN + "/report.html"]
    assert seen.refused == []
    assert seen.errors == []


def test_print_shows_the_evidence_and_the_palette(visit: Any) -> None:
    page = visit("/report.html").page
    page.emulate_media(media="print")
    closed = page.eval_on_selector_all(
        "details:not([open]) pre", "pres => pres.map(p => p.getBoundingClientRect().height)")
    assert closed and min(closed) > 0, "a printed page shows the traces of closed <details>"
    hidden = page.eval_on_selector("nav", "n => getComputedStyle(n).display")
    assert hidden == "none"
    adjust = page.eval_on_selector("table.matrix td.yes",
                                   "td => getComputedStyle(td).printColorAdjust")
    assert adjust == "exact"


@pytest.mark.parametrize("slide", SLIDES)
def test_each_slide_loads_at_16_by_9_and_reads_from_the_back(visit: Any, slide: str) -> None:
    seen = visit(f"/{slide}.svg", 1920, 1080)
    page = seen.page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"slide-{slide}.png"))
    size = page.evaluate("(() => { const r = document.documentElement.getBoundingClientRect();"
                         " return [document.documentElement.tagName, r.width, r.height,"
                         " document.documentElement.getAttribute('viewBox')]; })()")
    assert size == ["svg", 1920, 1080, "0 0 1920 1080"]
    texts = page.eval_on_selector_all("text", """texts => texts.map(t => {
        const b = t.getBBox(), s = getComputedStyle(t);
        return {text: t.textContent, size: parseFloat(s.fontSize), bold: s.fontWeight >= 600,
                mono: t.classList.contains('mono'), length: t.getComputedTextLength(),
                x: b.x, y: b.y, w: b.width, h: b.height};
    })""")
    assert len(texts) > 5
    for t in texts:
        assert t["size"] >= MIN_SIZE, t
        assert t["x"] >= 0 and t["y"] >= 0, t
        assert t["x"] + t["w"] <= 1920 and t["y"] + t["h"] <= 1080, t
        measured = Font(t["size"], t["bold"], t["mono"]).width(t["text"])
        assert t["length"] <= measured + 0.5, f"the layout under-measured {t}"
    boxes = [(t["x"], t["y"] + t["h"] * 0.2, t["x"] + t["w"], t["y"] + t["h"] * 0.8)
             for t in texts if t["text"].strip()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            assert not overlap, f"texts overlap: {a} {b}"
    assert seen.requests == [f"{ORIGIN}/{slide}.svg"]
    assert seen.refused == [] and seen.errors == []


def test_a_slide_in_an_img_has_its_16_by_9_size(visit: Any) -> None:
    seen = visit("/img.html", 1920, 1080)
    page = seen.page
    page.wait_for_function("document.images[0].complete")
    natural = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    assert natural == [1920, 1080]
    assert seen.refused == [] and seen.errors == []


def test_the_screenshots_folder_is_ignored() -> None:
    ignore = (Path(__file__).resolve().parents[1] / ".gitignore").read_text().splitlines()
    assert f"{SCREENSHOTS.name}/" in ignore
