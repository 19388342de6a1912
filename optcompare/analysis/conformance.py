"""The model of the released behaviour against a real QEMU.

Three checks, each compared item by item:

- **scenarios**: every scenario is replayed by the same runner on the model
  of ``qemu-4.1`` (5.2+ error texts, as the daemon here speaks) and on
  :class:`~optcompare.backends.qemu.backend.QemuBackend`; for each step the
  result (ok/error), QEMU's error text, whether the expectation held, and
  for every image the descriptor mode, the ``ro`` flags of its protocol and
  qcow2 nodes, its label and its access denials are compared. The backend
  runs a ``-blockdev`` scenario on ``qemu-storage-daemon`` and one that uses
  ``-drive`` or guest writes on ``qemu-system-x86_64 -M none``. A scenario
  the real backend cannot express (another driver, a Windows build) is
  *not applicable*, with the reason; the steps it ran before that are still
  compared. A QEMU that dies is a *backend failure*.
- **iotest 232**: both halves of QEMU's iotest 232 (nine option sets on a
  writable and a read-only image, with ``-blockdev`` on the daemon and with
  ``-drive`` on the emulator), measured live, against the model: ``ro``
  flag, descriptor mode and error, cell for cell.
- **client probes**: what each client of an ``auto`` scenario concludes
  from the model's schema and from the daemon's own ``query-qmp-schema``
  (the runner picks the frontend from the model's, so this checks that
  choice against the real schema).

Not compared: the open *mode* (not observable on a real QEMU) and the
denial SELinux logs for a write through a descriptor opened read-write
before a relabel (file modes are checked at open only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from optcompare.backends.qemu.backend import (
    BackendFactory,
    BackendFailure,
    Progress,
    RunItem,
    released_policy,
    run_one,
    run_scenarios,
)
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools
from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.model.options import format_options
from optcompare.policies.base import Build, Frontend, Policy
from optcompare.scenario.backend import NotApplicable, Observation
from optcompare.scenario.runner import Outcome, ScenarioResult, StepRecord
from optcompare.scenario.spec import LEGACY, NATIVE, Scenario

__all__ = [
    "AGREE",
    "BACKEND_FAILURE",
    "DISAGREE",
    "NOT_APPLICABLE",
    "Aspect",
    "CellComparison",
    "CellSide",
    "Conformance",
    "Difference",
    "ImageState",
    "Live",
    "LiveCount",
    "ProbeComparison",
    "ScenarioComparison",
    "StepComparison",
    "StepSide",
    "Summary",
    "compare_cells",
    "compare_probes",
    "compare_scenario",
    "run",
    "run_on_qemu",
]

class Status(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    NOT_APPLICABLE = "not-applicable"
    """The real backend cannot express the scenario."""
    BACKEND_FAILURE = "backend-failure"


AGREE = Status.AGREE
DISAGREE = Status.DISAGREE
NOT_APPLICABLE = Status.NOT_APPLICABLE
BACKEND_FAILURE = Status.BACKEND_FAILURE

DAEMON = "qemu-storage-daemon"


class Aspect(StrEnum):
    """What a difference between the model and QEMU is about."""

    RESULT = "result"
    ERROR = "error"
    """QEMU's message (a step's, a cell's)."""
    MET = "expectation met"
    LABEL = "label"
    FD = "fd"
    PROTOCOL_RO = "protocol ro"
    QCOW2_RO = "qcow2 ro"
    DENIALS = "denials"
    RO = "ro"
    """A cell's node flag."""
    NOT_KNOWN = "not known"
    """An image one side does not know."""
    STOPPED = "stopped"
    """The run on one side stopped before this step."""


class Side(StrEnum):
    MODEL = "model"
    QEMU = "qemu"


Value = str | bool | int | None


@frozen
class Difference:
    aspect: Aspect
    model: Value = None
    qemu: Value = None
    image: str | None = None
    """The image it is about (None: the step or cell itself)."""
    missing: Side | None = None
    """The side without it (``not known``, ``stopped``)."""


# -- scenarios --------------------------------------------------------------------


@frozen
class ImageState:
    """One image after a step, as one side saw it."""

    label: bool
    fd: str
    ro: bool | None
    """The protocol node's ``ro`` flag (None: no protocol node)."""
    format_ro: bool | None
    """The qcow2 node's ``ro`` flag (None: no qcow2 node)."""
    denials: int | None

    @classmethod
    def of(cls, seen: Observation) -> ImageState:
        return cls(seen.label, seen.fd.value, seen.ro, seen.format_ro, seen.denials)


@frozen
class StepSide:
    """One step on one side: its result, QEMU's message, the state after it."""

    result: str
    message: str | None
    met: bool
    images: tuple[tuple[str, ImageState], ...]

    @classmethod
    def of(cls, record: StepRecord) -> StepSide:
        images = tuple((name, ImageState.of(seen)) for name, seen in record.state.items())
        return cls(record.result, record.message, record.met, images)

    def image(self, name: str) -> ImageState | None:
        return next((state for image, state in self.images if image == name), None)



@frozen
class StepComparison:
    index: int
    step: str
    model: StepSide | None
    qemu: StepSide | None
    """None: the run on that side stopped before this step."""
    differences: tuple[Difference, ...]

    @property
    def agree(self) -> bool:
        return not self.differences


@frozen
class ScenarioComparison:
    scenario: str
    summary: str
    digest: str
    status: Status
    model_outcome: str
    qemu_outcome: str
    reason: str | None
    """Why it is not applicable, or what broke in the backend."""
    steps: tuple[StepComparison, ...]
    frontend: str | None = None
    """The frontend the run on the real backend used (None: it never opened a disk)."""
    driver: str = "file"

    @property
    def disagreements(self) -> tuple[StepComparison, ...]:
        return tuple(s for s in self.steps if not s.agree)



def _step_differences(model: StepSide, qemu: StepSide) -> tuple[Difference, ...]:
    found: list[Difference] = []
    if model.result != qemu.result:
        found.append(Difference(Aspect.RESULT, model.result, qemu.result))
    elif model.result == "error" and model.message != qemu.message:
        found.append(Difference(Aspect.ERROR, model.message, qemu.message))
    if model.met != qemu.met:
        found.append(Difference(Aspect.MET, model.met, qemu.met))
    names = [n for n, _ in model.images] + [n for n, _ in qemu.images if model.image(n) is None]
    for name in names:
        a, b = model.image(name), qemu.image(name)
        if a is None or b is None:
            side = Side.MODEL if a is None else Side.QEMU
            found.append(Difference(Aspect.NOT_KNOWN, image=name, missing=side))
            continue
        checks: list[tuple[Aspect, Value, Value]] = [
            (Aspect.LABEL, a.label, b.label),
            (Aspect.FD, a.fd, b.fd),
            (Aspect.PROTOCOL_RO, a.ro, b.ro),
            (Aspect.QCOW2_RO, a.format_ro, b.format_ro),
        ]
        if a.denials is not None and b.denials is not None:
            checks.append((Aspect.DENIALS, a.denials, b.denials))
        for what, left, right in checks:
            if left != right:
                found.append(Difference(what, left, right, name))
    return tuple(found)


def compare_scenario(scenario: Scenario, model: ScenarioResult, qemu: RunItem
                     ) -> ScenarioComparison:
    """Step for step: ``model`` and ``qemu`` are runs of ``scenario``."""
    head = (scenario.name, scenario.summary, scenario.digest)
    where = {"frontend": qemu.frontend or scenario.setup.frontend, "driver": scenario.setup.driver}
    if isinstance(qemu, BackendFailure):
        return ScenarioComparison(*head, BACKEND_FAILURE, model.outcome.value, qemu.outcome,
                                  qemu.reason, (), **where)
    steps: list[StepComparison] = []
    qemu_na = qemu.outcome is Outcome.NOT_APPLICABLE
    length = len(qemu.trace) if qemu_na else max(len(model.trace), len(qemu.trace))
    for position in range(length):
        left = model.trace[position] if position < len(model.trace) else None
        right = qemu.trace[position] if position < len(qemu.trace) else None
        record = left or right
        assert record is not None
        a = StepSide.of(left) if left else None
        b = StepSide.of(right) if right else None
        if a is not None and b is not None:
            differences = _step_differences(a, b)
        else:
            differences = (Difference(Aspect.STOPPED,
                                      missing=Side.MODEL if a is None else Side.QEMU),)
        steps.append(StepComparison(record.index, record.step, a, b, differences))
    disagree = any(not s.agree for s in steps)
    if qemu_na:
        status = DISAGREE if disagree else NOT_APPLICABLE
        reason = qemu.reason
    else:
        if model.outcome is not qemu.outcome:
            disagree = True
        status = DISAGREE if disagree else AGREE
        reason = None
        if model.outcome is Outcome.NOT_APPLICABLE:
            reason = f"model: {model.reason}"
    return ScenarioComparison(*head, status, model.outcome.value, qemu.outcome.value, reason,
                              tuple(steps), **where)


# -- iotest 232 ---------------------------------------------------------------------


@frozen
class CellSide:
    ro: bool | None
    fd: str | None
    error: str | None
    """The error with the image path as ``<path>``."""



@frozen
class CellComparison:
    options: str
    writable: bool
    model: CellSide
    qemu: CellSide
    differences: tuple[Difference, ...]
    frontend: str = "blockdev"
    driver: str = "file"

    @property
    def agree(self) -> bool:
        return not self.differences



def _model_cell(build: Build, options: dict[str, bool], writable: bool,
                frontend: Frontend = Frontend.BLOCKDEV, driver: str = "file") -> CellSide:
    from optcompare.analysis.truth_table import evaluate

    cell = evaluate(build, driver, dict(options), frontend)
    outcome = cell.writable if writable else cell.unwritable
    if outcome is None:
        return CellSide(None, None, cell.resolution.error)
    if outcome.error is not None:
        return CellSide(None, None, outcome.error)
    return CellSide(outcome.ro, outcome.fd.value, None)


def compare_cells(build: Build, live: Iterable[Any]) -> tuple[CellComparison, ...]:
    """Live iotest 232 cells (:class:`~optcompare.backends.qemu.iotest232.Cell`)
    against the model's, in the live order."""
    result = []
    for cell in live:
        model = _model_cell(build, cell.options, cell.writable, Frontend(cell.frontend))
        qemu = CellSide(cell.ro, cell.fd, cell.error_template)
        differences = tuple(
            Difference(what, a, b)
            for what, a, b in ((Aspect.RO, model.ro, qemu.ro), (Aspect.FD, model.fd, qemu.fd),
                               (Aspect.ERROR, model.error, qemu.error))
            if a != b
        )
        label = format_options(cell.options)
        result.append(CellComparison(label, cell.writable, model, qemu, differences,
                                     cell.frontend))
    return tuple(result)


def compare_driver_cells(build: Build, live: Iterable[Any]) -> tuple[CellComparison, ...]:
    """A network driver's live cells (:class:`~optcompare.backends.qemu.tables.DriverCell`)
    against the model's: ``ro`` and error (the client's descriptor is a socket)."""
    result = []
    for cell in live:
        side = _model_cell(build, cell.options, cell.writable, driver=cell.driver)
        model = CellSide(side.ro, None, side.error)
        qemu = CellSide(cell.ro, None, cell.error)
        differences = tuple(
            Difference(what, a, b)
            for what, a, b in ((Aspect.RO, model.ro, qemu.ro),
                               (Aspect.ERROR, model.error, qemu.error))
            if a != b
        )
        result.append(CellComparison(format_options(cell.options), cell.writable, model, qemu,
                                     differences, Frontend.BLOCKDEV.value, cell.driver))
    return tuple(result)


@frozen
class Unmeasured:
    """A driver whose table was not measured live, and why."""

    driver: str
    reason: str


# -- client probes ----------------------------------------------------------------------


@frozen
class ProbeComparison:
    client: str
    evidence: str
    model: tuple[str, ...]
    """Drivers the client concludes are dynamic, from the model's schema."""
    qemu: tuple[str, ...]
    """... and from the daemon's own schema."""

    @property
    def agree(self) -> bool:
        return self.model == self.qemu



def _auto_clients(scenarios: Sequence[Scenario], policy: Policy) -> list[str]:
    names: list[str] = []
    for scenario in scenarios:
        setup = scenario.setup
        if setup.frontend == "auto" and setup.platform == Platform.POSIX.value:
            name = policy.name if setup.client == NATIVE else setup.client
            if setup.client != LEGACY and name not in names:
                names.append(name)
    return names


def compare_probes(build: Build, clients: Sequence[str], daemon: Any
                   ) -> tuple[ProbeComparison, ...]:
    """Each client's detection on the model build and on the live ``daemon``."""
    from optcompare.scenario.runner import client_for
    from optcompare.schema.target import BuildTarget, LiveTarget

    live = LiveTarget(daemon)
    model = BuildTarget(build)
    result = []
    for name in clients:
        client = build.policy if name == build.policy.name else client_for(name, build)
        assert client is not None  # _auto_clients leaves out the legacy client
        on_model = client.detect(model, build.drivers)
        on_qemu = client.detect(live, build.drivers)
        result.append(ProbeComparison(name, on_model.evidence, tuple(sorted(on_model.dynamic)),
                                      tuple(sorted(on_qemu.dynamic))))
    return tuple(result)


# -- the whole run ------------------------------------------------------------------------


@frozen
class Conformance:
    policy: str
    qemu_version: str
    scenarios: tuple[ScenarioComparison, ...]
    iotest: tuple[CellComparison, ...]
    probes: tuple[ProbeComparison, ...]
    wording: str = "5.2+"
    """The era of the model's error texts."""
    tables: tuple[CellComparison, ...] = ()
    """Network drivers' truth tables, measured on live servers."""
    unmeasured: tuple[Unmeasured, ...] = ()

    def count(self, status: Status) -> int:
        return sum(1 for s in self.scenarios if s.status == status)

    @property
    def disagreements(self) -> int:
        """Disagreeing scenarios, backend failures, cells and probes."""
        return (
            self.count(DISAGREE)
            + self.count(BACKEND_FAILURE)
            + sum(1 for c in self.iotest if not c.agree)
            + sum(1 for c in self.tables if not c.agree)
            + sum(1 for p in self.probes if not p.agree)
        )

    def live(self) -> Live:
        """Scenarios run live, steps and iotest 232 cells compared, per frontend and driver."""
        counts: dict[str, dict[str, list[int]]] = {"frontend": {}, "driver": {}}

        def add(axis: str, key: str, what: int, number: int) -> None:
            counts[axis].setdefault(key, [0, 0, 0])[what] += number

        for s in self.scenarios:
            if s.status in (AGREE, DISAGREE) and s.frontend is not None:
                for axis, key in (("frontend", s.frontend), ("driver", s.driver)):
                    add(axis, key, 0, 1)
                    add(axis, key, 1, sum(1 for st in s.steps if st.qemu is not None))
        for c in (*self.iotest, *self.tables):
            add("frontend", c.frontend, 2, 1)
            add("driver", c.driver, 2, 1)
        by = {axis: {key: LiveCount(*n) for key, n in sorted(keys.items())}
              for axis, keys in counts.items()}
        return Live(by["frontend"], by["driver"])

    def summary(self) -> Summary:
        steps = [step for s in self.scenarios for step in s.steps]
        return Summary(
            scenarios=len(self.scenarios),
            agree=self.count(AGREE),
            disagree=self.count(DISAGREE),
            not_applicable=self.count(NOT_APPLICABLE),
            backend_failures=self.count(BACKEND_FAILURE),
            steps_compared=len(steps),
            steps_agreeing=sum(1 for s in steps if s.agree),
            driver_cells=len(self.tables),
            driver_cells_agreeing=sum(1 for c in self.tables if c.agree),
            iotest_cells=len(self.iotest),
            iotest_agreeing=sum(1 for c in self.iotest if c.agree),
            probes=len(self.probes),
            probes_agreeing=sum(1 for p in self.probes if p.agree),
            disagreements=self.disagreements,
        )


@frozen
class LiveCount:
    scenarios: int
    steps: int
    cells: int


@frozen
class Live:
    """What ran on the real QEMU, per frontend and per driver (sorted by name)."""

    frontend: dict[str, LiveCount]
    driver: dict[str, LiveCount]


@frozen
class Summary:
    scenarios: int
    agree: int
    disagree: int
    not_applicable: int
    backend_failures: int
    steps_compared: int
    steps_agreeing: int
    driver_cells: int
    driver_cells_agreeing: int
    iotest_cells: int
    iotest_agreeing: int
    probes: int
    probes_agreeing: int
    disagreements: int


def _version(daemon: QemuDaemon) -> str:
    reply = daemon.execute("query-version")
    qemu = reply.get("qemu", {})
    text = f"{qemu.get('major')}.{qemu.get('minor')}.{qemu.get('micro')}"
    package = str(reply.get("package") or "").strip()
    return f"{text} ({package})" if package else text


def run(
    scenarios: Sequence[Scenario],
    *,
    policy: Policy | None = None,
    tools: QemuTools | None = None,
    iotest: bool = True,
    progress: Callable[[Progress], None] | None = None,
    factory: BackendFactory | None = None,
    clients: Sequence[str] = (),
) -> Conformance:
    """Run ``scenarios`` on the model and on the daemon, then iotest 232 and probes.

    ``clients`` are other libvirt client strategies (installed plugin policies)
    that replay the scenarios written for the native client on the same build:
    they are compared too, listed as ``scenario [client]``.

    ``policy`` defaults to the released behaviour with 5.2+ wording; ``factory``
    replaces the real backend's factory (tests). Raises
    :class:`~optcompare.errors.BackendError` when QEMU cannot be run at all.
    """
    from optcompare.backends.qemu.daemon import find_qemu
    from optcompare.backends.qemu.emulator import QemuEmulator
    from optcompare.backends.qemu.iotest232 import measure_iotest232, measure_iotest232_drive
    from optcompare.scenario import runner

    chosen = policy if policy is not None else released_policy()
    found = tools if tools is not None else find_qemu()
    if factory is None:
        from optcompare.backends.qemu.backend import QemuFactory

        factory = QemuFactory(found)
    plays: list[tuple[Scenario, str | None]] = [(s, None) for s in scenarios]
    plays += [(s, c) for c in clients for s in scenarios
              if s.setup.client == NATIVE and any(st.do == "start" for st in s.steps)]
    total = len(plays) + (1 if iotest else 0)
    results = []
    for number, (scenario, client) in enumerate(plays):
        label = scenario.name if client is None else f"{scenario.name} [{client}]"
        if progress is not None:
            progress(Progress(number, total, label))
        model = runner.run(scenario, chosen, client=client)
        qemu = run_one(scenario, chosen, client=client, factory=factory)
        shown = scenario if client is None else dataclasses.replace(scenario, name=label)
        results.append(compare_scenario(shown, model, qemu))
    cells: tuple[CellComparison, ...] = ()
    probes: tuple[ProbeComparison, ...] = ()
    version = ""
    build = chosen.build(Platform.POSIX)
    if progress is not None:
        progress(Progress(len(plays), total, "iotest 232"))
    with QemuDaemon(found) as daemon:
        version = _version(daemon)
        if iotest:
            cells = compare_cells(build, measure_iotest232(daemon))
        probes = compare_probes(build, _auto_clients(scenarios, chosen), daemon)
    if iotest:
        with QemuEmulator(found) as emulator:
            cells += compare_cells(build, measure_iotest232_drive(emulator))
    tables: list[CellComparison] = []
    unmeasured: list[Unmeasured] = []
    if iotest:
        for driver, measure in _driver_tables(found):
            try:
                tables += compare_driver_cells(build, measure())
            except NotApplicable as missing:
                unmeasured.append(Unmeasured(driver, missing.reason))
    if progress is not None:
        progress(Progress(total, total, ""))
    wording = "5.2+" if chosen.wording.modern else chosen.wording.era
    return Conformance(build.name, version, tuple(results), cells, probes, wording,
                       tuple(tables), tuple(unmeasured))


def _driver_tables(tools: QemuTools) -> list[tuple[str, Callable[[], list[Any]]]]:
    """Each network driver with a live server here, and how to measure its table."""
    from functools import partial

    from optcompare.backends.qemu import http, iscsi, nbd, ssh

    return [("nbd", partial(nbd.measure_table, tools)),
            ("http", partial(http.measure_table, tools)),
            ("iscsi", partial(iscsi.measure_table, tools)),
            ("ssh", partial(ssh.measure_table, tools))]


def run_on_qemu(
    scenarios: Sequence[Scenario],
    policies: Policy | Sequence[Policy] | None = None,
    *,
    client: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    tools: QemuTools | None = None,
) -> list[RunItem]:
    """``run --backend qemu``: replay scenarios on a real qemu-storage-daemon.

    One fresh daemon per run. Results come in the model matrix's order
    (``[(s, p) for s in scenarios for p in policies]``; ``policies`` defaults
    to the released behaviour). Each is a
    :class:`~optcompare.scenario.runner.ScenarioResult` (meets, fails, or
    not-applicable with the reason: any policy other than qemu-4.1, -drive,
    guest writes, other drivers, Windows builds) or a
    :class:`~optcompare.backends.qemu.backend.BackendFailure` (outcome
    ``backend-failure``, reason ``backend failure: daemon died with signal
    11 (SIGSEGV) during ...``), after which the run goes on. Raises
    :class:`~optcompare.errors.BackendError` (one line, exit code 2) when QEMU
    is not installed.
    """
    from optcompare.backends.qemu.backend import QemuFactory
    from optcompare.backends.qemu.daemon import find_qemu

    found = tools if tools is not None else find_qemu()
    return run_scenarios(scenarios, policies, client=client, progress=progress,
                         factory=QemuFactory(found))
