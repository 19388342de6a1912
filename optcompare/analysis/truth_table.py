"""Flag truth tables: every tri-state combination of a driver's options.

Each row shows the options as written, the effective values after defaults,
the mode, and the outcome of opening a writable and an unwritable image,
like QEMU's iotest 232. Drivers whose tables are identical are grouped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from optcompare.errors import UnknownNameError
from optcompare.model.drivers import Platform
from optcompare.model.messages import PATH
from optcompare.model.modes import Mode, OpenOutcome
from optcompare.model.opening import open_node
from optcompare.model.options import combinations
from optcompare.policies.base import Build, Frontend, Policy, Resolution


@dataclass(frozen=True)
class Cell:
    """What one build makes of one written combination."""

    resolution: Resolution
    writable: OpenOutcome | None
    unwritable: OpenOutcome | None

    @property
    def mode(self) -> Mode:
        return self.resolution.mode

    def key(self) -> tuple[object, ...]:
        """What a comparison between builds looks at."""
        return (self.mode, self.resolution.error, self.writable, self.unwritable)


@dataclass(frozen=True)
class Row:
    cell: Cell
    against: Cell | None = None
    """The same written options on the ``--diff`` build, when diffing."""

    @property
    def written(self) -> dict[str, bool]:
        return self.cell.resolution.written


@dataclass(frozen=True)
class Table:
    policy: str
    platform: Platform
    frontend: Frontend
    drivers: tuple[str, ...]
    options: tuple[str, ...]
    rows: tuple[Row, ...]
    against: str | None = None


def evaluate(build: Build, driver: str, written: dict[str, bool], frontend: Frontend) -> Cell:
    """Resolve ``written`` on ``driver`` and open a writable and an unwritable image."""
    resolution = build.resolve(written, driver, frontend)
    if resolution.mode is Mode.ERROR:
        return Cell(resolution, None, None)
    drv = build.driver(driver)
    return Cell(
        resolution,
        open_node(resolution.mode, drv, True, PATH),
        open_node(resolution.mode, drv, False, PATH),
    )


def driver_rows(build: Build, driver: str, frontend: Frontend) -> list[Row]:
    return [
        Row(evaluate(build, driver, written, frontend))
        for written in combinations(build.options(driver))
    ]


def check_driver(build: Build, driver: str) -> None:
    if driver not in build.drivers:
        raise UnknownNameError(
            f"unknown driver {driver!r} for {build.name}; known: {', '.join(build.drivers)}"
        )


def tables(
    policy: Policy,
    *,
    drivers: Sequence[str] = (),
    frontend: Frontend = Frontend.BLOCKDEV,
    platform: Platform = Platform.POSIX,
    against: Policy | None = None,
) -> list[Table]:
    """The policy's truth tables, drivers with identical tables grouped.

    With ``against``, only rows whose mode, error or outcomes differ from what
    the other policy makes of the same written options are kept.
    """
    build = policy.build(platform)
    base = against.build(platform) if against is not None else None
    names = list(drivers) or list(build.drivers)
    for name in names:
        check_driver(build, name)
    groups: dict[tuple[object, ...], list[str]] = {}
    contents: dict[tuple[object, ...], list[Row]] = {}
    for name in names:
        rows = driver_rows(build, name, frontend)
        if base is not None:
            rows = list(_differing(rows, base, name, frontend))
        key = (build.options(name), tuple(r.cell.key() for r in rows),
               tuple(r.against.key() if r.against else None for r in rows))
        groups.setdefault(key, []).append(name)
        contents[key] = rows
    return [
        Table(policy.name, platform, frontend, tuple(members), build.options(members[0]),
              tuple(contents[key]), against.name if against is not None else None)
        for key, members in groups.items()
    ]


def _differing(rows: Iterable[Row], base: Build, driver: str, frontend: Frontend) -> Iterable[Row]:
    for row in rows:
        if driver not in base.drivers:
            yield row
            continue
        other = evaluate(base, driver, row.written, frontend)
        if other.key() != row.cell.key():
            yield Row(row.cell, other)
