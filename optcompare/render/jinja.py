"""The Jinja2 environment over the meeting view's templates: the page, its stylesheet
and a slide. Jinja2 itself is imported only when a template is rendered."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
"""The templates' directory; the report's result cache keys HTML and SVG on its content."""

Tests = tuple[tuple[str, type], ...]
"""Jinja tests by name, each true of the instances of one type (``{% if b is table %}``)."""


@cache
def environment(tests: Tests) -> Environment:
    """Strict (an undefined name is an error), autoescaped, with ``tests``."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    for name, kind in tests:
        env.tests[name] = _instance_of(kind)
    return env


def _instance_of(kind: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, kind)
