"""Flag truth tables: every combination of a driver's options (each not given
or one value of its domain: on/off, or an enum's values).

Each row shows the options as written, the effective values after defaults,
the mode, and the outcome of opening a writable and an unwritable image,
like QEMU's iotest 232. Drivers whose tables are identical are grouped.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from optcompare.errors import UnknownNameError
from optcompare.frozen import frozen
from optcompare.model import messages
from optcompare.model.drivers import Platform
from optcompare.model.messages import PATH
from optcompare.model.modes import Mode, OpenOutcome
from optcompare.model.opening import open_node
from optcompare.model.options import Domain, Value, combinations
from optcompare.policies.base import Build, Frontend, Policy, Resolution


class Cell(NamedTuple):
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


class Row(NamedTuple):
    cell: Cell
    against: Cell | None = None
    """The same written options on the ``--diff`` build, when diffing."""

    @property
    def written(self) -> dict[str, Value]:
        return self.cell.resolution.written


@frozen
class Table:
    """The truth table of drivers that answer alike, on one platform and frontend."""

    policy: str
    platform: Platform
    frontend: Frontend
    drivers: tuple[str, ...]
    options: tuple[str, ...]
    rows: tuple[Row, ...]
    against: str | None = None


def evaluate(build: Build, driver: str, written: dict[str, Value], frontend: Frontend) -> Cell:
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


Domains = tuple[tuple[str, Domain], ...]
"""A driver's options in order, each with its values."""
Values = tuple[Value | None, ...]
"""Effective values in the driver's option order; None: the option stays unset."""


@functools.lru_cache(maxsize=1024)
def _combinations(policy: Policy, domains: Domains, frontend: Frontend
                  ) -> tuple[tuple[dict[str, Value], Values], ...]:
    """Every written combination with its effective values.

    Defaults do not depend on the driver, so one list serves every driver
    with the same options and domains.
    """
    accepted = tuple(name for name, _ in domains)
    result = []
    for written in combinations(accepted, dict(domains)):
        defaults = policy.defaults(frontend, written)
        result.append((written, tuple(written[n] if n in written else defaults.get(n)
                                      for n in accepted)))
    return tuple(result)


Verdict = tuple[dict[str, Value], Mode, str | None, OpenOutcome | None, OpenOutcome | None]


def _domains(build: Build, driver: str) -> Domains:
    return tuple(build.domains(driver).items())


class _Verdicts(NamedTuple):
    domains: Domains
    """The driver's options with their domains."""
    combinations: tuple[tuple[dict[str, Value], Values], ...]
    """Every written combination with its effective values (see :func:`_combinations`)."""
    by_values: dict[Values, Verdict]
    """The verdict for each distinct set of effective values, in the order the
    combinations first reach them (shared: do not change it)."""


@functools.lru_cache(maxsize=4096)
def _verdicts(build: Build, driver: str, frontend: Frontend) -> _Verdicts:
    """A build's verdicts on a driver: a build is frozen and its hooks pure, so the
    truth tables, compat's comparisons and its findings share them."""
    policy, drivers = build.policy, build.drivers
    drv = drivers[driver]
    domains = _domains(build, driver)
    accepted = tuple(name for name, _ in domains)
    combined = _combinations(policy, domains, frontend)
    verdicts: dict[Values, Verdict] = {}
    for _written, values in combined:
        if values in verdicts:
            continue
        effective = {n: v for n, v in zip(accepted, values, strict=True) if v is not None}
        error = policy.invalid(effective, drv)
        if frontend is Frontend.BLOCKDEV and not drv.blockdev:
            verdicts[values] = ({}, Mode.ERROR, messages.invalid_parameter(driver), None, None)
        elif error is not None:
            verdicts[values] = (effective, Mode.ERROR, error, None, None)
        else:
            mode = policy.mode(effective, drv)
            verdicts[values] = (effective, mode, None, open_node(mode, drv, True, PATH),
                                open_node(mode, drv, False, PATH))
    return _Verdicts(domains, combined, verdicts)


def _rows(verdicts: _Verdicts) -> list[Row]:
    by_values = verdicts.by_values
    rows = []
    for written, values in verdicts.combinations:
        effective, mode, error, writable, unwritable = by_values[values]
        rows.append(Row(Cell(Resolution(written, effective, mode, error), writable, unwritable)))
    return rows


def driver_rows(build: Build, driver: str, frontend: Frontend) -> list[Row]:
    """What :func:`evaluate` gives for every combination, each verdict computed once
    per distinct set of effective values (27 written rows share 8 of them)."""
    return _rows(_verdicts(build, driver, frontend))


Outcome = tuple[Mode, OpenOutcome | None, OpenOutcome | None]
"""A cell's mode and what opening a writable and an unwritable image gives."""


def driver_outcomes(build: Build, driver: str, frontend: Frontend) -> tuple[Outcome, ...]:
    """Each of :func:`driver_rows`' cells' mode and outcomes, without making the rows."""
    verdicts = _verdicts(build, driver, frontend)
    outcomes = {values: (v[1], v[3], v[4]) for values, v in verdicts.by_values.items()}
    return tuple(outcomes[values] for _, values in verdicts.combinations)


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
        verdicts = _verdicts(build, name, frontend)
        domains = verdicts.domains
        if base is None:
            # Same options and same verdicts make the same rows: group first,
            # and lay out the rows once per group.
            key: tuple[object, ...] = (domains, tuple(
                (values, v[1:]) for values, v in verdicts.by_values.items()))
            if key not in groups:
                contents[key] = _rows(verdicts)
        else:
            rows = list(_differing(_rows(verdicts), base, name, frontend))
            key = (domains, tuple(r.cell.key() for r in rows),
                   tuple(r.against.key() if r.against else None for r in rows))
            contents[key] = rows
        groups.setdefault(key, []).append(name)
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


@frozen
class TruthTables:
    """The ``table`` command's result: the chosen policies' tables, one frontend and
    platform, each table's rows only those differing from ``against`` when it is set."""

    frontend: Frontend
    platform: Platform
    against: str | None
    tables: tuple[Table, ...]


def truth_tables(
    policies: Sequence[Policy],
    *,
    drivers: Sequence[str] = (),
    frontend: Frontend = Frontend.BLOCKDEV,
    platform: Platform = Platform.POSIX,
    against: Policy | None = None,
) -> TruthTables:
    """Every policy's :func:`tables`, in the order given."""
    found = tuple(t for policy in policies
                  for t in tables(policy, drivers=drivers, frontend=frontend,
                                  platform=platform, against=against))
    return TruthTables(frontend, platform, against.name if against is not None else None,
                       found)
