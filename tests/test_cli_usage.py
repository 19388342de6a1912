"""Small things a user hits (issue 13, point 8): --version, the formats each
command's help offers, duplicate scenario names in check, an empty
--scenarios, a policy named twice."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import optcompare
from optcompare import cli
from optcompare.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def console(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "optcompare", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def assert_one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("optcompare: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_version() -> None:
    expected = f"optcompare {version('optcompare')}\n"
    assert optcompare.__version__ == version("optcompare")
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, expected)
    proc = console("--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected, "")


def help_of(command: str) -> str:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_help_lists_only_the_formats_the_command_accepts(command: str) -> None:
    text = help_of(command)
    if command == "report":
        assert "--format [text|markdown|json|html|svg]" in text
    else:
        assert "--format [text|markdown|json]" in text
        assert "html" not in text and "svg" not in text
        result = runner.invoke(app, [command, "--format", "html"])
        assert result.exit_code == 2


def test_a_format_a_command_does_not_take_is_one_line_naming_what_it_takes() -> None:
    assert_one_line(console("table", "-f", "svg"), "'svg' is not one of text, markdown, json")
    assert runner.invoke(app, ["table", "option-3", "-d", "file", "-f", "JSON"]).exit_code == 0


def test_check_reports_two_files_with_the_same_scenario_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    for path in (first, second):
        shutil.copy(SCENARIOS / "windows-commit.toml", path)
    result = runner.invoke(app, ["check", str(first), str(second), "-f", "json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{second}:2: scenario name 'windows-commit' is also used by {first}"
    ]
    files = json.loads(result.stdout)["files"]
    assert [(f["file"], len(f["problems"])) for f in files] == [(str(first), 0), (str(second), 1)]


def test_check_of_one_file_named_twice_is_no_clash(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    shutil.copy(SCENARIOS / "windows-commit.toml", path)
    result = runner.invoke(app, ["check", str(path), str(path)])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("command", [["run"], ["skew"], ["report"], ["compat", "qemu-4.1"],
                                     ["conformance"]], ids=lambda c: c[0])
def test_an_empty_scenarios_directory_name_is_an_error(tmp_path: Path, command: list[str]) -> None:
    shutil.copy(SCENARIOS / "windows-commit.toml", tmp_path / "here.toml")  # '' is not '.'
    assert_one_line(console(*command, "--scenarios", "", cwd=tmp_path),
                    "'--scenarios'", "an empty directory name")


def test_a_policy_named_twice_is_run_once() -> None:
    result = runner.invoke(app, ["run", "blockdev-commit-selinux", "-p", "qemu-3.1", "-p",
                                 "qemu-4.1", "-p", "qemu-3.1", "-f", "json"])
    assert result.exit_code == 0
    assert [r["policy"] for r in json.loads(result.stdout)["results"]] == ["qemu-3.1", "qemu-4.1"]
    result = runner.invoke(app, ["table", "qemu-3.1", "qemu-3.1", "-d", "file", "-f", "json"])
    assert len(json.loads(result.stdout)["tables"]) == 1


def test_a_policy_named_twice_is_one_report_column(report_analyses: list[list[str]]) -> None:
    args = ["report", "-p", "qemu-3.1", "-p", "qemu-4.1", "-p", "qemu-3.1", "-f", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert report_analyses == [["qemu-3.1", "qemu-4.1"]]
    data: dict[str, Any] = json.loads(result.stdout)
    once = runner.invoke(app, ["report", "-p", "qemu-3.1", "-p", "qemu-4.1", "-f", "json"])
    assert data == json.loads(once.stdout)


def test_check_counts_problems_in_words(tmp_path: Path) -> None:
    first, second, third = (tmp_path / f"{n}.toml" for n in "abc")
    for path in (first, second, third):
        shutil.copy(SCENARIOS / "windows-commit.toml", path)
    result = runner.invoke(app, ["check", str(first), str(second), str(third),
                                 "--width", "100"])
    assert result.exit_code == 2
    rows = [line for line in result.stdout.splitlines() if ".toml" in line]
    assert ["ok" in rows[0], "ERR: 1 problem " in rows[1], "ERR: 1 problem " in rows[2]] == \
        [True, True, True], rows
