"""The meeting page: one self-contained HTML file, rendered with Jinja2.

No request of any kind: the stylesheet is inline, fonts are the reader's
system fonts, links are fragments of the page itself. Jinja2 is imported
only when a page is rendered (the CLI's other commands never pay for it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optcompare.render import jinja, meeting
from optcompare.render.document import Paragraph, Preformatted, Table

if TYPE_CHECKING:
    from optcompare.analysis.report_model import Report

PAGE_TESTS: jinja.Tests = (("paragraph", Paragraph), ("table", Table),
                           ("preformatted", Preformatted), ("bullets", meeting.Bullets),
                           ("markgrid", meeting.MarkGrid))
"""What the page's template asks of a block."""


def render_page(page: meeting.Page) -> str:
    template = jinja.environment(PAGE_TESTS).get_template("report.html")
    return template.render(page=page, marks=meeting.MARK_MEANING, css=meeting.CSS_CLASS)


def render(report: Report) -> str:
    return render_page(meeting.page(report))
