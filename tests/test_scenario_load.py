"""Scenario files: every key of format v1, and every problem with its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.errors import InputError
from optcompare.scenario import files, load

HEAD = """[scenario]
name = "t"
summary = "s"
source = "x"

[setup]
frontend = "blockdev"

[[setup.images]]
name = "base"
[[setup.images]]
name = "top"
"""


def parse(text: str) -> object:
    return load.parse(text, "t.toml")


def problem(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        load.parse(text, "t.toml")
    return info.value


def test_the_design_example_parses_with_defaults() -> None:
    scenario = load.parse(
        HEAD + '[[steps]]\ndo = "start"\n[[steps]]\ndo = "assert"\nimage = "base"\nfd = "ro"\n'
        "denials = 0\n", "t.toml")
    assert scenario.setup.driver == "file"
    assert scenario.setup.platform == "posix"
    assert scenario.setup.client == "native"
    assert scenario.setup.readonly is False
    # default label: read-only except the active layer
    assert [(i.name, i.writable) for i in scenario.setup.images] == [
        ("base", False), ("top", True)]
    assert scenario.steps[1].args == {"image": "base", "fd": "ro", "denials": 0}
    assert scenario.steps[1].line == 15


@pytest.mark.parametrize(
    ("steps", "line", "needle"),
    [
        ('[[steps]]\ndo = "jump"\n', 14, "key 'do': expected one of start"),
        ('[[steps]]\ndo = "relabel"\nimage = "base"\n', 14, "needs key 'writable'"),
        ('[[steps]]\ndo = "relabel"\nimage = "nope"\nwritable = true\n', 15, "no image 'nope'"),
        ('[[steps]]\ndo = "relabel"\nimage = "base"\nwritable = "yes"\n', 16,
         "key 'writable': expected true or false, got a string"),
        ('[[steps]]\ndo = "start"\ncolour = "red"\n', 15, "unknown key 'colour'"),
        ('[[steps]]\ndo = "start"\nexpect = "maybe"\n', 15, "key 'expect'"),
        ('[[steps]]\ndo = "probe"\nquery = "x"\nexpect = "ok"\n', 16, "true or false"),
        ('[[steps]]\ndo = "assert"\nimage = "base"\nfd = "half"\n', 16, "key 'fd'"),
        ('[[steps]]\ndo = "assert"\nimage = "base"\n', 14, "at least one of"),
        ('[[steps]]\ndo = "assert"\nimage = "base"\ndenials = -1\n', 16, "denials"),
        ('[[steps]]\ndo = "blockdev-add"\nimage = "base"\noptions = { "read-only" = 1 }\n', 16,
         "options.read-only"),
    ],
)
def test_step_problems_name_the_line_and_key(steps: str, line: int, needle: str) -> None:
    error = problem(HEAD + steps)
    assert error.line == line, str(error)
    assert needle in str(error)
    assert str(error).startswith(f"t.toml:{line}: ")


def test_toml_syntax_error_keeps_the_parser_line() -> None:
    error = problem(HEAD + "[[steps]]\ndo = start\n")
    assert error.line == 14
    assert "not valid TOML" in str(error)


def test_setup_problems() -> None:
    assert "key 'frontend'" in str(problem(HEAD.replace('"blockdev"', '"scsi"')))
    assert problem(HEAD.replace('"blockdev"', '"scsi"')).line == 7
    text = HEAD + 'driver = "floppy"\n[[steps]]\ndo = "start"\n'
    # driver after the images belongs to [[setup.images]] in TOML: unknown key there
    assert "unknown key 'driver'" in str(problem(text))
    text = HEAD.replace('frontend = "blockdev"', 'client = "libvirt-9"')
    text += '[[steps]]\ndo = "start"\n'
    assert "key 'client'" in str(problem(text))


def test_missing_parts() -> None:
    assert "missing table [scenario]" in str(problem('[setup]\n[[steps]]\ndo = "start"\n'))
    assert "no [[steps]]" in str(problem(HEAD))
    assert "kebab-case" in str(problem(HEAD.replace('name = "t"', 'name = "Bad Name"')
                                       + '[[steps]]\ndo = "start"\n'))


def test_check_command_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + '[[steps]]\ndo = "jump"\n[[steps]]\ndo = "relabel"\nimage = "x"\n'
                   "writable = true\n")
    good = tmp_path / "good.toml"
    good.write_text(HEAD + '[[steps]]\ndo = "start"\n')
    result = CliRunner().invoke(app, ["check", str(good), str(bad)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{bad}:14: key 'do': expected one of start, relabel, block-commit, block-stream, "
        "snapshot, guest-write, blockdev-add, attach-writer, detach-writer, probe, assert, "
        "got 'jump'",
        f"{bad}:17: key 'image': no image 'x' in [[setup.images]]",
    ]
    ok = CliRunner().invoke(app, ["check", str(good)])
    assert ok.exit_code == 0


def test_builtin_scenarios_all_load_and_have_sources() -> None:
    scenarios = load.load_all(files.builtin_files())
    assert len(scenarios) >= 10
    assert all(s.source for s in scenarios)
    assert len({s.name for s in scenarios}) == len(scenarios)


def test_a_broken_file_never_runs_half(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(HEAD + '[[steps]]\ndo = "start"\n[[steps]]\ndo = "jump"\n')
    result = CliRunner().invoke(app, ["run", str(bad), "-p", "qemu-4.1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1


def test_unknown_scenario_name() -> None:
    result = CliRunner().invoke(app, ["run", "no-such-scenario"])
    assert result.exit_code == 2
    assert "unknown scenario 'no-such-scenario'" in result.stderr


def test_scenarios_dir_must_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--scenarios", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_a_string_for_an_option_no_policy_makes_an_enum_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(HEAD + '[[steps]]\ndo = "blockdev-add"\nimage = "base"\n'
                    'options = { "read-only" = "on" }\n')
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:16: key 'options.read-only': "
                             "expected true or false, got 'on'\n")
