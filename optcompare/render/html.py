"""The meeting page: one self-contained HTML file, rendered with Jinja2.

No request of any kind: the stylesheet is inline, fonts are the reader's
system fonts, links are fragments of the page itself. Jinja2 is imported
only when a page is rendered (the CLI's other commands never pay for it).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from optcompare.render import meeting
from optcompare.render.document import Paragraph, Preformatted, Table
from optcompare.render.formats import TEMPLATES

if TYPE_CHECKING:
    from jinja2 import Environment

    from optcompare.analysis.report_model import Report



@cache
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["paragraph"] = lambda block: isinstance(block, Paragraph)
    env.tests["table"] = lambda block: isinstance(block, Table)
    env.tests["preformatted"] = lambda block: isinstance(block, Preformatted)
    env.tests["bullets"] = lambda block: isinstance(block, meeting.Bullets)
    env.tests["markgrid"] = lambda block: isinstance(block, meeting.MarkGrid)
    from optcompare.render import slides

    env.tests["rect"] = lambda shape: isinstance(shape, slides.Rect)
    return env


def render_page(page: meeting.Page) -> str:
    template = environment().get_template("report.html")
    return template.render(page=page, marks=meeting.MARK_MEANING, css=meeting.CSS_CLASS)


def render(report: Report) -> str:
    return render_page(meeting.page(report))
