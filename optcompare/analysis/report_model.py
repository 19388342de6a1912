"""The typed report model: what ``optcompare report`` computed, and nothing else.

:func:`optcompare.analysis.report.build_report` returns one :class:`Report`;
every format renders it (``render/report_views.py`` lays it out as a
Document for text, markdown, html and svg; JSON is the model itself through
``render/codec.py``, which also reads it back for the result cache). Every
class here is a frozen dataclass of plain values, enums, tuples and other
classes here (compatibility findings and the cells they show are
``analysis/findings.py``'s, re-exported): no prose. Every sentence a reader
sees is written by a view.

The tree::

    Report
    |- version, full                 optcompare version; --full asked for
    |- criteria: Criterion...        id, origin (thread | derived), order of rows
    |- policies: PolicyInfo...       name, title, source, origin (built-in or
    |                                the plugin's distribution), role
    |                                (release | option | proposal), release,
    |                                baseline (the build it is diffed against)
    |- matrix: MatrixRow...          one per policy
    |  `- cells: Cell...             one per criterion, in criteria order:
    |                                criterion, mark (yes | no | n/a | ERR),
    |                                reason (typed, see Reason), source
    |- decision: Decision            who meets both thread requirements, who
    |                                is not dominated (and who dominates the
    |                                rest), the trade-offs between those, the
    |                                criteria every policy scores the same on
    |                                (Common), scenarios no policy meets
    |- evidence: Evidence...         per failed thread requirement: policy,
    |                                criterion, the shortest failing run
    |- file_diffs: TruthTable...     the `file` rows that differ from each
    |                                policy's baseline
    |- truth_tables: TruthTable...   every table (only with --full)
    |  `- rows: TruthRow...          options as written (None: not given),
    |                                effective values, mode, error, outcome
    |                                on a writable and an unwritable image
    |                                (Outcome), and the baseline's row
    |- visibility: Visibility...     one per policy: the signal's properties
    |- compat: CompatReport...       per policy newer than the baseline:
    |  `- findings: Finding...       level, kind, direction, platform,
    |                                frontend, options, drivers, before/after
    |                                (CellSummary), scenario run, whether a
    |                                release's own driver change caused it
    |- results: Run...               every scenario on every policy; failed
    |  `- trace: TraceStep...        runs keep their trace (ImageState...)
    |- skew: SkewCell...             client x build: detection and workflows
    |                                (only with --full)
    |- skew_notes: SkewNote...       why a client does well (legacy -drive;
    |                                only with --full)
    |- provenance: Provenance        tool, input hash, policies, scenarios
    `- search: Search                explore at the report's bounds: depth,
       `- unshown: SearchFinding...  states, violations; those no built-in
                                     scenario shows, with their trace

A Reason is one of the classes of the ``Reason`` union; each carries the
counted facts a view turns into a note or a sentence.
"""

from __future__ import annotations

from enum import StrEnum

from optcompare.analysis.findings import CellSummary as CellSummary
from optcompare.analysis.findings import Change as Change
from optcompare.analysis.findings import Direction as Direction
from optcompare.analysis.findings import Finding as Finding
from optcompare.analysis.findings import FindingKind as FindingKind
from optcompare.analysis.findings import Level as Level
from optcompare.analysis.findings import Outcome as Outcome
from optcompare.frozen import frozen
from optcompare.model.options import Value
from optcompare.policies.base import Role as Role  # policies carry it


class Mark(StrEnum):
    """The value of one verdict cell."""

    YES = "yes"
    NO = "no"
    NA = "n/a"
    ERR = "ERR"
    """Nothing could compute the cell (a run that broke, not a result)."""


class Origin(StrEnum):
    THREAD = "thread"
    """One of Peter Krempa's requirements."""
    DERIVED = "derived"


@frozen
class Criterion:
    """A row of the verdict matrix, and whether the thread asked for it."""

    id: str
    origin: Origin


@frozen
class PolicyInfo:
    """A policy as the report names it: title, origin, role and baseline."""

    name: str
    title: str
    source: str
    origin: str
    role: Role
    release: str
    """The driver catalogue it builds on."""
    baseline: str | None
    """The build its truth tables are diffed against (None: the first release)."""


# -- reasons ------------------------------------------------------------------


class NotApplicable(StrEnum):
    """Why a cell is n/a."""

    NOTHING_DYNAMIC = "nothing dynamic"
    BASELINE = "baseline or older"
    NOT_RUN = "not run"
    NO_SCENARIO_APPLIES = "no scenario applies"
    NO_EXTRA_OPTION = "no extra option"
    NO_SUCH_DRIVER = "no such driver"
    DRIVE_THROUGHOUT = "-drive throughout"
    """The shipped libvirt's one probe fails: it never uses -blockdev."""


@frozen
class Inapplicable:
    """A cell that does not apply, and why."""

    why: NotApplicable


@frozen
class ScenarioFailure:
    """A run that broke an expectation: where and how."""

    scenario: str
    step: int | None
    step_text: str | None
    why: str | None
    """The runner's account of the broken expectation."""


@frozen
class BackendBroke:
    """A run the backend could not finish: a broken run, not a result."""

    scenario: str
    why: str | None


@frozen
class VersionOnly:
    """Only the version tells (version sniffing)."""


@frozen
class NoPromise:
    """The answer may change from run to run of the same binary."""


@frozen
class ExtraCommands:
    """The commands a client runs besides reading the schema."""

    commands: tuple[str, ...]


@frozen
class Grain:
    """How finely the signal tells drivers apart."""

    granularity: str
    """``none``, ``global``, ``per options struct`` or ``per driver``."""


@frozen
class Accuracy:
    """Where the signal is wrong, both ways."""

    false_positives: tuple[str, ...]
    """Drivers (``name`` or ``name@platform``) the signal claims, not dynamic."""
    false_negatives: tuple[str, ...]


@frozen
class CompatCount:
    """Findings of one level against the baseline, per frontend."""

    against: str
    level: Level
    blockdev: int
    """Combinations (written options on a platform) with such a finding, -blockdev."""
    drive: int
    workflows: int
    """Workflows the baseline's libvirt met and now fails (break) ."""
    drivers: tuple[str, ...]
    """Drivers of the findings that decide the cell."""
    release_drivers: tuple[str, ...]
    """Drivers whose findings come from the release's own driver change
    (not from the option): shown, but they do not decide the cell."""
    release_findings: int
    misdescribed: tuple[str, ...]
    """Drivers whose change the signal claims to announce but describes
    wrongly (it says dynamic, the driver is not): counted as silent."""


@frozen
class LaterRelease:
    """A driver a later release moves to another class."""

    driver: str
    before: str
    after: str
    """Driver classes (hard, fallback, dynamic, sticky)."""


@frozen
class ShippedMisread:
    """What the shipped libvirt gets wrong on the POSIX build under -blockdev."""

    frontend: str
    missing: tuple[str, ...]
    """What it lacks for -blockdev (it waits for these)."""
    wrongly_dynamic: tuple[str, ...]
    """Protocols it takes for dynamic that are not."""
    missed: tuple[str, ...]
    rejected: tuple[str, ...]
    """Protocols whose node options the build rejects."""


@frozen
class Cost:
    """The interface cost of ``file``'s options: valid combinations and the modes they reach."""

    options: int
    """Boolean options of ``file``."""
    valid: int
    combinations: int
    modes: int
    """Distinct modes the valid combinations reach."""


@frozen
class Facade:
    """Options that change no mode."""

    options: tuple[str, ...]
    """Options no valid explicit value of which changes the mode."""


Reason = (Inapplicable | ScenarioFailure | BackendBroke | VersionOnly | NoPromise
          | ExtraCommands | Grain | Accuracy | CompatCount | LaterRelease | ShippedMisread
          | Cost | Facade)


class SourceKind(StrEnum):
    SCENARIO = "scenario"
    VISIBILITY = "visibility"
    COMPAT = "compat"
    TRUTH_TABLE = "truth table"


@frozen
class Source:
    """Where a cell comes from: ``optcompare <kind> ...`` shows it."""

    kind: SourceKind
    policy: str
    names: tuple[str, ...] = ()
    """Scenarios, the compat baseline, the driver of a table."""


@frozen
class Cell:
    """One verdict: a criterion's mark for a policy, its reason and its source."""

    criterion: str
    mark: Mark
    reason: Reason | None
    source: Source


@frozen
class MatrixRow:
    """A policy's cells, in the criteria's order."""

    policy: str
    cells: tuple[Cell, ...]


# -- the decision -------------------------------------------------------------


@frozen
class Dominated:
    """A policy another one beats or equals everywhere."""

    policy: str
    by: tuple[str, ...]
    """Policies at least as good on every criterion and better on one."""


@frozen
class TradeOff:
    """What one non-dominated policy gives up and gets against the others."""

    policy: str
    loses: tuple[str, ...]
    """Criteria it fails that another non-dominated policy meets."""
    wins: tuple[str, ...]
    """Criteria it meets that another non-dominated policy fails."""


@frozen
class Common:
    """A criterion on which every policy it applies to scores the same."""

    criterion: str
    mark: Mark
    applies_to: int
    """Policies whose cell is not n/a."""


@frozen
class Decision:
    """What the report decides, before any evidence."""

    policies: int
    meets_thread: tuple[str, ...]
    non_dominated: tuple[str, ...]
    dominated: tuple[Dominated, ...]
    trade_offs: tuple[TradeOff, ...]
    common: tuple[Common, ...]
    unmet_everywhere: tuple[str, ...]
    """Scenarios that fail on every policy they apply to."""
    deciding: tuple[str, ...]
    """The criteria dominance is computed on (the rest are Common)."""


# -- truth tables ---------------------------------------------------------------


@frozen
class TruthRow:
    """One combination of a driver's options and what the build makes of it."""

    options: dict[str, Value | None]
    """As written (on/off, or an enum's value); None: not given."""
    effective: dict[str, Value]
    """Every option that is set, as written or by default."""
    shorthand: bool
    mode: str
    error: str | None
    writable: Outcome | None
    unwritable: Outcome | None
    baseline: CellSummary | None = None
    """The baseline's row for the same written options (diffs only; None
    there when the baseline lacks the driver)."""


@frozen
class TruthTable:
    """A build's truth table, or its rows that differ from the baseline's."""

    policy: str
    platform: str
    frontend: str
    drivers: tuple[str, ...]
    options: tuple[str, ...]
    baseline: str | None
    """Only rows that differ from this build (None: every row)."""
    rows: tuple[TruthRow, ...]


# -- visibility -----------------------------------------------------------------


@frozen
class LaterChange:
    """What a client sees when a later release changes a driver's class."""

    driver: str
    before: str
    after: str
    visible: bool
    """Something a client can see changed (schema, results, its answer)."""
    learns: bool
    """The unchanged client now answers right for the driver."""


@frozen
class Visibility:
    """One policy's signal, property by property."""

    policy: str
    signal: str
    evidence: str
    visible_in_schema: bool
    cacheable: bool
    extra_commands: tuple[str, ...]
    detectable: bool
    fragile: bool
    granularity: str
    dynamic_anywhere: bool
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]
    claimed_not_dynamic: tuple[str, ...]
    gluster: LaterChange | None
    hard_to_fallback: LaterChange | None


# -- compatibility --------------------------------------------------------------


@frozen
class CompatReport:
    """A policy's compatibility findings against one baseline."""

    policy: str
    against: str
    findings: tuple[Finding, ...]

    def count(self, level: Level) -> int:
        return sum(f.level is level for f in self.findings)


# -- scenarios ------------------------------------------------------------------


@frozen
class ImageState:
    """One image after a step: its label and its protocol node."""

    name: str
    writable: bool
    """The label allows writes."""
    fd: str
    ro: bool | None
    mode: str | None
    denials: int | None


@frozen
class TraceStep:
    """One played step of a run, and the images after it."""

    index: int
    step: str
    line: int | None
    result: str
    message: str | None
    met: bool
    why: str | None
    actions: tuple[str, ...]
    state: tuple[ImageState, ...]


@frozen
class Run:
    """One scenario replayed on one build by one client."""

    scenario: str
    policy: str
    """The build (``name`` or ``name@platform``)."""
    client: str
    outcome: str
    """``meets``, ``fails``, ``not-applicable`` (or ``backend-failure``)."""
    frontend: str | None
    step: int | None
    step_text: str | None
    reason: str | None
    trace: tuple[TraceStep, ...] = ()
    """Kept for failed runs."""


@frozen
class Evidence:
    """The run that shows a policy failing one of the thread's requirements."""

    policy: str
    criterion: str
    run: Run
    """The shortest failing run that shows the requirement broken."""


@frozen
class ScenarioInfo:
    """A scenario file the report read, by name and content hash."""

    name: str
    summary: str
    source: str
    file: str
    sha256: str


# -- version skew ---------------------------------------------------------------


@frozen
class WorkflowOutcome:
    """One workflow's outcome in a skew cell."""

    scenario: str
    outcome: str


@frozen
class SkewCell:
    """One client on one build: what it detects and which workflows it meets."""

    client: str
    build: str
    detected: tuple[str, ...]
    truth: tuple[str, ...]
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]
    evidence: str
    fragile: bool
    met: int
    ran: int
    workflows: tuple[WorkflowOutcome, ...]
    blockdev: bool | None = None
    """The frontend a client deciding for the whole binary picks (None: per driver)."""
    missing: tuple[str, ...] = ()
    """What that client found missing for -blockdev."""


@frozen
class SkewNote:
    """Why a client that never probes scores as it does (the legacy client)."""

    client: str
    frontend: str
    """The only frontend it ever used."""
    met: int
    ran: int
    rank: int
    """1: no client met more workflows in total."""
    jobs_met: int
    """Block-job workflows it met: -drive's implicit nodes are reopened with
    their parent, so a job never depends on a dynamic driver."""
    false_positives: int


# -- provenance -------------------------------------------------------------------


@frozen
class PolicySource:
    """Where a policy's code came from."""

    name: str
    origin: str
    source: str


@frozen
class Provenance:
    """What reproduces the report: the tool, the inputs and their hash, the options."""

    tool: str
    input_sha256: str
    """sha256 over the policy names and origins and the scenario digests."""
    policies: tuple[PolicySource, ...]
    scenarios: tuple[ScenarioInfo, ...]
    arguments: tuple[str, ...] = ()
    """The options that chose these inputs (``--policy``, ``--scenarios``), as given."""


# -- the report -------------------------------------------------------------------


@frozen
class SearchStep:
    """One step of a counterexample the search found."""

    step: str
    result: str
    message: str | None


@frozen
class SearchFinding:
    """A property a policy violates that no built-in scenario shows."""

    policy: str
    property: str
    labels: tuple[ScenarioLabel, ...]
    """The chain at start, base first."""
    readonly: bool
    trace: tuple[SearchStep, ...]
    image: ImageState | None
    """The image the violation concerns, after the last step (None: the step itself)."""


@frozen
class ScenarioLabel:
    """An image of a counterexample and its label at start."""

    image: str
    writable: bool


@frozen
class Search:
    """``explore`` at the report's bounds (see ``analysis.explore``)."""

    depth: int
    images: int
    states: int
    steps: int
    """Steps played."""
    violations: int
    """(policy, property) pairs with a counterexample."""
    shown: int
    """... of which a built-in scenario's run also violates the property."""
    unshown: tuple[SearchFinding, ...]


@frozen
class Report:
    """Everything ``optcompare report`` computed (the tree is in the module's docstring)."""

    version: str
    full: bool
    criteria: tuple[Criterion, ...]
    policies: tuple[PolicyInfo, ...]
    matrix: tuple[MatrixRow, ...]
    decision: Decision
    evidence: tuple[Evidence, ...]
    file_diffs: tuple[TruthTable, ...]
    truth_tables: tuple[TruthTable, ...]
    visibility: tuple[Visibility, ...]
    compat: tuple[CompatReport, ...]
    results: tuple[Run, ...]
    skew: tuple[SkewCell, ...]
    skew_notes: tuple[SkewNote, ...]
    provenance: Provenance
    search: Search | None = None
    """Found by search (None: not run)."""

    def row(self, policy: str) -> MatrixRow:
        return next(r for r in self.matrix if r.policy == policy)

    def cell(self, policy: str, criterion: str) -> Cell:
        return next(c for c in self.row(policy).cells if c.criterion == criterion)

    def policy(self, name: str) -> PolicyInfo:
        return next(p for p in self.policies if p.name == name)
