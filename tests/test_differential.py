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
from optcompare.scenario import load
from optcompare.scenario.backend import Backend, StepError

RELEASED = released_policy()


class _Liar(ModelBackend):
    """A "real QEMU" that refuses every commit."""

    name = "qemu"

    def commit(self, top: str, base: str, active: bool) -> None:
        raise StepError("liar: no commit")


def _liar(build: Build, driver: str) -> Backend:
    return _Liar(build, driver)


def test_the_model_agrees_with_the_daemon_on_every_short_workflow(
        no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    from functools import partial

    from optcompare.backends.qemu.backend import qemu_backend

    result = differential.run(RELEASED, Context(), depth=2, images=2,
                              factory=partial(qemu_backend, tools=tools))
    assert result.workflows == result.planned > 20
    assert result.steps > result.workflows
    assert result.agreements == result.steps
    assert (result.disagreements, result.backend_failures, result.found) == (0, 0, ())


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
        assert any(d.startswith(("result: model ok, qemu error", "error: model"))
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
    monkeypatch.setattr(backend, "qemu_backend", lambda build, driver, tools=None: _liar(
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


def test_bad_flags_for_the_real_backend() -> None:
    app = build_app()
    for args in (["--budget", "5"], ["--backend", "qemu", "--driver", "nbd"],
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
