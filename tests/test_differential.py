"""explore --backend qemu: the released policy's explored workflows on a real daemon."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from qemu_required import require_qemu  # tests/ is on sys.path
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture
from typer.testing import CliRunner

from optcompare.analysis import differential
from optcompare.analysis.explore import Context
from optcompare.backends.model import ModelBackend
from optcompare.backends.qemu.backend import released_policy
from optcompare.cli import build_app
from optcompare.policies.base import Build
from optcompare.render.explore_views import differential_json
from optcompare.render.qemu_views import step_difference
from optcompare.scenario import load
from optcompare.scenario.backend import Backend, StepError

RELEASED = released_policy()


class _Liar(ModelBackend):
    """A "real QEMU" that refuses every commit."""

    name = "qemu"

    def commit(self, device: str, top: str, base: str) -> None:
        raise StepError("liar: no commit")


def _liar(build: Build, driver: str) -> Backend:
    return _Liar(build, driver)


@pytest.mark.parametrize("frontend", differential.FRONTENDS)
def test_the_model_agrees_with_qemu_on_every_short_workflow(
        frontend: str, no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    from optcompare.backends.qemu.backend import QemuFactory

    result = differential.run(RELEASED, Context(), depth=2, images=2, frontend=frontend,
                              factory=QemuFactory(tools))
    assert result.frontend == frontend and result.bounds.guest
    assert result.workflows == result.planned > 20
    assert result.steps > result.workflows
    guest = [w for w in differential.workflows(Context(), RELEASED, result.bounds)
             if any(s.do == "guest-write" for s in w.steps)]
    assert guest  # replayed on the emulator: not "not applicable"
    assert result.not_applicable == 0
    assert result.disagreements == 0 and result.unexplained == 0
    # A daemon that dies once (seen: qemu-storage-daemon 7.2, SIGSEGV in a blockdev-add,
    # on a loaded machine) is QEMU's crash, not the model's disagreement: the run reports
    # it and runs the workflow again. One that dies again, or a step that disagrees, fails.
    crashes = [d for d in result.found if d.crash]
    assert [d for d in result.found if not d.crash] == []
    assert all(d.reruns > 0 and d.reproduced == 0 for d in crashes), crashes
    assert result.backend_failures == sum(d.seen for d in crashes)
    assert result.agreements == result.steps or crashes


def test_each_frontend_is_counted_apart() -> None:
    both = differential.run_frontends(RELEASED, Context(), depth=2, images=2, factory=_liar)
    assert [leg.frontend for leg in both.legs] == list(differential.FRONTENDS)
    data = differential_json(both)
    legs = {leg["frontend"]: leg["summary"] for leg in data["frontends"]}
    assert set(legs) == {"blockdev", "drive"}
    for key in ("planned", "workflows", "steps", "agreements", "disagreements", "shrunk"):
        assert data["summary"][key] == sum(leg[key] for leg in legs.values()), key
    assert all(leg["disagreements"] > 0 for leg in legs.values())
    assert {f["frontend"] for f in data["found"]} == {"blockdev", "drive"}
    spent = differential.run_frontends(RELEASED, Context(), depth=2, images=1, budget=0,
                                       factory=_liar)
    assert spent.out_of_budget and all(leg.workflows == 0 for leg in spent.legs)


def test_each_disagreement_is_shrunk_to_a_minimal_workflow() -> None:
    result = differential.run(RELEASED, Context(), depth=3, images=2, factory=_liar)
    assert result.disagreements > 0 and result.unexplained == len(result.found)
    # an active and an intermediate commit: what differs after them is not the same
    assert len(result.found) == 2
    for found in result.found:
        assert [s.do for s in found.workflow.steps] == ["start", "block-commit"]
        assert len(found.original.steps) >= len(found.workflow.steps)
        first = found.comparison.disagreements[0]
        assert first.step.startswith("block-commit")
        assert any(step_difference(d).startswith(("result: model ok, qemu error",
                                                  "error: model"))
                   for d in first.differences)
    assert sum(f.seen for f in result.found) > 2
    assert result.agreements + result.disagreements == result.steps


def test_budget_and_interrupt_return_what_was_found() -> None:
    spent = differential.run(RELEASED, Context(), depth=2, images=1, budget=0, factory=_liar)
    assert spent.out_of_budget and spent.workflows == 0 and spent.planned > 0
    calls: list[int] = []

    def interrupting(build: Build, driver: str) -> Backend:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return ModelBackend(build, driver)

    stopped = differential.run(RELEASED, Context(), depth=2, images=1, factory=interrupting)
    assert stopped.interrupted and stopped.workflows == 2
    assert stopped.agreements == stopped.steps > 0


def test_emitted_disagreements_meet_on_the_model(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from optcompare.backends.qemu import backend, daemon

    monkeypatch.setattr(daemon, "find_qemu", lambda: None)
    monkeypatch.setattr(backend, "qemu_backend", lambda build, driver, **_: _liar(
        build, driver))
    app = build_app()
    result = CliRunner().invoke(app, ["explore", "--backend", "qemu", "--depth", "2",
                                      "--images", "2", "--emit", str(tmp_path), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "explore-differential"
    assert data["summary"]["unexplained"] == len(data["emitted"]) > 0
    for name in data["emitted"]:
        path = tmp_path / name
        assert load.check_files([path]) == []
        run = CliRunner().invoke(app, ["run", str(path), "--policy", "qemu-4.1", "-f", "json"])
        assert json.loads(run.stdout)["results"][0]["outcome"] == "meets", (
            path.read_text(), run.stdout)
    text = CliRunner().invoke(app, ["explore", "--backend", "qemu", "--depth", "2",
                                    "--images", "2"])
    summary = data["summary"]
    words = " ".join(text.stdout.split())
    assert (f"{summary['shrunk']} distinct disagreements after shrinking, "
            f"{summary['unexplained']} unexplained") in words
    assert "<-- result: model ok, qemu error" in words
    for leg in data["frontends"]:
        counts = leg["summary"]
        assert (f"| -{leg['frontend']} | {counts['workflows']} | {counts['planned']} | "
                f"{counts['steps']} | {counts['agreements']} | {counts['disagreements']} |"
                ) in words


def test_bad_flags_for_the_real_backend() -> None:
    app = build_app()
    for args in (["--budget", "5"], ["--backend", "qemu", "--driver", "nbd"],
                 ["--backend", "qemu", "--frontend", "auto"],
                 ["--backend", "qemu", "--policy", "qemu-3.1"]):
        result = CliRunner().invoke(app, ["explore", *args])
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1


class _Crasher(ModelBackend):
    """A "real QEMU" that dies in every block-stream."""

    name = "qemu"

    def stream(self, top: str, base: str | None) -> None:
        from optcompare.errors import BackendError

        raise BackendError("QMP connection lost")


def test_a_crash_is_no_crash_violated_and_run_again() -> None:
    def crasher(build: Build, driver: str) -> Backend:
        return _Crasher(build, driver)

    result = differential.run(RELEASED, Context(), depth=2, images=2, factory=crasher)
    assert result.backend_failures > 0 and result.disagreements == 0
    assert result.crashes == len(result.found) == 1 and result.unexplained == 0
    crash = result.found[0]
    assert crash.crash and (crash.reruns, crash.reproduced) == (3, 3)
    assert [s.do for s in crash.workflow.steps] == ["start", "block-stream"]
    assert crash.comparison.reason == "backend failure: QMP connection lost"


def test_a_drive_whose_top_is_denied_opens_no_backing_file() -> None:
    """Found by the -drive differential run: QEMU opens the top image first, its backing
    file after, and closes the drive's nodes when an open fails."""
    from optcompare.analysis.explore import Bounds, Start, scenario_of
    from optcompare.scenario import runner
    from optcompare.scenario.spec import Step

    for labels, denied in (((False, False), "top"), ((False, True), None)):
        bounds = Bounds(frontend="drive")
        scenario = scenario_of(bounds, Start(labels, readonly=False), (Step(0, "start", {}),))
        state = runner.run(scenario, RELEASED).trace[0].state
        if denied:
            assert state["top"].denials == 1
            assert (state["base"].fd.value, state["base"].denials) == ("closed", 0)
        else:
            assert (state["base"].fd.value, state["top"].fd.value) == ("ro", "rw")


@pytest.mark.parametrize(("labels", "steps"), [
    ((False, False, True), (("block-stream", {"top": "mid"}),)),
    ((True, True), (("block-commit", {"top": "top", "base": "base"}), ("guest-write", {}))),
    ((True, True, True), (("block-commit", {"top": "top", "base": "mid"}),
                          ("block-commit", {"top": "mid", "base": "base"}))),
])
def test_jobs_and_writes_on_a_drive_name_its_implicit_nodes(
        labels: tuple[bool, ...], steps: tuple[tuple[str, dict[str, object]], ...],
        no_leftovers: Path) -> None:  # noqa: F811
    """Found by the -drive run at depth 4: jobs and guest writes named nodes that only
    -blockdev has; now each step agrees with the model."""
    tools = require_qemu()
    from optcompare.analysis.conformance import compare_scenario
    from optcompare.analysis.explore import Bounds, Start, scenario_of
    from optcompare.backends.qemu.backend import QemuFactory, run_one
    from optcompare.scenario import runner
    from optcompare.scenario.spec import Step

    played = (Step(0, "start", {}),
              *(Step(i, do, dict(args)) for i, (do, args) in enumerate(steps, 1)))
    scenario = scenario_of(Bounds(frontend="drive"), Start(labels, readonly=False), played)
    comparison = compare_scenario(scenario, runner.run(scenario, RELEASED),
                                  run_one(scenario, RELEASED, factory=QemuFactory(tools)))
    assert comparison.status == "agree", [s.differences for s in comparison.disagreements]


@pytest.mark.parametrize("frontend", differential.FRONTENDS)
@pytest.mark.parametrize(("top", "base"), [("mid", "base"), ("top", "mid")])
def test_a_commit_after_a_start_that_failed_part_way_names_the_missing_disk(
        frontend: str, top: str, base: str, no_leftovers: Path) -> None:  # noqa: F811
    """The top image is unwritable: the start fails before the disk's active layer is in
    QEMU. libvirt's block-commit names the disk (``device``: its active layer's node, or
    the drive's id) and QEMU answers DeviceNotFound. The real backend used to name
    ``mid`` itself, the root of what was added: QEMU started an active commit (a mirror
    job, ready) that the backend awaited as a plain one until it timed out."""
    tools = require_qemu()
    from optcompare.analysis.conformance import compare_scenario
    from optcompare.analysis.explore import Bounds, Start, scenario_of
    from optcompare.backends.qemu.backend import QemuFactory, run_one
    from optcompare.scenario import runner
    from optcompare.scenario.runner import ScenarioResult
    from optcompare.scenario.spec import Step

    played = (Step(0, "start", {}, expect="error"),
              Step(1, "block-commit", {"top": top, "base": base}))
    scenario = scenario_of(Bounds(frontend=frontend), Start((True, False, False),
                                                            readonly=False), played)
    model = runner.run(scenario, RELEASED)
    qemu = run_one(scenario, RELEASED, factory=QemuFactory(tools))
    assert isinstance(qemu, ScenarioResult), qemu.reason
    assert [(r.result, r.message) for r in qemu.trace] == [
        ("error", "Could not open 'top.qcow2': Permission denied"),
        ("error", "Device 'top' not found")]
    comparison = compare_scenario(scenario, model, qemu)
    assert comparison.status == "agree", [s.differences for s in comparison.disagreements]


def test_a_write_after_a_relabel_is_a_known_departure() -> None:
    """SELinux refuses it, file modes (checked at open only) do not."""
    from optcompare.analysis.conformance import Aspect, Difference, StepComparison, StepSide

    denied = StepSide("error", "Could not open 'top.qcow2': Permission denied", True, ())
    written = StepSide("ok", None, False, ())
    step = StepComparison(2, "guest-write", denied, written, (
        Difference(Aspect.RESULT, "error", "ok"), Difference(Aspect.MET, True, False),
        Difference(Aspect.DENIALS, 1, 0, "top")))
    assert [step_difference(d) for d in step.differences] == [
        "result: model error, qemu ok", "expectation met: model yes, qemu no",
        "top denials: model 1, qemu 0"]
    (departure,) = differential.KNOWN_DEPARTURES
    assert departure.matches(step)
    other = StepComparison(2, "guest-write", written, denied, step.differences)
    assert not departure.matches(other)


@pytest.mark.parametrize(("frontend", "step", "args", "said_by_7_2", "said_by_4_1"), [
    ("blockdev", "block-stream", {"top": "top"},
     "Cannot find device='top' nor node-name='top'", "Cannot find device=top nor node_name=top"),
    ("drive", "block-stream", {"top": "top"},
     "Cannot find device='top' nor node-name='top'", "Cannot find device=top nor node_name=top"),
    ("blockdev", "snapshot", {"image": "new"},
     "Cannot find device='top' nor node-name='top'", "Cannot find device=top nor node_name=top"),
    ("drive", "snapshot", {"image": "new"},
     "Cannot find device='top' nor node-name=''", "Cannot find device=top nor node_name="),
    ("blockdev", "guest-write", {},
     "Cannot find device='' nor node-name='top'", "Cannot find device= nor node_name=top"),
    ("drive", "guest-write", {},
     "Cannot find device='' nor node-name='top'", "Cannot find device= nor node_name=top"),
    ("drive", "attach-writer", {"image": "top"},
     "Cannot find device='' nor node-name='top-storage'",
     "Cannot find device=top-storage nor node_name=top-storage"),
    ("drive", "detach-writer", {"image": "top"},
     "Export 'top-export' is not found", "Export 'top-export' is not found"),
])
def test_a_step_on_a_node_that_was_never_added_is_refused_in_the_release_s_words(
        frontend: str, step: str, args: dict[str, object], said_by_7_2: str, said_by_4_1: str,
        no_leftovers: Path) -> None:  # noqa: F811
    """The top image is unwritable, so the start fails before its node is in QEMU; the
    next step names it. QEMU 7.2 quotes both names of a failed lookup and passes the
    name as a device too where the command does (block-stream's device, blockdev-
    snapshot's node), as a device only for libvirt's snapshot of a -drive disk
    (blockdev-snapshot-sync's device: the drive's id); the model of qemu-4.1 in its own
    era says 4.1's words. The model used to say 7.2's device='' form for every command
    and era. The real backend used to add the -drive snapshot's overlay as a drive of its
    own (HMP drive_add), which opened the images below it read-only, and sent
    blockdev-snapshot; libvirt lets blockdev-snapshot-sync open it, and QEMU opens
    nothing when the drive is not there."""
    tools = require_qemu()
    from optcompare.analysis.conformance import compare_scenario
    from optcompare.analysis.explore import Bounds, Start, scenario_of
    from optcompare.backends.qemu.backend import QemuFactory, run_one
    from optcompare.policies import qemu_4_1
    from optcompare.scenario import runner
    from optcompare.scenario.runner import ScenarioResult
    from optcompare.scenario.spec import Step

    played = (Step(0, "start", {}, expect="error"), Step(1, step, dict(args)))
    scenario = scenario_of(Bounds(frontend=frontend), Start((True, False), readonly=False),
                           played)
    qemu = run_one(scenario, RELEASED, factory=QemuFactory(tools))
    assert isinstance(qemu, ScenarioResult), qemu.reason
    assert [(r.result, r.message) for r in qemu.trace] == [
        ("error", "Could not open 'top.qcow2': Permission denied"), ("error", said_by_7_2)]
    comparison = compare_scenario(scenario, runner.run(scenario, RELEASED), qemu)
    assert comparison.status == "agree", [s.differences for s in comparison.disagreements]
    if frontend == "drive":
        assert {image: seen.fd.value for image, seen in qemu.trace[1].state.items()
                if image != "new"} == {"base": "closed", "top": "closed"}
    in_2019 = runner.run(scenario, qemu_4_1.POLICY).trace[1]
    assert (in_2019.result, in_2019.message) == ("error", said_by_4_1)
