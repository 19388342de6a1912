"""A command pays only for what it uses (issue 13, point 9).

``optcompare table option-3`` is the yardstick of scripts/bench.py: it
names a built-in policy, so it needs no plugin discovery (no plugin can take
a built-in's name), and it prints colourless text, which needs no rich
layout. These tests pin both, so that a change that brings the cost back
shows here and not only in the benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.policies import discovery, registry

runner = CliRunner()

LOADED = """
import sys
from optcompare.cli import main
sys.argv = ["optcompare", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
""".replace("import sys", "import json, sys", 1)


def loaded_modules(*args: str, path: str | None = None) -> tuple[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != discovery.ENV_NO_PLUGINS}
    if path is not None:
        env["PYTHONPATH"] = path
    proc = subprocess.run([sys.executable, "-c", LOADED, *args], capture_output=True,
                          text=True, timeout=60, env=env)
    return proc.stdout, json.loads(proc.stderr.strip().splitlines()[-1])


def test_table_of_a_built_in_loads_neither_rich_layout_nor_entry_points() -> None:
    out, modules = loaded_modules("table", "option-3")
    assert out.startswith("Flag truth tables\n")
    assert [m for m in modules if m.startswith("rich.")] == []
    assert "importlib.metadata" not in modules
    defining = {f"optcompare.policies.{m}" for m in registry.BUILTIN_MODULES.values()}
    assert [m for m in modules if m in defining] == ["optcompare.policies.option_3"]


def test_each_built_in_is_where_the_registry_says_and_in_its_order() -> None:
    import importlib

    for name, module in registry.BUILTIN_MODULES.items():
        policy = importlib.import_module(f"optcompare.policies.{module}").POLICY
        assert policy.name == name
        assert registry.get(name) is policy
    assert [p.name for p in registry.BUILTIN] == list(registry.BUILTIN_MODULES)
    assert registry.BUILTIN is registry.builtins()


def test_colour_and_plugins_still_load_them_when_asked(tmp_path: Path) -> None:
    import importlib.metadata

    # Every policy, plugins included: importlib.metadata lists them where one is declared.
    declared = bool(importlib.metadata.entry_points(group=discovery.GROUP))
    _, modules = loaded_modules("table")
    assert ("importlib.metadata" in modules) == declared
    info = tmp_path / "elsewhere-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: elsewhere\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{discovery.GROUP}]\nx = elsewhere:POLICY\n")
    _, modules = loaded_modules("table", path=str(tmp_path))
    assert "importlib.metadata" in modules


@pytest.fixture
def plugins_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(discovery.ENV_NO_PLUGINS, raising=False)
    registry.reset_plugins()
    yield
    registry.reset_plugins()


@pytest.mark.usefixtures("plugins_on")
def test_a_built_in_name_is_found_without_discovery(
    entry_point_calls: list[dict[str, Any]],
) -> None:
    result = runner.invoke(app, ["table", "option-3", "qemu-4.1", "-d", "file", "-f", "json"])
    assert result.exit_code == 0
    assert entry_point_calls == []
    assert registry.get("qemu-3.1") is registry.BUILTIN[1]


@pytest.mark.usefixtures("plugins_on")
def test_a_name_that_is_not_built_in_asks_the_plugins(listings: list[None]) -> None:
    result = runner.invoke(app, ["table", "no-such-policy"])
    assert result.exit_code == 2
    assert "unknown policy 'no-such-policy'" in result.stderr
    assert len(listings) == 1


AT_START = """
import json, sys
from optcompare import parallel
seen = []
real = parallel.Beside.__init__
def noting(self, *args, **kwargs):
    seen.append(sorted(m for m in sys.modules if m.startswith("optcompare.")))
    real(self, *args, **kwargs)
parallel.Beside.__init__ = noting
from optcompare.cli import main
sys.argv = ["optcompare", "--no-plugins", "report", "--no-cache", "--format", "json"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(seen), file=sys.stderr)
"""


def test_the_report_starts_its_search_before_the_other_analyses_are_imported() -> None:
    """The search runs beside the import of the other analyses and the reading of the
    scenario files, not after them."""
    proc = subprocess.run([sys.executable, "-c", AT_START], capture_output=True, text=True,
                          timeout=120)
    assert json.loads(proc.stdout)["search"]["depth"] == 3
    started = json.loads(proc.stderr.strip().splitlines()[-1])
    assert len(started) == 1
    later = ("optcompare.analysis.report", "optcompare.analysis.compat",
             "optcompare.analysis.visibility", "optcompare.analysis.report_model",
             "optcompare.scenario.load")
    assert [m for m in later if m in started[0]] == []
    assert "optcompare.analysis.report_beside" in started[0]


AT_WAIT = """
import json, sys
from optcompare import parallel
seen = []
real = parallel.Beside.from_child
def noting(self):
    seen.append(sorted(m for m in sys.modules if m.startswith("optcompare.")))
    return real(self)
parallel.Beside.from_child = noting
from optcompare.cli import main
sys.argv = ["optcompare", "--no-plugins", "report", "--no-cache", "--format", sys.argv[1]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(seen), file=sys.stderr)
"""


@pytest.mark.parametrize(("fmt", "renderer"), [("markdown", "optcompare.render.markdown"),
                                               ("text", "optcompare.render.text")])
def test_the_report_imports_its_renderer_before_it_waits_for_the_search(
        fmt: str, renderer: str) -> None:
    """Whatever needs no result of the search is done while it runs, rendering's
    imports included, so that little is left once it is in."""
    proc = subprocess.run([sys.executable, "-c", AT_WAIT, fmt], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "Decision" in proc.stdout
    waits = json.loads(proc.stderr.strip().splitlines()[-1])
    assert waits, "the report never waited for the search"
    assert renderer in waits[0] and "optcompare.render.report_views" in waits[0]
