"""The default report's search, started before the command line is read: used only when
it is for the report's policies, the same result as in line, and nothing left running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import alive, wait_gone  # tests/ is on sys.path

from optcompare.analysis import report_beside, speculation
from optcompare.policies import registry

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform has no fork")


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A second core as far as the speculation asks, and no speculation left behind."""
    monkeypatch.setattr(speculation, "available", lambda: True)
    yield
    speculation.take(default=False)


@pytest.mark.parametrize(("args", "plugins"), [
    (["report"], True),
    (["report", "--no-cache", "--format", "json", "--scenarios", "x"], True),
    (["--no-plugins", "report", "--full"], False),
    (["report", "-p", "option-1"], None),
    (["report", "--policy=option-1"], None),
    (["report", "--help"], None),
    (["--help", "report"], None),
    (["table", "report"], None),
    ([], None),
])
def test_it_starts_for_the_report_on_the_default_policies_only(
        args: list[str], plugins: bool | None) -> None:
    assert speculation.default_report(args) is plugins


@pytest.mark.usefixtures("two_cores")
def test_the_report_adopts_it_and_gets_what_it_computes_in_line() -> None:
    speculation.speculate(["report"])
    assert speculation._pending is not None
    policies = registry.reported([])
    with report_beside.begin(policies, ahead=speculation.take()) as started:
        found = started.result()
    assert started.beside  # the child's search, for the same policies
    with report_beside.begin(policies, parallel=False) as in_line:
        assert found == in_line.result()
    assert speculation._pending is None  # adopted once


@pytest.mark.usefixtures("two_cores")
def test_a_search_for_other_policies_is_not_used() -> None:
    speculation.speculate(["report"])
    policies = registry.reported([])[:3]  # as if the guess were wrong
    with report_beside.begin(policies, ahead=speculation.take()) as started:
        found = started.result()
    assert not started.beside
    with report_beside.begin(policies, parallel=False) as in_line:
        assert found == in_line.result()


@pytest.mark.usefixtures("two_cores")
def test_one_nothing_adopts_is_stopped_at_once() -> None:
    speculation.speculate(["report"])
    pending = speculation._pending
    assert pending is not None
    pid = pending.child._pid
    assert pid is not None and alive(pid)
    speculation.take(default=False)
    assert not alive(pid)  # stopped and reaped
    assert speculation.take() is None


@pytest.mark.usefixtures("two_cores")
def test_the_report_on_named_policies_stops_it_before_its_own_search(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from optcompare.cli import app

    speculation.speculate(["report"])
    pending = speculation._pending
    assert pending is not None and pending.child._pid is not None
    pid = pending.child._pid
    seen: list[bool] = []
    real = report_beside.begin

    def noting(policies: Any, **options: Any) -> report_beside.Started:
        seen.append(alive(pid))
        return real(policies, **options)

    monkeypatch.setattr(report_beside, "begin", noting)
    done = CliRunner().invoke(app, ["report", "--no-cache", "-p", "option-1",
                                    "-p", "option-2"])
    assert done.exit_code == 0, done.output
    assert seen == [False]  # the guess was wrong: gone before the real search began


# -- through the console script ----------------------------------------------------

WATCHED = """
import sys
from optcompare.analysis import report_beside, speculation
real = report_beside.Started.result
def noting(self):
    found = real(self)
    print("beside" if self.beside else "in line", file=sys.stderr)
    return found
report_beside.Started.result = noting
begin = report_beside.begin
def adopting(policies, **options):
    if options.get("ahead") is not None:
        print("adopted", file=sys.stderr)
    return begin(policies, **options)
report_beside.begin = adopting
from optcompare import console
sys.argv = ["optcompare", *sys.argv[1:]]
console.main()
"""


def _console(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WATCHED, *args], capture_output=True,
                          text=True, timeout=120, env=env)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "OPTCOMPARE_CACHE_DIR": str(tmp_path / "cache"),
           "OPTCOMPARE_NO_PLUGINS": "1"}
    env.pop("OPTCOMPARE_NO_CACHE", None)  # the suite's default: here the store is used
    return env


def test_the_console_gives_the_same_report_with_the_speculation(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from optcompare.cli import app

    expected = CliRunner().invoke(app, ["report", "--no-cache", "--format", "json"])
    assert expected.exit_code == 0
    done = _console(["report", "--no-cache", "--format", "json"], _env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(expected.stdout)
    if speculation.available():
        assert done.stderr.splitlines()[-2:] == ["adopted", "beside"]


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="no /proc")
def test_no_speculation_outlives_the_process(tmp_path: Path) -> None:
    """A stored report never adopts it: it is stopped when the process ends; a parent
    killed outright leaves a child that ends by itself."""
    scenarios = tmp_path / "scenarios-marker-9f2c"
    scenarios.mkdir()
    golden = Path(__file__).parent / "golden" / "scenarios"
    (scenarios / "one.toml").write_text((golden / "readonly-disk-guest-write.toml").read_text())
    args = ["report", "--scenarios", str(scenarios), "--format", "json"]
    env = _env(tmp_path)
    first = _console(args, env)
    assert first.returncode == 0, first.stderr
    again = _console(args, env)  # served from the store: nothing adopts the search
    assert again.returncode == 0 and again.stdout == first.stdout
    if speculation.available():
        assert "adopted" in first.stderr
    assert "adopted" not in again.stderr and "beside" not in again.stderr
    assert not wait_gone(scenarios.name, 1.0)

    killed = subprocess.Popen([sys.executable, "-c", WATCHED, *args, "--no-cache"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(0.3)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not wait_gone(scenarios.name, 5.0)


def test_starting_it_imports_only_what_forking_takes() -> None:
    """The console imports it before typer, for every report: it may not bring the
    analyses, dataclasses or pickle (the child imports those, the parent only if it
    analyses)."""
    probe = ("import sys; import optcompare.analysis.speculation; "
             "print(sorted(m for m in ('pickle', 'dataclasses', 'optcompare.frozen', "
             "'optcompare.policies.registry', 'optcompare.analysis.report_beside') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]"
