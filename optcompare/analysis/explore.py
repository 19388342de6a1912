"""Every short workflow: a bounded, exhaustive breadth-first search on the model.

The workflows are built from the scenario steps (start, relabel, block-commit,
block-stream, snapshot, guest-write, attach/detach-writer) on chains of 1 to
K images with every labelling at start, and on a read/write and a read-only
disk. States are deduplicated by a canonical form (images by their place in
the chain, nodes by their mode, descriptor, flags and writers; access denials
are counted on the steps, not kept in the state), so the search visits
states, not sequences. Breadth first, the first violation of a property is a
shortest one; the first step on which two policies differ is found by a
breadth-first walk of the two explored graphs side by side.

All memoised work (the explored graphs, the client probes, replays of a
workflow) lives in a :class:`Context` that the caller passes along.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from optcompare.analysis import questions
from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.policies.base import Build, Detection, Policy
from optcompare.scenario.backend import NotApplicable, Observation
from optcompare.scenario.properties import MODEL_PROPERTIES, Property, violations
from optcompare.scenario.runner import ScenarioResult, Session, StepRecord
from optcompare.scenario.spec import NATIVE, Image, Scenario, Setup, Step

DEFAULT_DEPTH = 5
DEFAULT_IMAGES = 3


@frozen
class Bounds:
    """What is searched: workflows of at most ``depth`` steps on 1..``images`` images."""

    depth: int = DEFAULT_DEPTH
    images: int = DEFAULT_IMAGES
    driver: str = "file"
    frontend: str = "blockdev"
    client: str = NATIVE
    platform: str = "posix"
    guest: bool = True
    """Guest writes are among the steps (a real daemon runs no guest)."""


@frozen
class Start:
    """One root of the search: the chain's labels at start, base first."""

    labels: tuple[bool, ...]
    readonly: bool

    @property
    def names(self) -> tuple[str, ...]:
        return chain_names(len(self.labels))


def chain_names(count: int) -> tuple[str, ...]:
    if count == 1:
        return ("top",)
    if count == 2:
        return ("base", "top")
    middle = ("mid",) if count == 3 else tuple(f"mid{i}" for i in range(1, count - 1))
    return ("base", *middle, "top")


def starts(images: int) -> list[Start]:
    """Every labelling of every chain length, the usual libvirt setup first (active layer
    writable, backing images not), on a read/write disk, then on a read-only one."""
    found = []
    for readonly in (False, True):
        for count in range(1, images + 1):
            labellings = sorted(itertools.product((False, True), repeat=count),
                                key=lambda ls: (not ls[-1], sum(ls[:-1]), ls))
            found += [Start(tuple(labels), readonly) for labels in labellings]
    return found


@frozen
class Action:
    """A step by the places of its images in the chain (not by their names)."""

    do: str
    top: int | None = None
    base: int | None = None
    writable: bool | None = None


def actions(chain_labels: Sequence[bool], guest: bool = True) -> list[Action]:
    """Every step that can follow ``start`` on a chain with these labels."""
    n = len(chain_labels)
    found = [Action("relabel", i, writable=not chain_labels[i]) for i in range(n)]
    found += [Action("block-commit", j, i) for j in range(n) for i in range(j)]
    # Streaming into the base image copies nothing: it has no backing file.
    found += [Action("block-stream", j, i) for j in range(1, n) for i in [None, *range(j)]]
    found += [Action("snapshot"), *([Action("guest-write")] if guest else [])]
    found += [Action("attach-writer", i) for i in range(n)]
    found += [Action("detach-writer", i) for i in range(n)]
    return found


def to_step(action: Action, index: int, chain: Sequence[str], known: Sequence[str]) -> Step:
    """The scenario step ``action`` is on a chain with these image names."""
    args: dict[str, Any] = {}
    if action.do == "relabel":
        args = {"image": chain[_at(action.top)], "writable": action.writable}
    elif action.do == "block-commit":
        args = {"top": chain[_at(action.top)], "base": chain[_at(action.base)]}
    elif action.do == "block-stream":
        args = {"top": chain[_at(action.top)]}
        if action.base is not None:
            args["base"] = chain[action.base]
    elif action.do == "snapshot":
        number = 1
        while (name := "snap" if number == 1 else f"snap{number}") in known:
            number += 1
        args = {"image": name}
    elif action.do in ("attach-writer", "detach-writer"):
        args = {"image": chain[_at(action.top)]}
    return Step(index, action.do, args)


def _at(place: int | None) -> int:
    assert place is not None
    return place


@frozen
class Workflow:
    """A workflow found by the search: where it starts and its steps."""

    start: Start
    steps: tuple[Step, ...]

    def images(self) -> tuple[Image, ...]:
        return tuple(Image(n, w) for n, w in zip(self.start.names, self.start.labels,
                                                   strict=True))


@frozen
class Counterexample:
    """The shortest workflow found that violates a property, with its trace."""

    property: Property
    workflow: Workflow
    image: str | None
    """The image the violation concerns (None: the step itself)."""
    trace: tuple[StepRecord, ...]
    """The workflow replayed on the policy, one record per step."""


@frozen
class PropertyResult:
    """One property on one policy: its shortest violation, if any."""

    property: Property
    counterexample: Counterexample | None
    """The shortest violating workflow; None: it holds up to the search's depth."""


@frozen
class PolicySearch:
    """The search on one policy: its size and each property's result."""

    policy: str
    states: int
    """Distinct states reached (roots included)."""
    transitions: int
    """Steps played."""
    results: tuple[PropertyResult, ...]
    not_applicable: str | None = None
    """Why the build could not be searched (it lacks the driver)."""

    def result(self, prop: Property) -> PropertyResult:
        return next(r for r in self.results if r.property is prop)


@frozen
class Difference:
    """The shortest workflow on which two policies differ, if any up to the depth."""

    first: str
    second: str
    pairs: int
    """Pairs of states walked side by side."""
    workflow: Workflow | None
    first_trace: tuple[StepRecord, ...] = ()
    second_trace: tuple[StepRecord, ...] = ()

    def what(self) -> tuple[Shown, ...]:
        """What the last step shows differently."""
        if not self.first_trace or not self.second_trace:
            return ()
        a, b = self.first_trace[-1], self.second_trace[-1]
        if a.result != b.result:
            return (Shown(None, "result", a.result, b.result),)
        found: list[Shown] = []
        for name, seen in a.state.items():
            other = b.state.get(name)
            if other is None:
                continue
            left, right = _shown(seen), _shown(other)
            found += [Shown(name, key, left[key], right[key]) for key in _COMPARED
                      if left[key] != right[key]]
        return tuple(found)


Seen = str | bool | int | None
"""A value a client sees: a result, label, descriptor mode, flag or count."""


@frozen
class Shown:
    """One thing the last step of a workflow shows differently on two policies."""

    image: str | None
    """None: the step's result."""
    field: str
    first: Seen
    second: Seen


def _shown(seen: Observation) -> dict[str, Seen]:
    return {"label": "writable" if seen.label else "read-only", "fd": seen.fd.value,
            "ro": seen.ro, "format_ro": seen.format_ro, "denials": seen.denials}


_COMPARED = ("label", "fd", "ro", "format_ro", "denials")


@frozen
class Exploration:
    """The search on every policy, and the differences between pairs."""

    bounds: Bounds
    searches: tuple[PolicySearch, ...]
    differences: tuple[Difference, ...]

    @property
    def states(self) -> int:
        return sum(s.states for s in self.searches)

    @property
    def transitions(self) -> int:
        return sum(s.transitions for s in self.searches)


# -- the search -------------------------------------------------------------------

Output = Hashable
"""What a step shows a client: its result and every image of the chain after it."""


@dataclass
class Graph:
    """One policy's explored states: parents for the workflows, edges for differences."""

    roots: dict[Start, int] = field(default_factory=dict)
    parent: list[tuple[int, Action] | None] = field(default_factory=list)
    start_of: list[Start] = field(default_factory=list)
    edges: list[dict[Action, tuple[int, StepRecord]]] = field(default_factory=list)
    """From each state: every step played, the state it leads to and its record."""
    seen: list[dict[str, Observation]] = field(default_factory=list)
    """Each state's images as the step that first reached it left them (its steps'
    before)."""
    found: dict[Property, tuple[int, Action, str | None]] = field(default_factory=dict)
    transitions: int = 0
    not_applicable: str | None = None

    @property
    def states(self) -> int:
        return len(self.parent)

    def path(self, state: int) -> list[Action]:
        steps: list[Action] = []
        link = self.parent[state]
        while link is not None:
            state, action = link
            steps.append(action)
            link = self.parent[state]
        return steps[::-1]

    def output(self, state: int, action: Action) -> Output:
        """What ``action`` from ``state`` shows a client (made when asked: only
        differences compare them)."""
        return _output(self.edges[state][action][1], self.seen[state])


def _canonical(session: Session) -> Hashable:
    backend = session.backend
    chain, known = session.chain, session.known
    key = backend.key
    images: list[tuple[Hashable, int | str | None]] = []
    below: str | None = None
    for place, name in enumerate(chain):
        nodes, backing = key(name)
        if backing is None:
            images.append((nodes, None))
        elif backing == below:  # the usual chain: each image backed by the one below it
            images.append((nodes, place - 1))
        else:
            images.append((nodes, chain.index(backing) if backing in chain else backing))
        below = name
    off: tuple[str, ...] = ()
    if known != chain:  # else every image is in the chain
        place_of = {name: i for i, name in enumerate(chain)}
        off = tuple(sorted(repr(_placed(key(n), place_of)) for n in known
                           if n not in place_of
                           and (n in backend.protocol or n in backend.format)))
    return (session.frontend, tuple(images), off)


def _placed(key: tuple[Hashable, str | None], place: dict[str, int]) -> Hashable:
    nodes, backing = key
    return nodes, place.get(backing, backing) if backing is not None else None


def _output(record: StepRecord, before: dict[str, Observation]) -> Output:
    def image(name: str) -> Hashable:
        seen = record.state[name]
        old = before.get(name)
        denied = (seen.denials or 0) - ((old.denials or 0) if old else 0)
        return (seen.label, seen.fd, seen.ro, seen.format_ro, denied)

    return (record.result, tuple(image(n) for n in record.chain))


def scenario_of(bounds: Bounds, start: Start, steps: tuple[Step, ...] = ()) -> Scenario:
    setup = Setup(frontend=bounds.frontend, driver=bounds.driver, platform=bounds.platform,
                  client=bounds.client, readonly=start.readonly,
                  images=tuple(Image(n, w) for n, w in zip(start.names, start.labels,
                                                             strict=True)))
    return Scenario("explore", "", "", setup, steps, "", "")


class TooManySteps(Exception):
    """The search would play more steps than its context allows."""

    def __init__(self, limit: int, policy: str, depth: int, bounds: Bounds) -> None:
        super().__init__(limit, policy, depth)
        self.limit, self.policy, self.depth, self.bounds = limit, policy, depth, bounds


class Context:
    """Explicit state of a search: the explored graphs, the client probes, replays.

    ``max_steps``: how many steps the searches in this context may play in all (None:
    no limit); a state whose steps would pass it raises :class:`TooManySteps` before
    any is played. Time and memory grow with the steps (each edge of a graph keeps
    its record)."""

    def __init__(self, max_steps: int | None = None) -> None:
        self.max_steps = max_steps
        self.steps = 0
        """Steps played so far by the searches in this context."""
        self._builds: dict[tuple[Policy, str], Build] = {}
        self._graphs: dict[tuple[Policy, Bounds], Graph] = {}
        self._detections: dict[tuple[Policy, Build], Detection] = {}
        self._replays: dict[tuple[Policy, Bounds, Start, tuple[str, ...]], ScenarioResult] = {}
        self._records: dict[tuple[Policy, Bounds], questions.Record] = {}
        """What each search asked of its build (see :mod:`optcompare.analysis.questions`)."""
        self.named: dict[Hashable, Played] = {}
        """The steps from a state, by what names them (see :func:`_plays`), for every
        search: no build has a say in them."""

    def detect(self, client: Policy, build: Build) -> Detection:
        key = (client, build)
        if key not in self._detections:
            from optcompare.schema.target import BuildTarget

            self._detections[key] = client.detect(BuildTarget(build), build.drivers)
        return self._detections[key]

    def build(self, policy: Policy, platform: str) -> Build:
        key = (policy, platform)
        if key not in self._builds:
            self._builds[key] = Build(policy, Platform(platform))
        return self._builds[key]

    def session(self, policy: Policy, bounds: Bounds, start: Start,
                build: Build | None = None) -> Session:
        """A session on the policy's build (or on ``build``, a witness of it)."""
        return Session.open(scenario_of(bounds, start), policy,
                            build=build or self.build(policy, bounds.platform),
                            detect=self.detect)

    def graph(self, policy: Policy, bounds: Bounds) -> Graph:
        """The policy's explored graph; the graph of an earlier policy when the policy
        answers every question that search asked of its build alike (the same search)."""
        key = (policy, bounds)
        if key not in self._graphs:
            build = self.build(policy, bounds.platform)
            for (other, other_bounds), record in self._records.items():
                if other_bounds == bounds and questions.answers_alike(build, record):
                    self._graphs[key] = self._graphs[(other, other_bounds)]
                    break
            else:
                asked, record = questions.witness(build)
                graph = _search(self, policy, bounds, asked)
                self.steps += graph.transitions
                self._graphs[key] = graph
                self._records[key] = record
        return self._graphs[key]

    def replay(self, policy: Policy, bounds: Bounds, workflow: Workflow) -> ScenarioResult:
        """The workflow as a scenario, run by the runner on the policy's model."""
        key = (policy, bounds, workflow.start, tuple(s.describe() for s in workflow.steps))
        if key not in self._replays:
            from optcompare.scenario.runner import run

            self._replays[key] = run(scenario_of(bounds, workflow.start, workflow.steps),
                                     policy, build=self.build(policy, bounds.platform),
                                     detect=self.detect)
        return self._replays[key]


Played = list[tuple[Action, Step]]
"""The steps from a state, each as an action and as the step it names there."""


def _search(context: Context, policy: Policy, bounds: Bounds, build: Build) -> Graph:
    graph = Graph()
    seen: dict[Hashable, int] = {}
    # Each state to expand, its session and its key: a step that changes nothing (a
    # quarter of them, most refused) leads to a state of the same key, made once.
    frontier: list[tuple[int, Session, Hashable]] = []
    for start in starts(bounds.images):
        try:
            session = context.session(policy, bounds, start, build)
        except NotApplicable as error:
            graph.not_applicable = error.reason
            return graph
        state = len(graph.parent)
        graph.roots[start] = state
        graph.parent.append(None)
        graph.start_of.append(start)
        graph.edges.append({})
        graph.seen.append({n: session.backend.observe(n) for n in session.known})
        frontier.append((state, session, (start.readonly, _canonical(session))))
    found, edges_of = graph.found, graph.edges
    room = None if context.max_steps is None else context.max_steps - context.steps
    for depth in range(bounds.depth):
        following: list[tuple[int, Session, Hashable]] = []
        for state, session, state_key in frontier:
            before = graph.seen[state]
            chain = session.chain
            start = graph.start_of[state]
            readonly = start.readonly
            edges = edges_of[state]
            plays = _plays(context.named, bounds, depth, session, before)
            if room is not None and graph.transitions + len(plays) > room:
                assert context.max_steps is not None
                raise TooManySteps(context.max_steps, policy.name, depth + 1, bounds)
            last = len(plays) - 1
            for index, (action, step) in enumerate(plays):
                # The last step is played on the session itself: nothing needs it after.
                child = session.fork() if index < last else session
                mark = child.mark()
                try:
                    record = child.play(step)
                except NotApplicable:
                    continue
                graph.transitions += 1
                after = record.state  # kept as the record: no copy
                for violation in violations(step.do, step.args, record.result,
                                            readonly=readonly, chain=chain,
                                            before=before, after=after):
                    if violation.property not in found:
                        found[violation.property] = (state, action, violation.image)
                key = state_key if child.mark() == mark else (readonly, _canonical(child))
                target = seen.get(key)
                if target is None:
                    target = len(graph.parent)
                    seen[key] = target
                    graph.parent.append((state, action))
                    graph.start_of.append(start)
                    edges_of.append({})
                    graph.seen.append(after)
                    failed_start = action.do == "start" and record.result == "error"
                    if depth + 1 < bounds.depth and not failed_start:
                        following.append((target, child, key))
                edges[action] = (target, record)
        frontier = following
    return graph


def _plays(named: dict[Hashable, Played], bounds: Bounds, depth: int, session: Session,
           before: dict[str, Observation]) -> Played:
    """The steps from a state, named once for every state with the same images."""
    chain, known = session.chain, session.known
    labels = None if session.frontend is None else tuple(before[n].label for n in chain)
    key = (bounds.guest, depth, chain, known, labels)
    found = named.get(key)
    if found is None:
        choices = [Action("start")] if labels is None else actions(labels, bounds.guest)
        found = named[key] = [(a, to_step(a, depth, chain, known)) for a in choices]
    return found


def play_path(context: Context, policy: Policy, bounds: Bounds, start: Start,
               path: Sequence[Action]) -> tuple[Workflow, tuple[StepRecord, ...]]:
    """The named steps of ``path``, each expecting what it gave, and their records."""
    session = context.session(policy, bounds, start)
    steps, records = [], []
    for index, action in enumerate(path):
        step = to_step(action, index, session.chain, session.known)
        record = session.play(step)
        steps.append(replace(step, expect=record.result,
                             error=record.message if record.result == "error" else None))
        records.append(record)
    return Workflow(start, tuple(steps)), tuple(records)


def search(context: Context, policy: Policy, bounds: Bounds) -> PolicySearch:
    """The shortest violation of every property on ``policy``, or none up to the depth."""
    graph = context.graph(policy, bounds)
    results = []
    for prop in MODEL_PROPERTIES:
        hit = graph.found.get(prop)
        example = None
        if hit is not None:
            state, action, image = hit
            workflow, trace = play_path(context, policy, bounds, graph.start_of[state],
                                         [*graph.path(state), action])
            example = Counterexample(prop, workflow, image, trace)
        results.append(PropertyResult(prop, example))
    return PolicySearch(policy.name, graph.states, graph.transitions, tuple(results),
                        graph.not_applicable)


def difference(context: Context, first: Policy, second: Policy, bounds: Bounds) -> Difference:
    """The shortest workflow after which the two policies show a client different results."""
    a, b = context.graph(first, bounds), context.graph(second, bounds)
    if a.not_applicable or b.not_applicable:
        return Difference(first.name, second.name, 0, None)
    parent: dict[tuple[int, int], tuple[tuple[int, int], Action] | None] = {}
    frontier = []
    for start, ia in a.roots.items():
        pair = (ia, b.roots[start])
        parent[pair] = None
        frontier.append(pair)
    hit: tuple[tuple[int, int], Action] | None = None
    while frontier and hit is None:
        following = []
        for pair in frontier:
            edges_b = b.edges[pair[1]]
            for action, (na, _) in a.edges[pair[0]].items():
                other = edges_b.get(action)
                if other is None:
                    continue
                nb = other[0]
                if a.output(pair[0], action) != b.output(pair[1], action):
                    hit = (pair, action)
                    break
                if (na, nb) not in parent:
                    parent[(na, nb)] = (pair, action)
                    following.append((na, nb))
            if hit is not None:
                break
        frontier = following
    if hit is None:
        return Difference(first.name, second.name, len(parent), None)
    pair, last = hit
    path = [last]
    link = parent[pair]
    while link is not None:
        pair, action = link
        path.append(action)
        link = parent[pair]
    start = a.start_of[pair[0]]
    path.reverse()
    workflow, first_trace = play_path(context, first, bounds, start, path)
    _, second_trace = play_path(context, second, bounds, start, path)
    return Difference(first.name, second.name, len(parent), workflow, first_trace,
                      second_trace)


def explore(policies: Sequence[Policy], bounds: Bounds, context: Context | None = None, *,
            pairs: bool = True) -> Exploration:
    """Search every policy, then every pair of them."""
    context = context if context is not None else Context()
    searches = tuple(search(context, p, bounds) for p in policies)
    differences: Iterable[Difference] = ()
    if pairs:
        differences = tuple(difference(context, p, q, bounds)
                            for p, q in itertools.combinations(policies, 2))
    return Exploration(bounds, searches, tuple(differences))


def exhibited(scenario: Scenario, result: ScenarioResult) -> frozenset[Property]:
    """The properties a scenario's run violates on some step, by the search's definition."""
    from optcompare.model.modes import Fd

    setup = scenario.setup
    chain = tuple(i.name for i in setup.images)
    before = {i.name: Observation(i.writable, Fd.CLOSED, None, None, 0)
              for i in setup.images}
    found: set[Property] = set()
    steps = {s.index: s for s in scenario.steps}
    for record in result.trace:
        step = steps.get(record.index)
        if step is not None and record.result in ("ok", "error"):
            found |= {v.property for v in violations(
                step.do, step.args, record.result, readonly=setup.readonly, chain=chain,
                before=before, after=dict(record.state))}
        chain, before = record.chain or chain, dict(record.state)
    return frozenset(found)
