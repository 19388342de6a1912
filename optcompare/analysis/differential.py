"""Differential testing: the explored workflows of the released policy on a real QEMU.

The search's workflows on the model of the released behaviour, for each
frontend the real backend runs (``-blockdev`` on ``qemu-storage-daemon``,
``-drive`` on ``qemu-system-x86_64 -M none``; driver ``file``; guest writes,
which run on the emulator, included), are replayed on the model and on the
real backend, and compared
step by step as ``conformance`` compares a scenario: one workflow for every
step the search played (the path to a state, then that step), shortest
first, so a budget cuts the longest ones. Each disagreement is
shrunk (cut after the first step that disagrees, then one step left out at
a time while the disagreement stays) to a minimal workflow. A disagreement
that matches a known departure of the model is counted apart; the rest are
unexplained. A daemon that dies is a violation of ``no-crash``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from optcompare.analysis.conformance import (
    Aspect,
    ScenarioComparison,
    StepComparison,
    compare_scenario,
)
from optcompare.analysis.explore import Bounds, Context, Workflow, scenario_of
from optcompare.backends.qemu.backend import BackendFactory, Progress, run_one
from optcompare.frozen import frozen
from optcompare.policies.base import Policy
from optcompare.scenario.backend import NotApplicable
from optcompare.scenario.spec import Step

RERUNS = 3
"""How often a workflow on which QEMU crashed is run again (is it reproducible?)."""
FRONTENDS = ("blockdev", "drive")
"""The frontends the real backend runs scenario workflows on (``auto`` is one of them,
picked by the client)."""
BOUNDS = Bounds(frontend="blockdev", driver="file", guest=True)
"""What the real backend can express: local files, guest writes (on the emulator)."""


@frozen
class KnownDeparture:
    """A way the model departs from QEMU on purpose, recognised in a step's differences."""

    id: str
    step: str
    """The step kind it shows on."""
    field: str
    """The compared field (``result``, ``fd``, ``denials``...) that differs."""

    also: tuple[str, ...] = ()
    """Other fields that may differ with it."""
    model_error: str | None = None
    """Text the model's error has (None: any)."""

    def matches(self, comparison: StepComparison) -> bool:
        do = comparison.step.split(" ", 1)[0]
        message = comparison.model.message if comparison.model else None
        if self.model_error is not None and self.model_error not in (message or ""):
            return False
        return do == self.step and all(
            d.aspect.value in (self.field, *self.also) for d in comparison.differences)


KNOWN_DEPARTURES: tuple[KnownDeparture, ...] = (
    KnownDeparture("write-after-relabel", "guest-write", "denials",
                   ("result", "expectation met"), "Permission denied"),
)
"""A guest write through a descriptor opened read/write before its image was relabelled
read-only: SELinux refuses it (the model counts a denial), the file modes that stand in
for labels here are checked at open only, so the real backend's write succeeds."""


@frozen
class Disagreement:
    workflow: Workflow
    """The shrunk workflow, each step expecting what the model gave."""
    original: Workflow
    comparison: ScenarioComparison
    """The shrunk workflow on both sides."""
    known: str | None
    """The known departure it is, None: unexplained."""
    seen: int = 1
    """Replayed workflows that shrank to it."""
    reruns: int = 0
    """A crash: how often the shrunk workflow was run again ..."""
    reproduced: int = 0
    """... and how often QEMU crashed again."""

    @property
    def crash(self) -> bool:
        """QEMU itself broke (``no-crash`` is violated), not a model disagreement."""
        return self.comparison.status == "backend-failure"


@frozen
class Differential:
    policy: str
    bounds: Bounds
    planned: int
    """Workflows the search gave."""
    workflows: int
    """Workflows replayed on both sides."""
    steps: int
    agreements: int
    disagreements: int
    """Steps that disagree (before shrinking)."""
    backend_failures: int
    found: tuple[Disagreement, ...]
    interrupted: bool = False
    out_of_budget: bool = False
    not_applicable: int = 0
    """Workflows the real backend could not express (their steps before that compared)."""

    @property
    def frontend(self) -> str:
        return self.bounds.frontend

    @property
    def unexplained(self) -> int:
        """Model disagreements that are no known departure (crashes are counted apart)."""
        return sum(1 for d in self.found if d.known is None and not d.crash)

    @property
    def crashes(self) -> int:
        return sum(1 for d in self.found if d.crash)


def _names(step: Step) -> list[str]:
    return [str(step.args[k]) for k in ("image", "top", "base") if k in step.args]


def _expecting(context: Context, policy: Policy, bounds: Bounds, workflow: Workflow
               ) -> Workflow | None:
    """The workflow with each step expecting what the model gives, None when a step names
    an image that is not there at that point (a shrunk workflow can)."""
    session = context.session(policy, bounds, workflow.start)
    steps = []
    for index, step in enumerate(workflow.steps):
        names = _names(step)
        if step.do == "snapshot":
            if names[0] in session.known:
                return None
        elif step.do != "start" and any(n not in session.chain for n in names):
            return None
        try:
            record = session.play(replace(step, index=index))
        except NotApplicable:
            return None
        steps.append(replace(step, index=index, expect=record.result,
                             error=record.message if record.result == "error" else None))
    return Workflow(workflow.start, tuple(steps))


def _compare(context: Context, policy: Policy, bounds: Bounds, workflow: Workflow,
             factory: BackendFactory | None) -> ScenarioComparison:
    scenario = replace(scenario_of(bounds, workflow.start, workflow.steps), name="explored")
    model = context.replay(policy, bounds, workflow)
    qemu = run_one(scenario, policy, factory=factory)
    return compare_scenario(scenario, model, qemu)


def _disagrees(comparison: ScenarioComparison) -> bool:
    return comparison.status in ("disagree", "backend-failure")


_COMPARED = tuple(a.value for a in (
    Aspect.RESULT, Aspect.ERROR, Aspect.MET, Aspect.LABEL, Aspect.FD, Aspect.PROTOCOL_RO,
    Aspect.QCOW2_RO, Aspect.DENIALS, Aspect.NOT_KNOWN, Aspect.STOPPED))


def _signature(comparison: ScenarioComparison) -> tuple[str, ...]:
    """The step kind that disagrees first and which of the compared things differ."""
    first = comparison.disagreements[0] if comparison.disagreements else None
    if first is None:
        return (comparison.status,)
    found = {d.aspect.value for d in first.differences}
    return (first.step.split(" ", 1)[0], *(kind for kind in _COMPARED if kind in found))


def shrink(context: Context, policy: Policy, bounds: Bounds, workflow: Workflow,
           comparison: ScenarioComparison, factory: BackendFactory | None
           ) -> tuple[Workflow, ScenarioComparison]:
    """A minimal workflow that still disagrees: cut after the first disagreeing step, then
    leave out one step at a time (never ``start``) while the disagreement stays."""
    if comparison.disagreements:
        cut = comparison.disagreements[0].index + 1
        shorter = _expecting(context, policy, bounds,
                             Workflow(workflow.start, workflow.steps[:cut]))
        if shorter is not None and shorter != workflow:
            again = _compare(context, policy, bounds, shorter, factory)
            if _disagrees(again):
                workflow, comparison = shorter, again
    changed = True
    while changed:
        changed = False
        for index in range(len(workflow.steps) - 1, 0, -1):
            steps = workflow.steps[:index] + workflow.steps[index + 1:]
            candidate = _expecting(context, policy, bounds, Workflow(workflow.start, steps))
            if candidate is None:
                continue
            again = _compare(context, policy, bounds, candidate, factory)
            if _disagrees(again):
                workflow, comparison, changed = candidate, again, True
                break
    return workflow, comparison


def _known(comparison: ScenarioComparison) -> str | None:
    disagreeing = comparison.disagreements
    for departure in KNOWN_DEPARTURES:
        if disagreeing and all(departure.matches(s) for s in disagreeing):
            return departure.id
    return None


def workflows(context: Context, policy: Policy, bounds: Bounds) -> list[Workflow]:
    """A workflow for every step the search played, shortest first: the path to a state
    and one step from it. A step into a state first reached by it that leads on is left
    out, as a prefix of a longer workflow."""
    from optcompare.analysis.explore import play_path

    graph = context.graph(policy, bounds)
    inner = {link[0] for link in graph.parent if link is not None}
    found = []
    for state in range(graph.states):  # numbered breadth first
        path = graph.path(state)
        for action, (target, _output) in graph.edges[state].items():
            if graph.parent[target] == (state, action) and target in inner:
                continue
            found.append(play_path(context, policy, bounds, graph.start_of[state],
                                   [*path, action])[0])
    return found


@frozen
class DifferentialRun:
    """One :class:`Differential` per frontend, in :data:`FRONTENDS` order."""

    policy: str
    legs: tuple[Differential, ...]

    @property
    def found(self) -> tuple[Disagreement, ...]:
        return tuple(d for leg in self.legs for d in leg.found)

    @property
    def total(self) -> Differential:
        """The frontends added up (with the first one's bounds)."""
        legs = self.legs

        def total(count: Callable[[Differential], int]) -> int:
            return sum(count(leg) for leg in legs)

        return Differential(
            self.policy, legs[0].bounds, total(lambda d: d.planned),
            total(lambda d: d.workflows), total(lambda d: d.steps),
            total(lambda d: d.agreements), total(lambda d: d.disagreements),
            total(lambda d: d.backend_failures), self.found, self.interrupted,
            self.out_of_budget, total(lambda d: d.not_applicable))

    @property
    def unexplained(self) -> int:
        return sum(leg.unexplained for leg in self.legs)

    @property
    def crashes(self) -> int:
        return sum(leg.crashes for leg in self.legs)

    @property
    def interrupted(self) -> bool:
        return any(leg.interrupted for leg in self.legs)

    @property
    def out_of_budget(self) -> bool:
        return any(leg.out_of_budget for leg in self.legs)


def run_frontends(policy: Policy, context: Context, *, depth: int, images: int,
                  frontends: tuple[str, ...] = FRONTENDS, budget: float | None = None,
                  factory: BackendFactory | None = None,
                  progress: Callable[[Progress], None] | None = None) -> DifferentialRun:
    """:func:`run` for each frontend in turn, sharing one ``budget``; after a Ctrl-C or
    once the budget is spent the remaining frontends replay nothing (still counted as
    planned)."""
    began = time.monotonic()
    legs: list[Differential] = []
    for frontend in frontends:
        left = None if budget is None else max(0.0, budget - (time.monotonic() - began))
        if legs and legs[-1].interrupted:
            left = 0.0
        leg = run(policy, context, depth=depth, images=images, frontend=frontend,
                  budget=left, factory=factory, progress=progress)
        if legs and legs[-1].interrupted:
            leg = replace(leg, out_of_budget=False, interrupted=True)
        legs.append(leg)
    return DifferentialRun(policy.name, tuple(legs))


def run(policy: Policy, context: Context, *, depth: int, images: int,
        frontend: str = "blockdev", budget: float | None = None,
        factory: BackendFactory | None = None,
        progress: Callable[[Progress], None] | None = None) -> Differential:
    """Replay the explored workflows of ``policy`` with ``frontend`` on the model and on
    the real backend.

    Stops starting new workflows once ``budget`` seconds have passed; Ctrl-C
    stops at once and returns what was found so far.
    """
    bounds = replace(BOUNDS, depth=depth, images=images, frontend=frontend)
    plan = workflows(context, policy, bounds)
    began = time.monotonic()
    counts = {"workflows": 0, "steps": 0, "agree": 0, "disagree": 0, "failures": 0,
              "na": 0}
    found: dict[tuple[str, ...], Disagreement] = {}
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    interrupted = out_of_budget = False
    try:
        for number, workflow in enumerate(plan):
            if budget is not None and time.monotonic() - began >= budget:
                out_of_budget = True
                break
            if progress is not None:
                progress(Progress(number, len(plan), f"-{frontend}: " + " ".join(
                    s.do for s in workflow.steps)))
            comparison = _compare(context, policy, bounds, workflow, factory)
            counts["workflows"] += 1
            counts["steps"] += len(comparison.steps)
            counts["agree"] += sum(1 for s in comparison.steps if s.agree)
            counts["disagree"] += len(comparison.disagreements)
            counts["failures"] += comparison.status == "backend-failure"
            counts["na"] += comparison.status == "not-applicable"
            if not _disagrees(comparison):
                continue
            signature = _signature(comparison)
            if signature in seen:  # shrunk already: count it there
                key = seen[signature]
                found[key] = replace(found[key], seen=found[key].seen + 1)
                continue
            small, shown = shrink(context, policy, bounds, workflow, comparison, factory)
            key = (*(s.do for s in small.steps), "|", *_signature(shown))
            seen[signature] = key
            if key in found:
                found[key] = replace(found[key], seen=found[key].seen + 1)
            else:
                found[key] = Disagreement(small, workflow, shown, _known(shown))
                if shown.status == "backend-failure":
                    again = [_compare(context, policy, bounds, small, factory)
                             for _ in range(RERUNS)]
                    found[key] = replace(found[key], reruns=RERUNS, reproduced=sum(
                        1 for c in again if c.status == "backend-failure"))
        if progress is not None:
            progress(Progress(len(plan), len(plan), ""))
    except KeyboardInterrupt:
        interrupted = True
    return Differential(policy.name, bounds, len(plan), counts["workflows"], counts["steps"],
                        counts["agree"], counts["disagree"], counts["failures"],
                        tuple(found.values()), interrupted, out_of_budget, counts["na"])
