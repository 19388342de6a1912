"""``optcompare conformance``: the model of the released behaviour against the daemon.

The real-QEMU tests need qemu-storage-daemon and qemu-img (skip without them,
fail when CI is set); the comparison logic, the report and the command's
exit codes are also checked without QEMU, on a fake daemon side.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from qemu_required import require_qemu  # tests/ is on sys.path
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture
from typer.testing import CliRunner

from optcompare.analysis import conformance
from optcompare.analysis.conformance import (
    AGREE,
    BACKEND_FAILURE,
    DISAGREE,
    NOT_APPLICABLE,
    Conformance,
    compare_scenario,
    run_on_qemu,
)
from optcompare.backends.model import ModelBackend
from optcompare.backends.qemu import daemon as qemu_daemon
from optcompare.backends.qemu.backend import BackendFailure, Progress, released_policy
from optcompare.cli import app
from optcompare.policies import registry
from optcompare.policies.base import Build
from optcompare.render.formats import Format, render
from optcompare.render.qemu_views import conformance_json, conformance_view, step_difference
from optcompare.scenario import load, runner
from optcompare.scenario.backend import Backend, StepError
from optcompare.scenario.runner import Outcome, ScenarioResult

RELEASED = released_policy()

#: Built-in scenarios the real QEMU can express (driver file, POSIX): -blockdev on the
#: daemon; -drive and guest writes on the emulator.
EXPRESSIBLE = (
    "blockdev-active-commit",
    "blockdev-commit-selinux",
    "blockdev-commit-without-relabel",
    "cmdline-3-1-backing",
    "commit-drops-two",
    "deep-chain-start-denials",
    "export-writer-upgrade",
    "intermediate-block-stream",
    "libvirt-qemu-4-1-auto",
    "snapshot-then-commit",
    "stream-into-active",
)
ON_THE_EMULATOR = (
    "drive-commit-selinux",
    "libvirt-as-shipped-auto",
    "libvirt-option-1-auto",
    "libvirt-option-2-auto",
    "libvirt-option-3-auto",
    "readonly-disk-drive",
    "readonly-disk-guest-write",
)
#: What this machine cannot have, and the words of the reason.
NOT_RUN = {"nbd-chain-commit": "'nbd'", "windows-commit": "windows build"}


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_figures(result: Conformance) -> str:
    """The README's sentence of figures, from a live run."""
    live = result.live()
    run = live.driver["file"].scenarios
    fronts = " and ".join(f"{n.scenarios} with -{f}" for f, n in live.frontend.items()
                          if n.scenarios)
    halves = sorted({c.frontend for c in result.iotest})
    cells = ", ".join(f"{sum(1 for c in result.iotest if c.frontend == f)} -{f}" for f in halves)
    not_run = [s.scenario for s in result.scenarios if s.status == NOT_APPLICABLE]
    summary = result.summary()
    drivers = ", ".join(f"{d} {n.cells}" for d, n in live.driver.items()
                        if d != "file" and n.cells)
    return (f"{summary.scenarios} built-in scenarios: {run} run live ({fronts}) and agree "
            f"on every one of their {summary.steps_compared} steps; {len(not_run)} not run, "
            f"each with its reason ({', '.join(not_run)}); {summary.iotest_agreeing} of "
            f"{summary.iotest_cells} iotest 232 cells agree ({cells}); "
            f"{summary.driver_cells_agreeing} of {summary.driver_cells} truth-table "
            f"cells of network drivers on live servers agree ({drivers}).")


# -- the real thing ---------------------------------------------------------------------


def test_conformance_agrees_on_iotest_232_and_every_expressible_scenario(
    no_leftovers: Path,  # noqa: F811
) -> None:
    tools = require_qemu()
    seen: list[Progress] = []
    started = time.monotonic()
    result = conformance.run(load.select([]), tools=tools, progress=seen.append)
    elapsed = time.monotonic() - started
    print(f"conformance run: {elapsed:.1f} s")  # the benchmark is elsewhere; shown with -s

    statuses = {s.scenario: s.status for s in result.scenarios}
    for name in EXPRESSIBLE + ON_THE_EMULATOR:
        assert statuses.get(name) == AGREE, name
    assert {s.scenario: s.reason for s in result.scenarios if s.status == NOT_APPLICABLE
            }.keys() == NOT_RUN.keys()
    for s in result.scenarios:
        if s.scenario in NOT_RUN:
            assert NOT_RUN[s.scenario] in (s.reason or ""), s.reason
    for item in result.scenarios:
        assert item.status in (AGREE, NOT_APPLICABLE), (item.scenario, item.status, [
            d for step in item.steps for d in step.differences])
        if item.status == NOT_APPLICABLE:
            assert item.reason
        for step in item.steps:
            assert step.agree, (item.scenario, step.step, step.differences)
    frontends = {s.scenario: s.frontend for s in result.scenarios}
    assert frontends["drive-commit-selinux"] == "drive"
    assert frontends["readonly-disk-guest-write"] == "blockdev"

    assert len(result.iotest) == 36
    assert sorted({c.frontend for c in result.iotest}) == ["blockdev", "drive"]
    assert sum(1 for c in result.iotest if c.frontend == "drive") == 18
    assert {c.driver for c in result.tables} == {"nbd", "http", "iscsi", "ssh"}
    assert len(result.tables) == 72
    assert all(c.agree for c in result.tables), [c.differences for c in result.tables]
    assert all(cell.agree for cell in result.iotest), [
        c.differences for c in result.iotest if not c.agree]
    assert all(p.agree for p in result.probes)
    assert result.disagreements == 0

    assert readme_figures(result) in README.read_text(encoding="utf-8").replace("\n", " ")
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == len(statuses) + 1
    data = conformance_json(result)
    assert data["qemu"]["version"][0].isdigit()
    live = data["live"]
    assert live["frontend"]["drive"]["cells"] == 18
    assert live["frontend"]["blockdev"]["cells"] == 18 + len(result.tables)
    for driver in ("nbd", "http", "iscsi", "ssh"):
        assert live["driver"][driver]["cells"] == sum(
            1 for c in result.tables if c.driver == driver)
    ran = [s for s in result.scenarios if s.status == AGREE]
    assert live["frontend"]["drive"]["scenarios"] == sum(1 for s in ran if s.frontend == "drive")
    assert live["driver"]["file"]["scenarios"] == len(ran)
    assert live["driver"]["file"]["steps"] == sum(
        live["frontend"][f]["steps"] for f in live["frontend"])
    json.dumps(data)


def test_more_steps_agree_writers_errors_and_probes(
    no_leftovers: Path, tmp_path: Path,  # noqa: F811
) -> None:
    tools = require_qemu()
    (tmp_path / "writers.toml").write_text(WRITERS)
    (tmp_path / "errors.toml").write_text(ERRORS)
    chosen = load.select([], tmp_path)
    result = conformance.run(chosen, tools=tools, iotest=False)
    for item in result.scenarios:
        assert item.status == AGREE, [d for s in item.steps for d in s.differences]
        assert item.qemu_outcome == "meets"
    steps = {(s.scenario, step.index): step for s in result.scenarios for step in s.steps}
    assert steps["writers", 1].qemu is not None
    assert steps["writers", 1].qemu.message == "Could not open 'x.qcow2': Permission denied"
    assert steps["errors", 2].qemu is not None
    assert steps["errors", 2].qemu.message == "Cannot export read-only node as writable"


def test_output_is_deterministic(no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    chosen = load.select(["blockdev-commit-selinux", "drive-commit-selinux"])
    first = conformance_json(conformance.run(chosen, tools=tools, iotest=False))
    second = conformance_json(conformance.run(chosen, tools=tools, iotest=False))
    assert first == second


def test_run_on_qemu_gives_the_model_matrix_order(no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    chosen = load.select(["blockdev-commit-selinux", "drive-commit-selinux"])
    results = run_on_qemu(chosen, [RELEASED, registry.get("option-1")], tools=tools)
    assert [(r.scenario, r.policy) for r in results] == [
        ("blockdev-commit-selinux", "qemu-4.1"), ("blockdev-commit-selinux", "option-1"),
        ("drive-commit-selinux", "qemu-4.1"), ("drive-commit-selinux", "option-1"),
    ]
    assert all(isinstance(r, ScenarioResult) for r in results)
    outcomes = [r.outcome for r in results]
    assert outcomes == [Outcome.MEETS, Outcome.NOT_APPLICABLE] * 2
    assert "released semantics only" in (results[1].reason or "")
    assert results[2].frontend == "drive"  # on the emulator
    assert all(r.backend == "qemu" for r in results if r.outcome is Outcome.MEETS)


def test_cli_conformance_json_and_fail_on(no_leftovers: Path) -> None:  # noqa: F811
    require_qemu()
    result = CliRunner().invoke(app, ["conformance", "blockdev-active-commit", "-f", "json",
                                      "--fail-on", "disagree"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "conformance"
    assert data["summary"]["agree"] == 1 and data["summary"]["disagreements"] == 0
    assert result.stderr == ""  # no progress display when stderr is not a terminal


# -- comparison, report and exit codes without QEMU ---------------------------------------


class _Liar(ModelBackend):
    """A fake daemon side: the model, except that commits fail."""

    name = "qemu"

    def commit(self, device: str, top: str, base: str) -> None:
        raise StepError(f"Could not open '{base}.qcow2': Input/output error")


def _liar(build: Build, driver: str) -> Backend:
    return _Liar(build, driver)


def _disagreeing() -> Conformance:
    chosen = load.select(["blockdev-commit-selinux"])[0]
    model = runner.run(chosen, RELEASED)
    fake = runner.run(chosen, RELEASED, backend=_liar)
    compared = compare_scenario(chosen, model, fake)
    return Conformance("qemu-4.1", "7.2.0", (compared,), (), ())


def test_a_disagreement_is_listed_with_both_sides() -> None:
    result = _disagreeing()
    item = result.scenarios[0]
    assert item.status == DISAGREE
    assert (item.model_outcome, item.qemu_outcome) == ("meets", "fails")
    commit = next(s for s in item.steps if s.step.startswith("block-commit"))
    assert not commit.agree
    assert "result: model ok, qemu error" in [step_difference(d) for d in commit.differences]
    # the daemon's run stopped at the commit: later steps are missing on its side
    assert item.steps[-1].qemu is None and not item.steps[-1].agree
    assert result.disagreements == 1

    text = render(Format.TEXT, "conformance", result, conformance_view, width=100)
    assert "blockdev-commit-selinux, step 2 (block-commit top=mid base=base):" in text
    assert "result: model ok, qemu error" in text
    assert "1 disagreements" in text
    markdown = render(Format.MARKDOWN, "conformance", result, conformance_view)
    fenced = False
    for line in markdown.splitlines():
        if line == "```":
            fenced = not fenced
        assert fenced or len(line) <= 76, line
        assert not line.startswith((">", "From ")) and line.isascii()
    assert "result: model ok, qemu error" in markdown


def test_a_backend_failure_is_not_a_step_outcome() -> None:
    chosen = load.select(["blockdev-commit-selinux"])[0]
    model = runner.run(chosen, RELEASED)
    failure = BackendFailure(chosen.name, "qemu-4.1", "native",
                             "backend failure: daemon died with signal 11 (SIGSEGV)", 11,
                             "block-commit mid into base")
    item = compare_scenario(chosen, model, failure)
    assert item.status == BACKEND_FAILURE and item.steps == ()
    assert item.reason == "backend failure: daemon died with signal 11 (SIGSEGV)"
    result = Conformance("qemu-4.1", "7.2.0", (item,), (), ())
    assert result.disagreements == 1
    text = render(Format.TEXT, "conformance", result, conformance_view, width=100)
    assert "daemon died with signal 11 (SIGSEGV)" in text


def _invoke(monkeypatch: pytest.MonkeyPatch, fake: Conformance, *args: str
            ) -> tuple[int, str, str]:
    monkeypatch.setattr(qemu_daemon, "find_qemu", lambda: None)

    def fake_run(scenarios: object, **kwargs: Mapping[str, object]) -> Conformance:
        return fake

    monkeypatch.setattr(conformance, "run", fake_run)
    result = CliRunner().invoke(app, ["conformance", *args])
    return result.exit_code, result.stdout, result.stderr


def test_fail_on_disagree_exits_1_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _disagreeing()
    code, out, _ = _invoke(monkeypatch, fake, "--fail-on", "disagree")
    assert code == 1
    assert "Disagreements" in out
    code, _, _ = _invoke(monkeypatch, fake)
    assert code == 0
    code, out, _ = _invoke(monkeypatch, fake, "-f", "json", "--fail-on", "disagree")
    assert code == 1 and json.loads(out)["summary"]["disagree"] == 1


def test_missing_qemu_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(app, ["conformance"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "qemu-storage-daemon" in lines[0]
    assert "Traceback" not in result.stderr


WRITERS = """
[scenario]
name = "writers"
summary = "a writable NBD export on a lone dynamic protocol node, before and after a relabel"
source = "test"
[setup]
frontend = "blockdev"
[[setup.images]]
name = "x"
writable = false
[[steps]]
do = "blockdev-add"
image = "x"
options = { "auto-read-only" = true }
[[steps]]
do = "attach-writer"
image = "x"
expect = "error"
[[steps]]
do = "relabel"
image = "x"
writable = true
[[steps]]
do = "attach-writer"
image = "x"
[[steps]]
do = "assert"
image = "x"
fd = "rw"
[[steps]]
do = "detach-writer"
image = "x"
[[steps]]
do = "assert"
image = "x"
fd = "ro"
[[steps]]
do = "detach-writer"
image = "x"
expect = "error"
error = "is not found"
[[steps]]
do = "probe"
query = "blockdev-add/arg-type/+file/$dynamic-auto-read-only"
"""

ERRORS = """
[scenario]
name = "errors"
summary = "hard-rw on an unwritable image, read-only nodes, duplicates, unknown options"
source = "test"
[setup]
frontend = "blockdev"
[[setup.images]]
name = "a"
writable = false
[[setup.images]]
name = "b"
writable = false
[[setup.images]]
name = "c"
[[steps]]
do = "blockdev-add"
image = "a"
expect = "error"
error = "Permission denied"
[[steps]]
do = "blockdev-add"
image = "a"
options = { "read-only" = true }
[[steps]]
do = "attach-writer"
image = "a"
expect = "error"
[[steps]]
do = "blockdev-add"
image = "b"
options = { "read-only" = false, "auto-read-only" = true }
[[steps]]
do = "blockdev-add"
image = "b"
options = { "auto-read-only" = true }
expect = "error"
error = "Duplicate nodes"
[[steps]]
do = "blockdev-add"
image = "c"
options = { "dynamic-read-only" = true }
expect = "error"
error = "is unexpected"
[[steps]]
do = "assert"
image = "a"
denials = 1
"""
