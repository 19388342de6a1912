"""The report: every analysis, the verdict matrix, and the decision computed from it.

Returns a :class:`~optcompare.analysis.report_model.Report` (see that module
for the tree). Each cell carries a mark, a typed reason and the table,
scenario or analysis it came from; the decision (who meets the thread's
requirements, who is not dominated, the trade-off, what nobody solves) is
computed from the cells. Nothing here writes a sentence.

Fair comparison (DESIGN section 7), each rule applied here or in
:mod:`optcompare.analysis.compat`:

- a change that comes from a driver change of a later release (4.1's vmdk)
  is the release's: its findings are kept and flagged, but do not decide
  the option's cell;
- a change is announced only when the signal describes it correctly (it
  says dynamic, so the driver must be dynamic);
- a criterion on which every policy scores the same leaves the deciding
  criteria and is reported once (:class:`Common`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from optcompare import __version__
from optcompare.analysis import compat, report_beside, truth_table, visibility
from optcompare.analysis import report_model as m
from optcompare.analysis import scenarios as scenario_analysis
from optcompare.analysis.explore import Exploration
from optcompare.analysis.findings import FindingKind, outcome, summary
from optcompare.analysis.report_beside import SEARCH_DEPTH as SEARCH_DEPTH
from optcompare.analysis.report_beside import Started
from optcompare.analysis.shipped import ShippedConclusion
from optcompare.model.drivers import RELEASES
from optcompare.model.modes import Mode
from optcompare.model.options import READ_ONLY
from optcompare.policies.base import Frontend, Policy, Role
from optcompare.scenario.backend import Observation
from optcompare.scenario.runner import Outcome, ScenarioResult
from optcompare.scenario.spec import LEGACY, NATIVE, Scenario

USERS_OF = "qemu-3.1"
"""The release whose users "no break" and "no silent change" protect."""
PROPOSED_FOR = "qemu-4.0"
"""The release the options were proposed for ("4.0 so far"): options and
proposals are diffed against it, and a later release's driver changes are
measured from it."""

THREAD = m.Origin.THREAD
DERIVED = m.Origin.DERIVED

CRITERIA = (
    m.Criterion("readonly-disks", THREAD),
    m.Criterion("block-commit", THREAD),
    m.Criterion("schema-alone", DERIVED),
    m.Criterion("cacheable", DERIVED),
    m.Criterion("extra-command", DERIVED),
    m.Criterion("detectable", DERIVED),
    m.Criterion("granularity", DERIVED),
    m.Criterion("accuracy", DERIVED),
    m.Criterion("no-break", DERIVED),
    m.Criterion("no-silent", DERIVED),
    m.Criterion("later-dynamic", DERIVED),
    m.Criterion("later-fallback", DERIVED),
    m.Criterion("shipped-libvirt", DERIVED),
    m.Criterion("no-experimental", DERIVED),
    m.Criterion("no-denials", DERIVED),
    m.Criterion("no-write-fd", DERIVED),
    m.Criterion("cost", DERIVED),
    m.Criterion("facade", DERIVED),
)

SCENARIOS_OF = {
    "readonly-disks": ("readonly-disk-guest-write", "readonly-disk-drive"),
    "block-commit": ("blockdev-commit-selinux",),
    "no-denials": ("deep-chain-start-denials",),
    "no-write-fd": ("snapshot-then-commit", "blockdev-commit-selinux"),
}
JOB_STEPS = ("block-commit", "block-stream")

Index = dict[tuple[str, str], ScenarioResult]


def _mark(good: bool) -> m.Mark:
    return m.Mark.YES if good else m.Mark.NO


def _na(criterion: str, why: m.NotApplicable, source: m.Source) -> m.Cell:
    return m.Cell(criterion, m.Mark.NA, m.Inapplicable(why), source)


def _scenario_cell(criterion: str, index: Index, policy: str) -> m.Cell:
    names = SCENARIOS_OF[criterion]
    source = m.Source(m.SourceKind.SCENARIO, policy, names)
    found = [index[(n, policy)] for n in names if (n, policy) in index]
    if not found:
        return _na(criterion, m.NotApplicable.NOT_RUN, source)
    failed = [r for r in found if r.outcome is Outcome.FAILS]
    if failed:
        r = failed[0]
        return m.Cell(criterion, m.Mark.NO,
                      m.ScenarioFailure(r.scenario, r.step, r.step_text, r.reason), source)
    broke = [r for r in found if r.outcome not in (Outcome.MEETS, Outcome.NOT_APPLICABLE)]
    if broke:
        return m.Cell(criterion, m.Mark.ERR, m.BackendBroke(broke[0].scenario, broke[0].reason),
                      source)
    if all(r.outcome is Outcome.NOT_APPLICABLE for r in found):
        return _na(criterion, m.NotApplicable.NO_SCENARIO_APPLIES, source)
    return m.Cell(criterion, m.Mark.YES, None, source)


def interface_cost(policy: Policy) -> tuple[m.Cell, m.Cell]:
    """``file``'s options, valid combinations, distinct modes; and the facade test."""
    build = policy.build()
    rows = truth_table.driver_rows(build, "file", Frontend.BLOCKDEV)
    valid = [r for r in rows if r.cell.mode is not Mode.ERROR]
    modes = {r.cell.mode for r in valid}
    options = build.options("file")
    source = m.Source(m.SourceKind.TRUTH_TABLE, policy.name, ("file",))
    cost = m.Cell("cost", _mark(len(valid) == len(rows)),
                  m.Cost(len(options), len(valid), len(rows), len(modes)), source)
    extra = [o for o in options if o not in (READ_ONLY, policy.auto_option)]
    if not extra:
        return cost, _na("facade", m.NotApplicable.NO_EXTRA_OPTION, source)
    facades = []
    for option in extra:
        changes = False
        for row in valid:
            if option not in row.written:
                continue
            without = {k: v for k, v in row.written.items() if k != option}
            other = build.resolve(without, "file")
            if other.mode is Mode.ERROR or other.mode != row.cell.mode:
                changes = True
                break
        if not changes:
            facades.append(option)
    if facades:
        return cost, m.Cell("facade", m.Mark.NO, m.Facade(tuple(facades)), source)
    return cost, m.Cell("facade", m.Mark.YES, None, source)


def _compat_cell(criterion: str, report: compat.Report | None, level: compat.Level,
                 policy: str) -> m.Cell:
    source = m.Source(m.SourceKind.COMPAT, policy, (USERS_OF,))
    if report is None:
        return _na(criterion, m.NotApplicable.BASELINE, source)
    runs = (FindingKind.WORKFLOW, FindingKind.NEW_CLIENT)
    hits = [f for f in report.findings if f.level is level
            and (f.kind is FindingKind.CMDLINE or f.kind in runs)]
    deciding = [f for f in hits if not f.release]
    own = [f for f in hits if f.release]
    cmdline = [f for f in deciding if f.kind is FindingKind.CMDLINE]
    count = m.CompatCount(
        against=USERS_OF,
        level=level,
        blockdev=len({(f.platform, f.options) for f in cmdline
                      if f.frontend == Frontend.BLOCKDEV.value}),
        drive=len({(f.platform, f.options) for f in cmdline
                   if f.frontend == Frontend.DRIVE.value}),
        workflows=sum(f.kind in runs for f in deciding),
        drivers=_unique(d for f in cmdline for d in f.drivers),
        release_drivers=_unique(d for f in own for d in f.drivers),
        release_findings=len(own),
        misdescribed=_unique(d for f in cmdline if f.misdescribed for d in f.drivers),
    )
    return m.Cell(criterion, _mark(not deciding), count, source)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _later_cell(criterion: str, later: visibility.Later | None, learnt: bool,
                source: m.Source) -> m.Cell:
    if later is None:
        return _na(criterion, m.NotApplicable.NO_SUCH_DRIVER, source)
    reason = m.LaterRelease(later.driver, later.before.value, later.after.value)
    return m.Cell(criterion, _mark(learnt), reason, source)


def merge_row(policy: str, *parts: dict[str, m.Cell]) -> m.MatrixRow:
    """A policy's row of the verdict matrix, from :func:`measured_cells` and
    :func:`signal_cells`, in the criteria's order."""
    cells = {criterion: cell for part in parts for criterion, cell in part.items()}
    return m.MatrixRow(policy, tuple(cells[c.id] for c in CRITERIA))


def measured_cells(policy: Policy, index: Index, report: compat.Report | None
                   ) -> dict[str, m.Cell]:
    """The cells the scenario runs, compat and the build decide (not the signal's
    visibility)."""
    name = policy.name
    cells: dict[str, m.Cell] = {}
    for criterion in ("readonly-disks", "block-commit", "no-denials", "no-write-fd"):
        cells[criterion] = _scenario_cell(criterion, index, name)
    cells["no-break"] = _compat_cell("no-break", report, compat.Level.BREAK, name)
    cells["no-silent"] = _compat_cell("no-silent", report, compat.Level.SILENT, name)
    cells["no-experimental"] = _experimental_cell(policy)
    cells["cost"], cells["facade"] = interface_cost(policy)
    return cells


def signal_cells(vis: visibility.PolicyVisibility) -> dict[str, m.Cell]:
    """The cells the visibility of the policy's signal decides."""
    name = vis.policy
    src = m.Source(m.SourceKind.VISIBILITY, name)
    cells: dict[str, m.Cell] = {}
    if not vis.dynamic_anywhere:
        for key in ("schema-alone", "cacheable", "extra-command", "detectable", "granularity",
                    "later-dynamic"):
            cells[key] = _na(key, m.NotApplicable.NOTHING_DYNAMIC, src)
    else:
        cells["schema-alone"] = m.Cell(
            "schema-alone", _mark(vis.visible_in_schema),
            m.VersionOnly() if not vis.visible_in_schema and vis.fragile else None, src)
        cells["cacheable"] = m.Cell("cacheable", _mark(vis.cacheable),
                                    None if vis.cacheable else m.NoPromise(), src)
        extra = vis.extra_commands
        cells["extra-command"] = m.Cell("extra-command", _mark(not extra),
                                        m.ExtraCommands(extra) if extra else None, src)
        if not vis.detectable:
            cells["detectable"] = m.Cell("detectable", m.Mark.NO, None, src)
        elif vis.fragile:
            cells["detectable"] = m.Cell("detectable", m.Mark.NO, m.VersionOnly(), src)
        else:
            cells["detectable"] = m.Cell("detectable", m.Mark.YES, None, src)
        grain = vis.granularity
        cells["granularity"] = m.Cell(
            "granularity", _mark(grain is visibility.Granularity.PER_DRIVER),
            m.Grain(grain.value), src)
    fp, fn = vis.false_positives, vis.false_negatives
    cells["accuracy"] = m.Cell("accuracy", _mark(not fp and not fn),
                               m.Accuracy(fp, fn) if fp or fn else None, src)
    glu, hard = vis.gluster, vis.hard_to_fallback
    if vis.dynamic_anywhere:
        cells["later-dynamic"] = _later_cell(
            "later-dynamic", glu, bool(glu and glu.learns),
            m.Source(m.SourceKind.VISIBILITY, name, (visibility.GLUSTER,)))
    cells["later-fallback"] = _later_cell(
        "later-fallback", hard, bool(hard and hard.visible),
        m.Source(m.SourceKind.VISIBILITY, name, (hard.driver,) if hard else ()))
    cells["shipped-libvirt"] = _shipped_cell(vis.shipped[0] if vis.shipped else None, name)
    return cells


def _shipped_cell(found: ShippedConclusion | None, policy: str) -> m.Cell:
    """The shipped libvirt on the POSIX build: right, misreads, or never on -blockdev."""
    source = m.Source(m.SourceKind.VISIBILITY, policy, ("libvirt",))
    if found is None or not found.file_probe:
        return _na("shipped-libvirt", m.NotApplicable.DRIVE_THROUGHOUT, source)
    reason = m.ShippedMisread(
        frontend=found.frontend.value, missing=found.missing,
        wrongly_dynamic=tuple(x.driver for x in found.wrongly_dynamic), missed=found.missed,
        rejected=found.rejected)
    bad = reason.wrongly_dynamic or reason.missed or reason.rejected
    return m.Cell("shipped-libvirt", _mark(not bad), reason, source)


def _experimental_cell(policy: Policy) -> m.Cell:
    """Its libvirt needs no experimental (``x-``) command: libvirt does not use them.

    Peter's hands-on approach reopens nodes itself, with the reopen command
    the build has; in 4.0 that is ``x-blockdev-reopen`` (stable in 6.1).
    """
    from optcompare.policies.explicit_reopen import ReopenDetection
    from optcompare.schema.target import BuildTarget

    source = m.Source(m.SourceKind.VISIBILITY, policy.name, ("reopen",))
    if not policy.explicit_reopen:
        return m.Cell("no-experimental", m.Mark.YES, None, source)
    build = policy.build()
    found = policy.detect(BuildTarget(build), build.drivers)
    command = found.reopen if isinstance(found, ReopenDetection) else None
    if command is None:
        return _na("no-experimental", m.NotApplicable.NOT_RUN, source)
    experimental = command.startswith("x-")
    return m.Cell("no-experimental", _mark(not experimental),
                  m.ExtraCommands((command,)) if experimental else None, source)


# -- the decision ---------------------------------------------------------------


def common_criteria(matrix: Sequence[m.MatrixRow]) -> tuple[m.Common, ...]:
    """Criteria on which every policy they apply to (two at least) has the same mark."""
    found = []
    for position, criterion in enumerate(CRITERIA):
        marks = [row.cells[position].mark for row in matrix]
        applied = [mark for mark in marks if mark is not m.Mark.NA]
        if len(applied) > 1 and m.Mark.ERR not in applied and len(set(applied)) == 1:
            found.append(m.Common(criterion.id, applied[0], len(applied)))
    return tuple(found)


def _better(a: m.Mark, b: m.Mark) -> int:
    """1 if ``a`` is better, -1 if worse, 0 if equal or not comparable (n/a, ERR)."""
    if a is b or m.Mark.NA in (a, b) or m.Mark.ERR in (a, b):
        return 0
    return 1 if a is m.Mark.YES else -1


def dominates(a: m.MatrixRow, b: m.MatrixRow, positions: Sequence[int]) -> bool:
    """At least as good on every deciding criterion and better on one."""
    comparisons = [_better(a.cells[i].mark, b.cells[i].mark) for i in positions]
    return all(c >= 0 for c in comparisons) and any(c > 0 for c in comparisons)


def decide(matrix: Sequence[m.MatrixRow], results: Sequence[ScenarioResult]) -> m.Decision:
    common = common_criteria(matrix)
    common_ids = {c.criterion for c in common}
    thread = [i for i, c in enumerate(CRITERIA) if c.origin is THREAD]
    deciding = [i for i, c in enumerate(CRITERIA) if c.id not in common_ids]
    meets = [row for row in matrix if all(row.cells[i].mark is m.Mark.YES for i in thread)]
    dominated = []
    for row in meets:
        by = tuple(o.policy for o in meets if o is not row and dominates(o, row, deciding))
        if by:
            dominated.append(m.Dominated(row.policy, by))
    beaten = {d.policy for d in dominated}
    front = [row for row in meets if row.policy not in beaten]
    trade_offs = []
    for row in front:
        others = [o for o in front if o is not row]
        loses = tuple(CRITERIA[i].id for i in deciding if row.cells[i].mark is m.Mark.NO
                      and any(o.cells[i].mark is m.Mark.YES for o in others))
        wins = tuple(CRITERIA[i].id for i in deciding if row.cells[i].mark is m.Mark.YES
                     and any(o.cells[i].mark is m.Mark.NO for o in others))
        trade_offs.append(m.TradeOff(row.policy, loses, wins))
    return m.Decision(
        policies=len(matrix),
        meets_thread=tuple(r.policy for r in meets),
        non_dominated=tuple(r.policy for r in front),
        dominated=tuple(dominated),
        trade_offs=tuple(trade_offs),
        common=common,
        unmet_everywhere=unmet_everywhere(results),
        deciding=tuple(CRITERIA[i].id for i in deciding),
    )


def unmet_everywhere(results: Sequence[ScenarioResult]) -> tuple[str, ...]:
    """Scenarios that fail on every build they apply to (and apply to one)."""
    outcomes: dict[str, list[Outcome]] = {}
    for r in results:
        outcomes.setdefault(r.scenario, []).append(r.outcome)
    return tuple(
        name for name, seen in outcomes.items()
        if len(seen) > 1 and all(o in (Outcome.FAILS, Outcome.NOT_APPLICABLE) for o in seen)
        and Outcome.FAILS in seen
    )


# -- conversions to the model -------------------------------------------------------


def truth_tables(items: Iterable[truth_table.Table]) -> tuple[m.TruthTable, ...]:
    result = []
    for table in items:
        rows = []
        for row in table.rows:
            res = row.cell.resolution
            rows.append(m.TruthRow(
                options={name: res.written.get(name) for name in table.options},
                effective=dict(res.effective),
                shorthand=res.shorthand,
                mode=res.mode.value,
                error=res.error,
                writable=outcome(row.cell.writable),
                unwritable=outcome(row.cell.unwritable),
                baseline=summary(row.against) if row.against is not None else None,
            ))
        result.append(m.TruthTable(table.policy, table.platform.value, table.frontend.value,
                                   table.drivers, table.options, table.against, tuple(rows)))
    return tuple(result)


def _later(later: visibility.Later | None) -> m.LaterChange | None:
    if later is None:
        return None
    return m.LaterChange(later.driver, later.before.value, later.after.value, later.visible,
                         later.learns)


def _visibility(v: visibility.PolicyVisibility) -> m.Visibility:
    return m.Visibility(
        policy=v.policy, signal=v.signal.value, evidence=v.evidence,
        visible_in_schema=v.visible_in_schema, cacheable=v.cacheable,
        extra_commands=v.extra_commands, detectable=v.detectable, fragile=v.fragile,
        granularity=v.granularity.value, dynamic_anywhere=v.dynamic_anywhere,
        false_positives=v.false_positives, false_negatives=v.false_negatives,
        claimed_not_dynamic=v.claimed_not_dynamic, gluster=_later(v.gluster),
        hard_to_fallback=_later(v.hard_to_fallback),
    )


def _run(result: ScenarioResult, trace: bool) -> m.Run:
    steps = tuple(
        m.TraceStep(
            index=r.index, step=r.step, line=r.line, result=r.result, message=r.message,
            met=r.met, why=r.why, actions=r.actions,
            state=tuple(m.ImageState(name, o.label, o.fd.value, o.ro, o.mode, o.denials)
                        for name, o in r.state.items()),
        )
        for r in result.trace
    ) if trace else ()
    return m.Run(result.scenario, result.policy, result.client, result.outcome.value,
                 result.frontend, result.step, result.step_text, result.reason, steps)


def _skew(cells: Sequence[scenario_analysis.SkewCell]) -> tuple[m.SkewCell, ...]:
    return tuple(
        m.SkewCell(
            client=c.client, build=c.build, detected=tuple(sorted(c.detected)),
            truth=tuple(sorted(c.truth)), false_positives=tuple(sorted(c.false_positives)),
            false_negatives=tuple(sorted(c.false_negatives)), evidence=c.evidence,
            fragile=c.fragile, met=c.met, ran=c.ran,
            workflows=tuple(m.WorkflowOutcome(r.scenario, r.outcome.value) for r in c.results),
            blockdev=c.blockdev, missing=c.missing,
        )
        for c in cells
    )


def skew_notes(cells: Sequence[scenario_analysis.SkewCell],
               scenarios: Sequence[Scenario]) -> tuple[m.SkewNote, ...]:
    """Why the client that never probes scores as it does."""
    totals: dict[str, int] = {}
    for c in cells:
        totals[c.client] = totals.get(c.client, 0) + c.met
    legacy = [c for c in cells if c.client == LEGACY]
    if not legacy:
        return ()
    jobs = {s.name for s in scenarios if any(step.do in JOB_STEPS for step in s.steps)}
    results = [r for c in legacy for r in c.results]
    frontends = sorted({r.frontend for r in results if r.frontend})
    better = sum(1 for total in totals.values() if total > totals[LEGACY])
    return (m.SkewNote(
        client=LEGACY,
        frontend="/".join(frontends) or "-",
        met=sum(c.met for c in legacy),
        ran=sum(c.ran for c in legacy),
        rank=better + 1,
        jobs_met=sum(r.outcome is Outcome.MEETS and r.scenario in jobs for r in results),
        false_positives=sum(len(c.false_positives) for c in legacy),
    ),)


def _evidence(matrix: Sequence[m.MatrixRow], results: Sequence[ScenarioResult]
              ) -> tuple[m.Evidence, ...]:
    """For each failed thread requirement, the shortest run that shows it."""
    found = []
    by_key = {(r.scenario, r.policy): r for r in results}
    for row in matrix:
        for cell in row.cells:
            origin = next(c.origin for c in CRITERIA if c.id == cell.criterion)
            if origin is not THREAD or cell.mark is not m.Mark.NO:
                continue
            failing = [by_key[(n, row.policy)] for n in SCENARIOS_OF[cell.criterion]
                       if (n, row.policy) in by_key
                       and by_key[(n, row.policy)].outcome is Outcome.FAILS]
            shortest = min(failing, key=lambda r: (r.step or 0, len(r.trace)))
            found.append(m.Evidence(row.policy, cell.criterion, _run(shortest, trace=True)))
    return tuple(found)


# -- baselines ---------------------------------------------------------------------


def baseline_of(policy: Policy, releases: Sequence[Policy]) -> Policy | None:
    """Options and proposals: the release they were proposed for; a release:
    the latest release before it."""
    if policy.role is not Role.RELEASE:
        return next((p for p in releases if p.name == PROPOSED_FOR), None)
    rank = RELEASES.index
    older = [p for p in releases if rank(p.release) < rank(policy.release)]
    if not older:
        return None
    latest = max(rank(p.release) for p in older)
    return next(p for p in older if rank(p.release) == latest)


def _input_hash(policies: Sequence[Policy], scenarios: Sequence[Scenario]) -> str:
    digest = hashlib.sha256()
    for p in policies:
        digest.update(f"policy {p.name} {p.origin}\n".encode())
    for s in scenarios:
        digest.update(f"scenario {s.name} {s.digest}\n".encode())
    return digest.hexdigest()


def build_report(policies: Sequence[Policy], scenarios: Sequence[Scenario], *,
                 full: bool = False, parallel: bool | None = None,
                 found: Started | None = None,
                 arguments: Sequence[str] = ()) -> m.Report:
    """The report on ``policies``; the search runs beside the other analyses when the
    machine allows (``parallel``: force it on or off), with the same result either way.
    ``found``: the search and the visibility, already started (:func:`report_beside.begin`);
    ``arguments``: the options that chose the inputs, for the reproduce line."""
    if found is not None:
        return _build(policies, scenarios, full, found, tuple(arguments))
    with report_beside.begin(policies, parallel=parallel) as started:
        return _build(policies, scenarios, full, started, tuple(arguments))


def _build(policies: Sequence[Policy], scenarios: Sequence[Scenario], full: bool,
           found: Started, arguments: tuple[str, ...]) -> m.Report:
    from optcompare.policies import registry

    results = scenario_analysis.matrix(scenarios, policies)
    index = {(r.scenario, r.policy): r for r in results}
    users = registry.get(USERS_OF)
    ground = registry.get(PROPOSED_FOR)
    rank = RELEASES.index
    reports: dict[str, compat.Report] = {}
    for policy in policies:
        if policy.name != USERS_OF and rank(policy.release) >= rank(users.release):
            reports[policy.name] = compat.compare(policy, [users], scenarios, ground=ground)
    # The reply shows no skew: every client on every build is --full's (a third of the
    # replays the reply would otherwise make).
    cells = scenario_analysis.skew(scenarios, policies) if full else []
    measured = {p.name: measured_cells(p, index, reports.get(p.name)) for p in policies}
    releases = [p for p in registry.all_policies() if p.role is Role.RELEASE]
    baselines = {p.name: baseline_of(p, releases) for p in policies}
    file_diffs: list[truth_table.Table] = []
    for policy in policies:
        base = baselines[policy.name]
        if base is not None:
            file_diffs += truth_table.tables(policy, drivers=("file",), against=base)
    full_tables: list[truth_table.Table] = []
    if full:
        for policy in policies:
            full_tables += truth_table.tables(policy)
    infos = tuple(
        m.PolicyInfo(p.name, p.title, p.source, p.origin, p.role, p.release,
                     b.name if (b := baselines[p.name]) is not None else None)
        for p in policies)
    diffs, tables = truth_tables(file_diffs), truth_tables(full_tables)
    compared = tuple(m.CompatReport(r.policy, USERS_OF, r.findings) for r in reports.values())
    runs = tuple(_run(r, trace=r.outcome is Outcome.FAILS) for r in results)
    skew, notes = _skew(cells), skew_notes(cells, scenarios)
    provenance = m.Provenance(
        tool=f"optcompare {__version__}",
        input_sha256=_input_hash(policies, scenarios),
        policies=tuple(m.PolicySource(p.name, p.origin, p.source) for p in policies),
        scenarios=scenario_analysis.scenario_infos(scenarios),
        arguments=arguments,
    )
    native = [r for r in results if _native(r, scenarios)]
    shown = shown_by_scenarios(scenarios, results)
    early = found.result()  # computed beside everything above
    vis = {p.name: v for p, v in zip(policies, early.visibility, strict=True)}
    matrix = tuple(merge_row(p.name, measured[p.name], signal_cells(vis[p.name]))
                   for p in policies)
    return m.Report(
        version=__version__,
        full=full,
        criteria=CRITERIA,
        policies=infos,
        matrix=matrix,
        decision=decide(matrix, native),
        evidence=_evidence(matrix, results),
        file_diffs=diffs,
        truth_tables=tables,
        visibility=tuple(_visibility(vis[p.name]) for p in policies),
        compat=compared,
        results=runs,
        skew=skew,
        skew_notes=notes,
        provenance=provenance,
        search=search(early.search, shown),
    )


def shown_by_scenarios(scenarios: Sequence[Scenario], results: Sequence[ScenarioResult]
                       ) -> dict[str, set[str]]:
    """Per policy, the properties some built-in scenario's native run violates."""
    from optcompare.analysis import explore

    by_name = {s.name: s for s in scenarios}
    shown: dict[str, set[str]] = {}
    for result in results:
        scenario = by_name.get(result.scenario)
        if scenario is not None and result.client == NATIVE:
            shown.setdefault(result.policy, set()).update(
                p.value for p in explore.exhibited(scenario, result))
    return shown


def search(found: Exploration, shown: dict[str, set[str]]) -> m.Search:
    """What the search found that no built-in scenario shows (``shown``)."""
    bounds = found.bounds
    violations = 0
    unshown = []
    for policy in found.searches:
        for item in policy.results:
            example = item.counterexample
            if example is None:
                continue
            violations += 1
            if item.property.value in shown.get(policy.policy, set()):
                continue
            unshown.append(m.SearchFinding(
                policy.policy, item.property.value,
                tuple(m.ScenarioLabel(i.name, i.writable) for i in example.workflow.images()),
                example.workflow.start.readonly,
                tuple(m.SearchStep(r.step, r.result, r.message) for r in example.trace),
                _image(example.image, example.trace[-1].state)))
    return m.Search(bounds.depth, bounds.images, found.states, found.transitions, violations,
                    violations - len(unshown), tuple(unshown))


def _image(name: str | None, state: dict[str, Observation]) -> m.ImageState | None:
    if name is None:
        return None
    seen = state[name]
    return m.ImageState(name, seen.label, seen.fd.value, seen.ro, seen.mode, seen.denials)


def _native(result: ScenarioResult, scenarios: Sequence[Scenario]) -> bool:
    """A run of a scenario written for the policy's own client."""
    return any(s.name == result.scenario and s.setup.client == NATIVE for s in scenarios)
