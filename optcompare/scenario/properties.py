"""The requirements, as properties of a step: each defined once.

``explore`` checks every property on every step it plays; a scenario file
checks the image properties with ``do = "assert"`` and ``property = ...``
(the same predicate), and the step properties with ``expect``. The ids are
those of the verdict matrix's questions where one asks the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from optcompare.frozen import frozen
from optcompare.model.modes import Fd
from optcompare.scenario.backend import Observation

JOBS = ("block-commit", "block-stream")


class Property(StrEnum):
    READONLY_DISKS = "readonly-disks"
    """A read-only disk refuses guest writes."""
    BLOCK_COMMIT = "block-commit"
    """A block-commit whose base is labelled writable succeeds."""
    BLOCK_STREAM = "block-stream"
    """A block-stream into an image labelled writable (or relabelled by the client)
    succeeds."""
    NO_DENIALS = "no-denials"
    """No access denial at start (when the disk's active layer is writable)."""
    NO_WRITE_FD = "no-write-fd"
    """No write descriptor on an image labelled read-only that no writer holds."""
    NO_CRASH = "no-crash"
    """QEMU does not crash (the real backend only)."""


MODEL_PROPERTIES = (Property.READONLY_DISKS, Property.BLOCK_COMMIT, Property.BLOCK_STREAM,
                    Property.NO_DENIALS, Property.NO_WRITE_FD)
"""What the model can violate (it never crashes)."""
IMAGE_PROPERTIES = (Property.NO_WRITE_FD, Property.NO_DENIALS)
"""Properties of one image's state, which a scenario's ``assert`` can check."""


@frozen
class Violation:
    """A property one step breaks."""

    property: Property
    image: str | None
    """The image it concerns, None for a property of the step itself."""


def holds_on(prop: Property, seen: Observation) -> bool:
    """An image property on one image's state."""
    if prop is Property.NO_WRITE_FD:
        if seen.label or seen.fd is not Fd.RW:
            return True
        if seen.writers is not None:
            return seen.writers > 0
        return seen.format_ro is False
    if prop is Property.NO_DENIALS:
        return not seen.denials
    raise ValueError(f"{prop} is not a property of an image")


def _writable(before: Mapping[str, Observation], image: str) -> bool:
    seen = before.get(image)
    return seen is not None and seen.label


def job_expected(do: str, args: Mapping[str, object], chain: Sequence[str],
                 before: Mapping[str, Observation]) -> bool:
    """Every image the job writes is labelled writable, or the client relabels it.

    block-commit writes its base (and the overlay of ``top``, which the client
    relabels); block-stream writes ``top`` (relabelled unless it is the active
    layer). A job on images outside the chain is not expected to work.
    """
    top = str(args["top"])
    if top not in chain:
        return False
    if do == "block-commit":
        base = str(args["base"])
        return base in chain and chain.index(base) < chain.index(top) and _writable(before, base)
    below = args.get("base")
    if below is not None and (below not in chain
                              or chain.index(str(below)) >= chain.index(top)):
        return False
    return top != chain[-1] or _writable(before, top)


def violations(do: str, args: Mapping[str, object], result: str, *, readonly: bool,
               chain: Sequence[str], before: Mapping[str, Observation],
               after: Mapping[str, Observation]) -> tuple[Violation, ...]:
    """What one step (``do`` with ``args``, which gave ``result``) violates.

    ``chain`` and ``before`` are the disk and its images before the step,
    ``after`` every image after it.
    """
    found: list[Violation] = []
    if do == "guest-write" and readonly and result == "ok":
        found.append(Violation(Property.READONLY_DISKS, None))
    if do in JOBS and not readonly and result == "error" and job_expected(do, args, chain,
                                                                          before):
        found.append(Violation(Property(do), None))
    if do == "start" and (readonly or _writable(before, chain[-1])):
        for name, seen in after.items():
            old = before.get(name)
            if (seen.denials or 0) > ((old.denials or 0) if old else 0):
                found.append(Violation(Property.NO_DENIALS, name))
    for name, seen in after.items():
        if not holds_on(Property.NO_WRITE_FD, seen):
            found.append(Violation(Property.NO_WRITE_FD, name))
    return tuple(found)
