"""The slides of the SVG format by name (``--slide``), known before any analysis runs."""

from __future__ import annotations

from enum import StrEnum


class Slide(StrEnum):
    """The SVG format's slides (``--slide``)."""

    MATRIX = "matrix"
    DECISION = "decision"
    TRUTH = "truth"
    SKEW = "skew"


def parse_slide(spec: str) -> tuple[Slide, str | None]:
    """``matrix``, ``decision``, ``skew``, ``truth`` or ``truth:POLICY``: the slide and
    the policy it names (whether the report has that policy is the renderer's to say)."""
    from optcompare.errors import UnknownNameError

    name, colon, policy = spec.partition(":")
    try:
        slide = Slide(name)
    except ValueError:
        raise UnknownNameError(f"--slide: unknown slide {spec!r}; known: "
                               f"{', '.join(s.value for s in Slide)}, truth:POLICY") from None
    if colon and slide is not Slide.TRUTH:
        raise UnknownNameError(f"--slide: only truth takes a policy, not {name}")
    if colon and not policy:
        raise UnknownNameError("--slide: 'truth:' names no policy; give truth:POLICY, or "
                               "truth for the first policy's table")
    return slide, policy or None
