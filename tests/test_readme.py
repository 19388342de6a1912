"""Every figure and example in the README is computed or checked here, so that
none can go stale unnoticed (issue 13, point 8). The conformance figures
are checked against a live run in tests/test_conformance.py."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from optcompare import cache, inputs
from optcompare.analysis import explore, report
from optcompare.backends.qemu import process
from optcompare.cli import app
from optcompare.commands import explore as explore_command
from optcompare.render import markdown, slides, svgtext

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PROSE = " ".join(README.split())  # figures are found across line breaks
runner = CliRunner()


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench"]
    return module


def figure(pattern: str) -> tuple[str, ...]:
    """The groups of the one place in the README's prose that ``pattern`` matches."""
    found = re.findall(pattern, PROSE)
    assert len(found) == 1, (pattern, found)
    return found[0] if isinstance(found[0], tuple) else (found[0],)


def test_the_input_limits_are_the_code_s() -> None:
    mib_scenario, mib_schema = figure(r"at most (\d+) MiB per scenario file and (\d+) MiB per "
                                      r"schema reply")
    assert int(mib_scenario) << 20 == inputs.SCENARIO_LIMIT
    assert int(mib_schema) << 20 == inputs.SCHEMA_LIMIT
    (accept,) = figure(r"An accept file .* is read the same way, at most (\d+) MiB")
    assert int(accept) << 20 == inputs.ACCEPT_LIMIT
    (levels,) = figure(r"nesting at most (\d+) levels")
    assert int(levels) == inputs.MAX_NESTING
    (bits,) = figure(r"integers within (\d+) bits")
    assert (1 << int(bits)) - 1 == inputs.INT_MAX
    assert (1 << (int(bits) - 1)) - 1 == inputs.TOML_INT_MAX


def test_the_cache_keeps_what_the_readme_says() -> None:
    (kept,) = figure(r"The (\d+) most recently used are kept")
    assert int(kept) == cache.MAX_ENTRIES


def test_the_scaling_sizes_are_the_benchmark_s() -> None:
    sizes = figure(r"\((\d+), (\d+) and (\d+) synthetic policies x (\d+) drivers x (\d+) "
                   r"combinations x (\d+) scenarios")
    script = bench()
    assert tuple(int(n) for n in sizes) == (
        *script.SIZES, script.SCALE_DRIVERS, 3 ** (2 + script.EXTRA_OPTIONS),
        script.SCALE_SCENARIOS,
    )


def test_the_explore_defaults_are_the_search_s() -> None:
    depth, images = figure(r"up to `--depth` steps \(default (\d+)\) .* to `--images` images "
                           r"\(default (\d+)\)")
    assert (int(depth), int(images)) == (explore.DEFAULT_DEPTH, explore.DEFAULT_IMAGES)
    (searched,) = figure(r"the same search at depth (\d+) on the report's policies")
    assert int(searched) == report.SEARCH_DEPTH
    (steps,) = figure(r"at most `--max-steps` steps in all \(default (\d+)\)")
    assert int(steps) == explore_command.MAX_STEPS


def test_the_meeting_view_figures_are_the_renderer_s() -> None:
    width, height = figure(r"one 16:9 slide \((\d+) x (\d+)\)")
    assert (int(width), int(height)) == (slides.WIDTH, slides.HEIGHT)
    assert int(width) * 9 == int(height) * 16
    (size,) = figure(r"its text is at least (\d+) px")
    assert int(size) == svgtext.MIN_SIZE
    (columns,) = figure(r"every line within (\d+) columns, fenced blocks included")
    assert int(columns) == markdown.WIDTH


def test_the_unprivileged_uid_and_the_typer_pin() -> None:
    (uid,) = figure(r"runs as uid (\d+) when the tests run as root")
    assert int(uid) == process.UNPRIVILEGED_UID
    (pin,) = figure(r"typer is pinned below (\d+\.\d+)")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.startswith("typer") and f"<{pin}" in d for d in project["dependencies"])


def block_after(lead: str) -> list[str]:
    """The fenced block that follows ``lead`` in the README."""
    start = README.index(lead)
    opening = README.index("```\n", start) + 4
    return README[opening:README.index("```", opening)].splitlines()


def contiguous(part: list[str], whole: list[str]) -> bool:
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def test_the_table_example_is_what_the_command_prints() -> None:
    lead = "`optcompare table qemu-4.1 -d file -f markdown --width 100` prints,"
    result = runner.invoke(app, ["table", "qemu-4.1", "-d", "file", "-f", "markdown",
                                 "--width", "100"])
    assert result.exit_code == 0
    shown = block_after(lead)
    assert shown[0].startswith("| read-only") and shown[-1].startswith("[1] ")
    assert contiguous(shown, result.stdout.splitlines())


def test_the_trace_example_is_what_run_prints() -> None:
    lead = "degraded the base at start:"
    result = runner.invoke(app, ["run", "blockdev-commit-selinux", "--policy", "qemu-3.1",
                                 "--width", "200"])
    assert result.exit_code == 0
    printed = result.stdout.splitlines()
    position = 0
    for line in block_after(lead):
        if line.strip() == "...":
            continue
        assert line in printed[position:], line
        position = printed.index(line, position) + 1
    assert position > 0


def fresh_machine_commands() -> list[str]:
    section = README[README.index("## On a fresh machine"):README.index("## A short tour")]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_the_fresh_machine_commands_start_in_a_venv_and_ci_runs_the_test_command() -> None:
    commands = fresh_machine_commands()
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate",
        "python3 -m pip install . && optcompare report",
        "bash scripts/test.sh",
    ]
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci == [f"exec {commands[-1]}"]


@pytest.mark.parametrize("command", ["optcompare probe --schema qemu-4.0.0",
                                     "optcompare probe --schema list"])
def test_tour_commands_that_need_no_qemu_run(command: str) -> None:
    assert command in README
    result = runner.invoke(app, command.split()[1:])
    assert result.exit_code == 0, result.stderr


def test_the_differential_sizes_are_the_search_s() -> None:
    from dataclasses import replace

    from optcompare.analysis import differential
    from optcompare.analysis.explore import Context
    from optcompare.backends.qemu.backend import released_policy

    depth, images, planned, steps = figure(
        r"`--depth (\d+) --images (\d+)` \((\d+) workflows per frontend, (\d+) steps each\)")
    for frontend in differential.FRONTENDS:
        bounds = replace(differential.BOUNDS, depth=int(depth), images=int(images),
                         frontend=frontend)
        found = differential.workflows(Context(), released_policy(), bounds)
        assert (len(found), sum(len(w.steps) for w in found)) == (int(planned), int(steps))
