"""Replaying a scenario: the client's decisions, a backend's answers, a trace.

The runner plays libvirt: it probes, picks the frontend, passes its client
strategy's options, relabels images around jobs, and drops the nodes a job
left behind. The backend plays QEMU. Every step is checked against its
expectation; the first one that breaks ends the run as ``fails``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.model.options import READ_ONLY, Value
from optcompare.policies.base import Build, Detection, Policy
from optcompare.scenario.backend import Backend, NotApplicable, Observation, StepError
from optcompare.scenario.spec import LEGACY, NATIVE, Scenario, Setup, Step


class Outcome(StrEnum):
    MEETS = "meets"
    FAILS = "fails"
    NOT_APPLICABLE = "not-applicable"


@frozen(init=False)
class StepRecord:
    """One played step: what it gave, whether it met its expectation, the images after it."""

    index: int
    step: str
    line: int | None
    result: str
    """ok, error, true, false, or not measurable."""
    message: str | None
    met: bool
    why: str | None
    state: dict[str, Observation]
    actions: tuple[str, ...] = ()
    """What the client did around the step (relabels, reopens, deletions)."""
    chain: tuple[str, ...] = ()
    """The disk's backing chain after the step, base first."""

    def __init__(self, index: int, step: str, line: int | None, result: str,
                 message: str | None, met: bool, why: str | None,
                 state: dict[str, Observation], actions: tuple[str, ...] = (),
                 chain: tuple[str, ...] = ()) -> None:
        # Written, not generated: a frozen dataclass's own __init__ sets each field
        # through object.__setattr__, three times the cost, and every step played
        # (~11,000 a report) makes a record.
        fields = self.__dict__
        fields["index"], fields["step"], fields["line"], fields["result"] = (
            index, step, line, result)
        fields["message"], fields["met"], fields["why"], fields["state"] = (
            message, met, why, state)
        fields["actions"], fields["chain"] = actions, chain


@frozen(init=False)
class ScenarioResult:
    """A scenario replayed on one build by one client: the outcome and the trace."""

    scenario: str
    policy: str
    client: str
    backend: str
    outcome: Outcome
    frontend: str | None = None
    step: int | None = None
    step_text: str | None = None
    reason: str | None = None
    detection: Detection | None = None
    trace: tuple[StepRecord, ...] = ()

    def __init__(self, scenario: str, policy: str, client: str, backend: str,
                 outcome: Outcome, frontend: str | None = None, step: int | None = None,
                 step_text: str | None = None, reason: str | None = None,
                 detection: Detection | None = None, trace: tuple[StepRecord, ...] = ()
                 ) -> None:
        # Written, not generated, as StepRecord's: ~1,400 runs a report.
        fields = self.__dict__
        fields["scenario"], fields["policy"], fields["client"], fields["backend"] = (
            scenario, policy, client, backend)
        fields["outcome"], fields["frontend"], fields["step"], fields["step_text"] = (
            outcome, frontend, step, step_text)
        fields["reason"], fields["detection"], fields["trace"] = reason, detection, trace


@dataclass
class _Run:
    """A replay in progress: the client's view of the disk and the backend it drives."""

    scenario: Scenario
    build: Build
    client: Policy | None
    client_name: str
    backend: Backend
    chain: list[str]
    frontend: str | None = None
    detection: Detection | None = None
    actions: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    detect: Callable[[Policy, Build], Detection] | None = None
    """How the client's probe is memoised (default: this module's cache)."""

    @property
    def readonly(self) -> bool:
        return self.scenario.setup.readonly

    def relabel(self, image: str, writable: bool) -> None:
        self.backend.relabel(image, writable)
        self.actions.append(f"relabel {image} {'writable' if writable else 'read-only'}")

    def storage_options(self, backing: bool) -> dict[str, Value]:
        if self.client is None:
            return {READ_ONLY: True} if backing or self.readonly else {}
        return self.client.storage_options(backing, self.readonly)


BackendFactory = Callable[[Build, str], Backend]

_PLATFORMS: dict[str, Platform] = {platform.value: platform for platform in Platform}


def platform_of(setup: Setup) -> Platform:
    """The setup's platform (its file names one: the loader checks it), without the
    enum's call, which costs as much as a replay's memo look-up."""
    return _PLATFORMS[setup.platform]


def model_backend(build: Build, driver: str) -> Backend:
    from optcompare.backends.model import ModelBackend

    return ModelBackend(build, driver)


def client_for(name: str, build: Build) -> Policy | None:
    if name == NATIVE:
        return build.policy
    if name == LEGACY:
        return None
    from optcompare.policies import libvirt, registry

    if name == libvirt.NAME:
        return libvirt.CLIENT
    return registry.get(name)


def run(
    scenario: Scenario,
    policy: Policy,
    *,
    client: str | None = None,
    backend: BackendFactory = model_backend,
    build: Build | None = None,
    detect: Callable[[Policy, Build], Detection] | None = None,
) -> ScenarioResult:
    """Replay ``scenario`` on ``policy``'s build; ``client`` overrides the file's.

    ``build`` (the policy's build for the scenario's platform) and ``detect``
    (the client's probe) let a caller pass its own memoised ones.
    """
    setup = scenario.setup
    build = build if build is not None else policy.build(platform_of(setup))
    client_name = client or setup.client
    chosen = client_for(client_name, build)
    try:
        engine = backend(build, setup.driver)
    except NotApplicable as error:
        return ScenarioResult(scenario.name, build.name, client_name, "",
                              Outcome.NOT_APPLICABLE, reason=error.reason)
    state = _Run(scenario, build, chosen, client_name, engine, [i.name for i in setup.images],
                 detect=detect)
    trace: list[StepRecord] = []
    try:
        _create(state)
        for step in scenario.steps:
            record = _play(state, step)
            trace.append(record)
            if not record.met:
                return ScenarioResult(
                    scenario.name, build.name, client_name, engine.name, Outcome.FAILS,
                    state.frontend, step.index, step.describe(), record.why, state.detection,
                    tuple(trace))
    except NotApplicable as error:
        label = build.name if client_name == NATIVE else f"{client_name} on {build.name}"
        return ScenarioResult(
            scenario.name, build.name, client_name, engine.name, Outcome.NOT_APPLICABLE,
            state.frontend, reason=f"{label}: {error.reason}", detection=state.detection,
            trace=tuple(trace))
    finally:
        engine.close()
    return ScenarioResult(scenario.name, build.name, client_name, engine.name, Outcome.MEETS,
                          state.frontend, detection=state.detection, trace=tuple(trace))


def _create(state: _Run) -> None:
    state.backend.create([(i.name, i.writable) for i in state.scenario.setup.images])
    state.known = list(state.chain)


class Session:
    """A scenario replayed one step at a time, on the model; ``fork`` branches it.

    ``explore`` walks every short workflow this way: the steps are the
    runner's own, so a workflow it finds replays the same from a file.
    """

    def __init__(self, state: _Run) -> None:
        self._state = state

    @classmethod
    def open(cls, scenario: Scenario, policy: Policy, *, client: str | None = None,
             build: Build | None = None,
             detect: Callable[[Policy, Build], Detection] | None = None) -> Session:
        """The images of ``scenario.setup`` created on ``policy``'s model build
        (``build``, when the caller has it; ``detect``: its memoised client probe).

        Raises :class:`NotApplicable` when the build lacks the driver.
        """
        from optcompare.backends.model import ModelBackend

        setup = scenario.setup
        build = build if build is not None else policy.build(platform_of(setup))
        client_name = client or setup.client
        engine = ModelBackend(build, setup.driver)
        state = _Run(scenario, build, client_for(client_name, build), client_name, engine,
                     [i.name for i in setup.images])
        if detect is not None:
            state.detect = detect
        _create(state)
        return cls(state)

    @property
    def chain(self) -> tuple[str, ...]:
        """The disk's backing chain, base first."""
        return tuple(self._state.chain)

    @property
    def known(self) -> tuple[str, ...]:
        """Every image created so far, in order of creation."""
        return tuple(self._state.known)

    @property
    def frontend(self) -> str | None:
        return self._state.frontend

    @property
    def backend(self) -> Any:
        """The :class:`~optcompare.backends.model.ModelBackend` it runs on."""
        return self._state.backend

    def mark(self) -> tuple[int, str | None, int, int]:
        """What a step that changes nothing leaves as it was: the backend's count of
        changes, the frontend, the lengths of the chain and of the known images (a step
        only shortens the chain, or lengthens either)."""
        state = self._state
        backend: Any = state.backend
        return backend.changes, state.frontend, len(state.chain), len(state.known)

    def play(self, step: Step) -> StepRecord:
        """Play one step; :class:`NotApplicable` when the build lacks what it needs."""
        return _play(self._state, step)

    def fork(self) -> Session:
        """An independent copy: steps played on it leave this one as it is."""
        state = self._state
        forked: _Run = object.__new__(_Run)
        forked.__dict__.update(state.__dict__)
        backend: Any = state.backend
        forked.backend = backend.copy()
        forked.chain, forked.actions, forked.known = list(state.chain), [], list(state.known)
        return Session(forked)


def _play(state: _Run, step: Step) -> StepRecord:
    state.actions = []
    do = step.do
    value: Any = None
    message: str | None = None
    try:
        value = _HANDLERS[do](state, step.args)
        result = "ok"
    except StepError as error:
        result, message = "error", error.message
    met, why = _judge(state, step, result, message, value)
    if do == "probe":
        result = "true" if value else "false"
    elif do == "assert" and value:
        message = value
    observe = state.backend.observe
    snapshot = {name: observe(name) for name in state.known}
    return StepRecord(step.index, step.describe(), step.line, result, message, met, why,
                      snapshot, tuple(state.actions), tuple(state.chain))


def _judge(state: _Run, step: Step, result: str, message: str | None, value: Any
           ) -> tuple[bool, str | None]:
    if step.do == "probe":
        expected = True if step.expect is None else bool(step.expect)
        if result == "error":
            return False, f"probe failed: {message}"
        if bool(value) != expected:
            return False, f"probe {step.args['query']!r} is {bool(value)}, expected {expected}"
        return True, None
    if step.do == "assert":
        return _judge_assert(state, step)
    wanted = step.expect if isinstance(step.expect, str) else "ok"
    if wanted == "ok" and result == "error":
        return False, message
    if wanted == "error" and result == "ok":
        return False, "succeeded, but an error was expected"
    if step.error is not None and (message is None or step.error not in message):
        return False, f"error {message!r} does not contain {step.error!r}"
    return True, None


def _judge_assert(state: _Run, step: Step) -> tuple[bool, str | None]:
    args = step.args
    seen = state.backend.observe(args["image"], args.get("node", "protocol"))
    wrong = []
    if "fd" in args and seen.fd.value != args["fd"]:
        wrong.append(f"fd is {seen.fd.value}, expected {args['fd']}")
    if "ro" in args and seen.ro is not None and seen.ro != args["ro"]:
        wrong.append(f"ro is {str(seen.ro).lower()}, expected {str(args['ro']).lower()}")
    if "ro" in args and seen.ro is None:
        wrong.append(f"{args.get('node', 'protocol')} node of {args['image']} is not open")
    if "denials" in args and seen.denials is not None and seen.denials != args["denials"]:
        wrong.append(f"denial count is {seen.denials}, expected {args['denials']}")
    if "mode" in args and seen.mode is not None and seen.mode != args["mode"]:
        wrong.append(f"mode is {seen.mode}, expected {args['mode']}")
    if "property" in args:
        from optcompare.scenario.properties import Property, holds_on

        holds, wanted = holds_on(Property(args["property"]), seen), args.get("holds", True)
        if holds != wanted:
            wrong.append(f"{args['property']} {'holds' if holds else 'is violated'}, expected "
                         f"it {'to hold' if wanted else 'violated'}")
    if wrong:
        return False, f"{args['image']}: " + "; ".join(wrong)
    return True, None


# -- the client's part of each step (DESIGN sections 4 and 5) ---------------

def _start(state: _Run, args: Mapping[str, Any]) -> None:
    setup = state.scenario.setup
    frontend = setup.frontend
    if state.client is None:
        frontend = "drive"
    elif frontend == "auto":
        state.detection = (state.detect or _detect)(state.client, state.build)
        frontend = state.client.pick_frontend(state.detection, setup.driver).value
        dynamic = setup.driver in state.detection.dynamic
        state.actions.append(f"probe: {state.detection.evidence} -> "
                             f"{'dynamic' if dynamic else 'not dynamic'}, -{frontend}")
    state.frontend = frontend
    state.actions.append(f"-{frontend}")
    if frontend == "drive":
        state.backend.open_drive(state.chain, state.readonly)
        return
    below = None
    for index, image in enumerate(state.chain):
        backing = index < len(state.chain) - 1
        state.backend.add_protocol(image, state.storage_options(backing))
        state.backend.add_format(image, backing or state.readonly, below)
        below = image


@functools.lru_cache(maxsize=1024)
def _detect(client: Policy, build: Build) -> Detection:
    """A client's probe of a model build: a pure function of the two."""
    from optcompare.schema.target import BuildTarget

    return client.detect(BuildTarget(build), build.drivers)


def _position(state: _Run, image: str) -> int:
    if image not in state.chain:
        raise StepError(f"'{image}' is not in the disk's backing chain")
    return state.chain.index(image)


def _around_job(state: _Run, image: str, job: Callable[[], None]) -> None:
    """Relabel and reopen for a job as the client does, and undo it afterwards."""
    relabelled = False
    if not state.backend.observe(image).label:
        state.relabel(image, True)
        relabelled = True
    try:
        if image != state.chain[-1]:
            _reopened(state, image, job)
        else:
            job()
    finally:
        if relabelled:
            state.relabel(image, False)


def _reopened(state: _Run, image: str, job: Callable[[], None], *, keep: bool = False
              ) -> None:
    """``job`` with ``image`` reopened read/write by an explicit-reopen client, read-only
    again afterwards (unless ``keep``: an active commit makes it the active layer).

    When the job fails the client takes back the access it granted, as libvirt's
    block-job error paths do, and reports the job's error, not the revert's.
    """
    _explicit_reopen(state, image, False)
    try:
        job()
    except StepError:
        try:
            _explicit_reopen(state, image, True)
        except StepError as error:
            state.actions.append(f"reopen {image} read-only=on refused: {error.message}")
        raise
    if not keep:
        _explicit_reopen(state, image, True)


def _explicit_reopen(state: _Run, image: str, read_only: bool) -> None:
    if state.client is None or not state.client.explicit_reopen or state.frontend != "blockdev":
        return
    options = {READ_ONLY: read_only}
    state.backend.reopen(image, options)
    state.actions.append(f"reopen {image} read-only={'on' if read_only else 'off'}")


def _drop(state: _Run, images: list[str]) -> None:
    """``blockdev-del`` of the nodes a concluded job left, top-down (QEMU refuses to
    delete a node that is still another's backing).

    libvirt ignores a refusal here (qemu_blockjob.c's ConcludedRemoveChain calls the
    void qemuBlockStorageSourceChainDetach): the job stays completed, the node stays
    in QEMU (an export may hold it), and the trace says so.
    """
    for image in reversed(images):
        try:
            state.backend.delete(image)
        except StepError as error:
            state.actions.append(f"blockdev-del {image} refused: {error.message}")
            continue
        state.actions.append(f"blockdev-del {image}")


def _commit(state: _Run, args: Mapping[str, Any]) -> None:
    top, base = args["top"], args["base"]
    top_at, base_at = _position(state, top), _position(state, base)
    if base_at >= top_at:
        raise StepError(f"'{base}' is not a backing file of '{top}'")
    device = state.chain[-1]
    active = top == device
    dropped = state.chain[base_at + 1 : top_at + 1]

    def job() -> None:
        # After an active commit the base is the active layer, read-only only on a
        # read-only disk (QEMU's mirror_exit_common; the client's storage options).
        _reopened(state, base, lambda: state.backend.commit(device, top, base),
                  keep=active and not state.readonly)

    if active:
        job()
    else:
        _around_job(state, state.chain[top_at + 1], job)
    state.chain[base_at + 1 : top_at + 1] = []
    _drop(state, dropped)


def _stream(state: _Run, args: Mapping[str, Any]) -> None:
    top, base = args["top"], args.get("base")
    top_at = _position(state, top)
    base_at = _position(state, base) if base is not None else -1
    if base_at >= top_at:
        raise StepError(f"'{base}' is not a backing file of '{top}'")
    dropped = state.chain[base_at + 1 : top_at]

    def job() -> None:
        state.backend.stream(top, base)

    if top_at == len(state.chain) - 1:
        job()
    else:
        _around_job(state, top, job)
    state.chain[base_at + 1 : top_at] = []
    _drop(state, dropped)


def _snapshot(state: _Run, args: Mapping[str, Any]) -> None:
    new, old = args["image"], state.chain[-1]
    if state.frontend is None:
        raise StepError("the disk is not open: 'start' comes first")
    state.backend.create([(new, True)], backing=old)
    state.known.append(new)
    if state.frontend == "drive":
        state.backend.open_drive([new], state.readonly)
    else:
        state.backend.add_protocol(new, state.storage_options(False))
        state.backend.add_format(new, state.readonly, None)
    state.backend.snapshot(new, old)
    state.chain.append(new)
    _explicit_reopen(state, old, True)
    state.relabel(old, False)


def _guest_write(state: _Run, args: Mapping[str, Any]) -> None:
    state.backend.guest_write(state.chain[-1])


def _blockdev_add(state: _Run, args: Mapping[str, Any]) -> None:
    state.backend.add_protocol(args["image"], dict(args.get("options", {})))


def _relabel(state: _Run, args: Mapping[str, Any]) -> None:
    state.backend.relabel(args["image"], args["writable"])


def _attach(state: _Run, args: Mapping[str, Any]) -> None:
    state.backend.attach_writer(args["image"])


def _detach(state: _Run, args: Mapping[str, Any]) -> None:
    state.backend.detach_writer(args["image"])


def _probe(state: _Run, args: Mapping[str, Any]) -> bool:
    return state.backend.has(args["query"])


def _assert(state: _Run, args: Mapping[str, Any]) -> str | None:
    seen = state.backend.observe(args["image"], args.get("node", "protocol"))
    gaps = [k for k in ("denials", "mode") if k in args and getattr(seen, k) is None]
    return f"not measurable here: {', '.join(gaps)}" if gaps else None


_HANDLERS: dict[str, Callable[[_Run, Mapping[str, Any]], Any]] = {
    "start": _start,
    "relabel": _relabel,
    "block-commit": _commit,
    "block-stream": _stream,
    "snapshot": _snapshot,
    "guest-write": _guest_write,
    "blockdev-add": _blockdev_add,
    "attach-writer": _attach,
    "detach-writer": _detach,
    "probe": _probe,
    "assert": _assert,
}
