"""The model backend's own mechanisms: what it keeps of a build, and what it shares."""

from __future__ import annotations

from pathlib import Path

from optcompare.analysis import questions
from optcompare.backends.model import ModelBackend, _resolution
from optcompare.model.drivers import Platform
from optcompare.model.modes import Mode
from optcompare.model.options import AUTO_READ_ONLY, READ_ONLY
from optcompare.policies import registry
from optcompare.policies.base import Build, Frontend
from optcompare.scenario.backend import StepError


def _build(name: str) -> Build:
    return registry.get(name).build(Platform.POSIX)


def test_a_resolution_is_kept_per_build() -> None:
    options = {READ_ONLY: False, AUTO_READ_ONLY: True}
    fallback = _resolution(_build("qemu-3.1"), options, "file", Frontend.BLOCKDEV)
    dynamic = _resolution(_build("qemu-4.0"), options, "file", Frontend.BLOCKDEV)
    assert (fallback.mode, dynamic.mode) == (Mode.FALLBACK_RO, Mode.DYNAMIC_RO)


def test_a_resolution_is_kept_per_driver_frontend_and_typed_option() -> None:
    build = _build("qemu-4.0")
    cases = [({AUTO_READ_ONLY: True}, "file", Frontend.BLOCKDEV),
             ({AUTO_READ_ONLY: True}, "nbd", Frontend.BLOCKDEV),
             ({}, "file", Frontend.BLOCKDEV),
             ({}, "file", Frontend.DRIVE),
             ({AUTO_READ_ONLY: "true"}, "file", Frontend.BLOCKDEV),
             ({READ_ONLY: True}, "file", Frontend.BLOCKDEV)]
    for options, driver, frontend in cases * 2:
        assert _resolution(build, options, driver, frontend) == build.resolve(
            options, driver, frontend)
    assert len({repr(build.resolve(*case)) for case in cases}) == len(cases)  # all differ


def test_each_witness_of_a_build_is_asked_its_resolutions() -> None:
    build = _build("qemu-4.0")
    for _ in range(2):
        asked, record = questions.witness(build)
        backend = ModelBackend(asked)
        backend.create([("top", True)])
        backend.add_protocol("top", {AUTO_READ_ONLY: True})
        assert any(question[0] == "resolve" for question, _ in record.answers.values())
        assert questions.answers_alike(build, record)
        assert not questions.answers_alike(_build("qemu-3.1"), record)


def _reopened(backend: ModelBackend) -> str:
    try:
        backend.reopen("top", {READ_ONLY: True})
    except StepError as error:
        return error.message
    return "ok"


def test_whether_a_driver_reopens_is_the_build_s_release_s_answer() -> None:
    older, newer = registry.get("qemu-4.0"), registry.get("qemu-4.0").with_wording("7.2")
    for policy, wanted in ((older, "does not support reopening"), (newer, "ok"),
                           (older, "does not support reopening")):
        backend = ModelBackend(Build(policy), "nbd")
        backend.create([("top", True)])
        backend.add_protocol("top", {READ_ONLY: True})
        for each in (backend, backend.copy(), backend):
            assert wanted in _reopened(each)


def test_a_commit_after_a_start_that_failed_part_way_is_an_error_not_a_crash(
        tmp_path: Path) -> None:
    """The layers above ``mid`` were never added: the disk's active layer, the job's
    ``device``, is not in QEMU (measured live in tests/test_differential.py)."""
    from optcompare.scenario import load
    from optcompare.scenario.runner import Outcome, run

    path = tmp_path / "start-fails-then-commit.toml"
    path.write_text(START_FAILS_THEN_COMMIT)
    scenario = load.load(path)
    for name in ("qemu-3.1", "qemu-4.0", "option-1"):
        result = run(scenario, registry.get(name))
        start, commit = result.trace
        assert start.result == "error"
        assert (commit.result, commit.message) == (
            "error", "Device 'top' not found"), name
        assert result.outcome is Outcome.FAILS


START_FAILS_THEN_COMMIT = """
[scenario]
name = "start-fails-then-commit"
summary = "a start that fails part way, then a commit below the missing layers"
source = "the model's own test"

[setup]
frontend = "blockdev"

[[setup.images]]
name = "base"
writable = true

[[setup.images]]
name = "mid"
writable = false

[[setup.images]]
name = "top"
writable = false

[[steps]]
do = "start"
expect = "error"

[[steps]]
do = "block-commit"
top = "mid"
base = "base"
"""


def test_an_image_s_looks_are_forgotten_on_a_change_by_the_side_that_changed_it() -> None:
    backend = ModelBackend(_build("qemu-4.0"))
    backend.create([("top", False)])
    backend.add_protocol("top", {READ_ONLY: True})
    seen, key = backend.observe("top"), backend.key("top")
    assert backend.observe("top") is seen  # the key kept the observation, and back
    assert backend.key("top") is key
    other = backend.copy()
    other.relabel("top", True)
    assert other.observe("top").label and other.key("top") != key
    assert backend.observe("top") is seen and backend.key("top") is key
    backend.relabel("top", True)
    assert backend.observe("top") == other.observe("top")
    assert backend.key("top") == other.key("top")


def test_a_commit_names_the_device_it_is_given() -> None:
    """The client says which layer is the disk's (the runner: its chain's top); the model
    keeps no copy of its own. A device that is not open is QEMU's DeviceNotFound; a
    ``top`` that is the device is an active commit, one below it is not."""
    def disk() -> ModelBackend:
        backend = ModelBackend(Build(registry.get("qemu-4.1")), "file")
        backend.create([("base", True), ("mid", True), ("top", True)])
        below = None
        for image, read_only in (("base", True), ("mid", True), ("top", False)):
            backend.add_protocol(image, {AUTO_READ_ONLY: True, READ_ONLY: False})
            backend.add_format(image, read_only, below)
            below = image
        return backend

    backend = disk()
    try:
        backend.commit("ghost", "mid", "base")
    except StepError as error:
        assert error.message == "Device 'ghost' not found"
    else:
        raise AssertionError("a commit on a device that is not open succeeded")
    backend.commit("top", "mid", "base")  # not active: top is rebased onto base
    assert backend.format["top"].backing == "base"
    backend = disk()
    backend.commit("top", "top", "base")  # active: nothing is rebased, the client pivots
    assert backend.format["top"].backing == "mid"
