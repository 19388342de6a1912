"""Compatibility findings as data: what :mod:`optcompare.analysis.compat` found.

One shape for the ``compat`` command and the report (the report model
re-exports these classes): frozen dataclasses of plain values and enums,
no prose. ``render/compat_views.py`` and the report's views word them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from optcompare.frozen import frozen

if TYPE_CHECKING:
    from optcompare.analysis.truth_table import Cell
    from optcompare.model.modes import OpenOutcome


class Level(StrEnum):
    BREAK = "break"
    SILENT = "silent"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: ``--fail-on LEVEL`` fails on this level and above."""
        return _RANKS[self]


_RANKS = {Level.INFO: 1, Level.SILENT: 2, Level.BREAK: 3}


class FindingKind(StrEnum):
    CMDLINE = "cmdline"
    WORKFLOW = "workflow"
    """The baseline's libvirt replays a workflow on the new build."""
    NEW_CLIENT = "new-client"
    """The new build's libvirt replays a workflow on the baseline."""
    DETECTION = "detection"
    SCHEMA = "schema"


class Change(StrEnum):
    """What happened to a combination, a workflow, a probe or the schema."""

    REJECTED = "now rejected"
    FAILS_TO_OPEN = "now fails to open"
    """Accepted on both builds, but an image that opened before no longer does."""
    CHANGED = "changed"
    ACCEPTED = "newly accepted"
    FAILS = "fails"
    MEETS = "now meets"
    BELIEVES = "believes dynamic"
    SAFE = "detects nothing"
    ADDED = "added"
    REMOVED = "removed"


class Direction(StrEnum):
    OLD_ON_NEW = "old client, new build"
    NEW_ON_OLD = "new client, old build"


class SchemaPart(StrEnum):
    """What a schema finding counts."""

    COMMAND = "command"
    OPTION = "option"
    FEATURE = "feature"


@frozen
class Outcome:
    """Opening an image with a row's options."""

    ro: bool
    fd: str
    error: str | None
    denial: bool


@frozen
class CellSummary:
    """What one build makes of one written combination."""

    mode: str
    error: str | None
    writable: Outcome | None
    unwritable: Outcome | None


def outcome(value: OpenOutcome | None) -> Outcome | None:
    if value is None:
        return None
    return Outcome(value.ro, value.fd.value, value.error, value.denial)


def summary(cell: Cell) -> CellSummary:
    return CellSummary(cell.mode.value, cell.resolution.error, outcome(cell.writable),
                       outcome(cell.unwritable))


@frozen
class Finding:
    """One compatibility finding: what changed for a client of the baseline, and where."""

    id: str
    """Stable: ``--accept`` files name findings by it."""
    level: Level
    kind: FindingKind
    change: Change
    direction: Direction
    against: str
    """The baseline build."""
    platform: str | None = None
    frontend: str | None = None
    options: str | None = None
    """The written combination (``(none)``: nothing written); for a schema
    finding, what it counts (a :class:`SchemaPart` value)."""
    drivers: tuple[str, ...] = ()
    before: CellSummary | None = None
    """The baseline's cell (None: it rejected the combination, or it is not
    compared: a rejection now)."""
    after: CellSummary | None = None
    """The new build's cell (of the first driver, when several share it)."""
    scenario: str | None = None
    step: int | None = None
    step_text: str | None = None
    why: str | None = None
    names: tuple[str, ...] = ()
    """Schema names added or removed; drivers believed dynamic."""
    release: bool = False
    """Caused by the release's own driver change, not by the option."""
    misdescribed: bool = False
    """The signal claims to announce it but says dynamic for a driver that is not."""
    reopen_by_path: bool = False
    """The new mode reopens by path (fd passing, moved images: not modelled)."""
    accepted: bool = False
