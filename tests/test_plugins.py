"""Third-party policies through entry points, and the explicit-reopen example.

Nothing is installed: each test writes ``*.dist-info`` directories (METADATA
and entry_points.txt) into a temporary directory put on ``sys.path``, which
is all ``importlib.metadata`` needs to find a distribution. The example
package is imported from ``examples/`` by path.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import sys
import textwrap
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.policies import registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "optcompare-explicit-reopen"
EXAMPLE_VERSION: str = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"][
    "version"
]
EXAMPLE_ORIGIN = f"optcompare-explicit-reopen {EXAMPLE_VERSION}"
BUILTIN_NAMES = [p.name for p in registry.BUILTIN]
PREFIX = "optcompare: warning: plugin 'broken-policy' (distribution optcompare-broken 0.1): "

# Modules the tests import from their temporary directories; forgotten after each test.
TEST_MODULES = ("optcompare_explicit_reopen", "optcompare_broken", "optcompare_other")

runner = CliRunner()

Install = Callable[..., None]


def _forget_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0].startswith(TEST_MODULES):
            del sys.modules[name]


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    registry.reset_plugins()
    _forget_modules()
    yield
    registry.reset_plugins()
    _forget_modules()
    importlib.invalidate_caches()


@pytest.fixture
def plugins_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest.py turns discovery off for the suite; these tests need it on."""
    monkeypatch.delenv(registry.ENV_NO_PLUGINS, raising=False)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path that holds test distributions."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


@pytest.fixture
def install(site: Path) -> Install:
    """Write a distribution (metadata, entry points, modules) into ``site``."""

    def write(
        name: str,
        version: str,
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
    ) -> None:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        lines = [f"{ep} = {value}" for ep, value in entry_points.items()]
        (info / "entry_points.txt").write_text(
            "[optcompare.policies]\n" + "\n".join(lines) + "\n"
        )
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()

    return write


@pytest.fixture
def example(install: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example package's entry point, its module imported from examples/."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    install(
        "optcompare-explicit-reopen",
        EXAMPLE_VERSION,
        {"explicit-reopen-6.1": "optcompare_explicit_reopen:POLICY"},
    )


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def listed(*options: str) -> dict[str, str]:
    """name -> origin, as ``optcompare policies`` shows them."""
    code, out, err = invoke(*options, "policies", "--format", "json")
    assert code == 0, err
    return {p["name"]: p["origin"] for p in json.loads(out)["policies"]}


# -- the example --------------------------------------------------------------

@pytest.mark.usefixtures("plugins_on", "example")
def test_policies_shows_the_example_with_its_distribution() -> None:
    origins = listed()
    assert list(origins)[: len(BUILTIN_NAMES)] == BUILTIN_NAMES
    assert origins["explicit-reopen-6.1"] == EXAMPLE_ORIGIN
    assert {origins[name] for name in BUILTIN_NAMES} == {"built-in"}
    code, out, err = invoke("policies", "--width", "200")
    assert code == 0
    assert err == ""
    assert EXAMPLE_ORIGIN in out


@pytest.mark.usefixtures("plugins_on", "example")
def test_core_scenario_meets_on_explicit_reopen_without_denials() -> None:
    code, out, err = invoke(
        "run", "blockdev-commit-selinux", "--policy", "explicit-reopen-6.1", "--format", "json"
    )
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["policy"] == "explicit-reopen-6.1"
    assert result["outcome"] == "meets", result["reason"]
    assert result["frontend"] == "blockdev"
    trace = result["trace"]
    # Backing storage nodes are opened read-only=on: nothing is denied at start.
    start = trace[0]
    assert start["state"]["base"] == {
        "label": "read-only", "fd": "ro", "ro": True, "mode": "hard-ro", "denials": 0,
    }
    commit = next(step for step in trace if step["step"].startswith("block-commit"))
    assert commit["actions"][:2] == ["reopen base read-only=off", "reopen base read-only=on"]
    assert all(step["state"]["base"]["denials"] == 0 for step in trace)
    assert trace[-1]["state"]["base"]["fd"] == "ro"


@pytest.mark.usefixtures("plugins_on", "example")
def test_the_example_takes_part_in_every_command() -> None:
    code, out, _ = invoke("table", "explicit-reopen-6.1", "--driver", "file", "--format", "json")
    assert code == 0
    rows = json.loads(out)["tables"][0]["rows"]
    modes = {row["mode"] for row in rows}
    assert modes == {"hard-ro", "hard-rw", "fallback-ro"}  # 3.1's semantics, nothing dynamic
    code, out, _ = invoke("drivers", "--policy", "explicit-reopen-6.1", "--format", "json")
    assert code == 0
    classes = {d["name"]: d["class"] for d in json.loads(out)["drivers"]}
    assert classes["file"] == "fallback"
    code, out, _ = invoke("run", "--format", "json")
    assert code == 0
    assert "explicit-reopen-6.1" in {r["policy"] for r in json.loads(out)["results"]}
    code, out, _ = invoke("skew", "--format", "json")
    assert code == 0
    cells = json.loads(out)["cells"]
    assert cells  # the example is a client row and a build column
    assert "explicit-reopen-6.1" in json.dumps(cells)


def test_example_client_probes_for_the_reopen_command() -> None:
    sys.path.insert(0, str(EXAMPLE))
    try:
        module = importlib.import_module("optcompare_explicit_reopen")
    finally:
        sys.path.remove(str(EXAMPLE))
    from optcompare.policies.base import Frontend
    from optcompare.schema.target import BuildTarget

    policy = module.POLICY
    assert policy.name == "explicit-reopen-6.1"
    assert policy.explicit_reopen and policy.has_reopen
    assert "Peter Krempa" in policy.source and "reopen given nodes" in policy.source
    assert policy.storage_options(True, False) == {"read-only": True}
    own = policy.build()
    found = policy.detect(BuildTarget(own), own.drivers)
    assert found.dynamic == frozenset()  # it claims nothing dynamic
    assert "x-blockdev-reopen" in found.evidence
    assert policy.pick_frontend(found, "file") is Frontend.BLOCKDEV
    old = registry.get("qemu-3.1").build()  # no x-blockdev-reopen before 4.0
    found = policy.detect(BuildTarget(old), old.drivers)
    assert policy.pick_frontend(found, "file") is Frontend.DRIVE


# -- switching discovery off --------------------------------------------------

@pytest.mark.usefixtures("plugins_on", "example")
def test_no_plugins_flag_turns_discovery_off_for_that_invocation() -> None:
    assert list(listed("--no-plugins")) == BUILTIN_NAMES
    code, _, err = invoke("--no-plugins", "run", "blockdev-commit-selinux",
                          "--policy", "explicit-reopen-6.1")
    assert code == 2
    assert err.count("\n") == 1
    assert "unknown policy 'explicit-reopen-6.1'" in err
    assert "plugins are off" in err
    assert "explicit-reopen-6.1" in listed()  # the next invocation discovers again


@pytest.mark.usefixtures("example")
def test_environment_variable_turns_discovery_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.ENV_NO_PLUGINS, "1")
    assert list(listed()) == BUILTIN_NAMES
    monkeypatch.setenv(registry.ENV_NO_PLUGINS, "0")
    assert "explicit-reopen-6.1" in listed()


@pytest.mark.usefixtures("plugins_on", "example")
def test_discovery_is_lazy(entry_point_calls: list[dict[str, Any]]) -> None:
    code, out, _ = invoke("--help")
    assert code == 0 and "--no-plugins" in out
    scenario = ROOT / "scenarios" / "blockdev-commit-selinux.toml"
    assert invoke("check", str(scenario))[0] == 0
    assert entry_point_calls == []  # neither --help nor a command without policies looks
    listed()
    listed()
    assert entry_point_calls == [{"group": registry.GROUP}]  # once per process


# -- broken plugins -------------------------------------------------------------

BROKEN: dict[str, tuple[str, str]] = {
    "import-error": (
        "optcompare_broken:POLICY",
        "import optcompare_does_not_exist\n",
    ),
    "raises-at-import": (
        "optcompare_broken:POLICY",
        "raise ImportError('needs libfoo')\n",
    ),
    "missing-attribute": (
        "optcompare_broken:POLICY",
        "OTHER = 1\n",
    ),
    "wrong-type": (
        "optcompare_broken:POLICY",
        "POLICY = {'name': 'broken-policy'}\n",
    ),
    "wrong-class": (
        "optcompare_broken:Thing",
        "class Thing:\n    pass\n",
    ),
    "factory-returns-wrong-type": (
        "optcompare_broken:make",
        "def make():\n    return 'explicit-reopen'\n",
    ),
    "factory-raises": (
        "optcompare_broken:make",
        "def make():\n    raise RuntimeError('no catalogue for 9.9')\n",
    ),
    "clash-with-builtin": (
        "optcompare_broken:POLICY",
        """\
        from dataclasses import replace
        from optcompare.policies.qemu_4_1 import POLICY as BASE
        POLICY = replace(BASE, title='a second 4.1')
        """,
    ),
    "unknown-release": (
        "optcompare_broken:POLICY",
        """\
        from optcompare.policies.base import Policy

        POLICY = Policy(name='broken-policy', title='t', source='s', release='9.9',
                        version='9.9.0')
        """,
    ),
    "fails-to-build": (
        "optcompare_broken:POLICY",
        """\
        from dataclasses import dataclass
        from optcompare.policies.base import Policy

        @dataclass(frozen=True)
        class Broken(Policy):
            def build(self, platform=None):
                raise RuntimeError('catalogue missing')

        POLICY = Broken(name='broken-policy', title='t', source='s', release='3.1',
                        version='3.1.0')
        """,
    ),
    "fails-to-resolve": (
        "optcompare_broken:POLICY",
        """\
        from dataclasses import dataclass
        from optcompare.policies.base import Policy

        @dataclass(frozen=True)
        class Broken(Policy):
            def defaults(self, frontend, written):
                return {}

        POLICY = Broken(name='broken-policy', title='t', source='s', release='3.1',
                        version='3.1.0')
        """,
    ),
}

EXPECTED: dict[str, str] = {
    "import-error": "ModuleNotFoundError: No module named 'optcompare_does_not_exist'",
    "raises-at-import": "ImportError: needs libfoo",
    "missing-attribute": "AttributeError:",
    "wrong-type": "wrong type: optcompare_broken:POLICY is a builtins.dict object",
    "wrong-class": "wrong type: optcompare_broken:Thing is the class optcompare_broken.Thing",
    "factory-returns-wrong-type": "wrong type: optcompare_broken:make() returned a builtins.str",
    "factory-raises": "calling optcompare_broken:make() failed: RuntimeError: no catalogue",
    "clash-with-builtin": "policy name 'qemu-4.1' clashes with a built-in policy",
    "unknown-release": "policy 'broken-policy' does not build: KeyError: '9.9'",
    "fails-to-build": "policy 'broken-policy' does not build: RuntimeError: catalogue missing",
    "fails-to-resolve": "policy 'broken-policy' does not build: KeyError: 'read-only'",
}


@pytest.mark.usefixtures("plugins_on", "example")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_plugin_is_one_line_and_the_rest_loads(case: str, install: Install) -> None:
    value, source = BROKEN[case]
    install("optcompare-broken", "0.1", {"broken-policy": value}, {"optcompare_broken": source})

    code, out, err = invoke("policies", "--format", "json")
    assert code == 0
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(PREFIX), err
    assert EXPECTED[case] in err
    assert "Traceback" not in err
    names = [p["name"] for p in json.loads(out)["policies"]]
    assert names == [*BUILTIN_NAMES, "explicit-reopen-6.1"]  # the rest is all there

    code, out, err = invoke("run", "blockdev-commit-selinux", "--format", "json")
    assert code == 0
    assert err == ""  # once per process
    outcomes = {r["policy"]: r["outcome"] for r in json.loads(out)["results"]}
    assert outcomes["explicit-reopen-6.1"] == "meets"
    assert "broken-policy" not in outcomes


COMMANDS: tuple[tuple[str, ...], ...] = (
    ("policies",),
    ("drivers", "--policy", "explicit-reopen-6.1"),
    ("table", "qemu-3.1", "explicit-reopen-6.1", "--driver", "file"),
    ("schema", "explicit-reopen-6.1"),
    ("probe", "--policy", "explicit-reopen-6.1"),
    ("probe", "x-blockdev-reopen", "--policy", "explicit-reopen-6.1"),
    ("visibility",),
    ("run", "blockdev-commit-selinux"),
    ("skew",),
    ("compat", "explicit-reopen-6.1"),
    ("report",),
    ("check", str(ROOT / "scenarios" / "blockdev-commit-selinux.toml")),
)


@pytest.mark.usefixtures("plugins_on", "example")
def test_every_command_keeps_working_next_to_a_broken_plugin(install: Install) -> None:
    install("optcompare-broken", "0.1", {"broken-policy": "optcompare_broken:POLICY"},
            {"optcompare_broken": BROKEN["import-error"][1]})
    warnings: list[str] = []
    for args in COMMANDS:
        code, out, err = invoke(*args)
        assert code == 0, (args, err)
        assert out, args
        assert "Traceback" not in err
        warnings += err.splitlines()
    assert warnings == [PREFIX + EXPECTED["import-error"]]  # exactly one line, once


@pytest.mark.usefixtures("plugins_on", "example")
def test_each_broken_plugin_gets_its_own_line(install: Install) -> None:
    for case in ("import-error", "wrong-type", "clash-with-builtin", "fails-to-build"):
        value, source = BROKEN[case]
        module = "optcompare_broken_" + case.replace("-", "_")
        install(f"optcompare-broken-{case}", "0.1",
                {"broken-policy": value.replace("optcompare_broken", module)}, {module: source})
    code, out, err = invoke("policies", "--format", "json")
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 4
    assert all(line.startswith("optcompare: warning: plugin 'broken-policy' (distribution "
                               "optcompare-broken-") for line in lines)
    assert [p["name"] for p in json.loads(out)["policies"]][-1] == "explicit-reopen-6.1"


@pytest.mark.usefixtures("plugins_on")
def test_a_name_clash_between_plugins_keeps_the_first(install: Install) -> None:
    policy = """\
        from dataclasses import replace
        from optcompare.policies.qemu_3_1 import POLICY as BASE
        POLICY = replace(BASE, name='hands-off', title='{title}')
        """
    install("optcompare-another", "2.0", {"hands-off": "optcompare_other:POLICY"},
            {"optcompare_other": policy.format(title="first")})
    install("optcompare-broken", "0.1", {"broken-policy": "optcompare_broken:POLICY"},
            {"optcompare_broken": policy.format(title="second")})
    code, out, err = invoke("policies", "--format", "json")
    assert code == 0
    assert err == (
        PREFIX + "policy name 'hands-off' clashes with the plugin 'hands-off' "
        "(distribution optcompare-another 2.0)\n"
    )
    chosen = {p["name"]: p for p in json.loads(out)["policies"]}
    assert chosen["hands-off"]["title"] == "first"
    assert chosen["hands-off"]["origin"] == "optcompare-another 2.0"


@pytest.mark.usefixtures("plugins_on")
def test_a_zero_argument_factory_is_a_plugin(install: Install) -> None:
    install("optcompare-other", "1.2.3", {"factory": "optcompare_other:make"},
            {"optcompare_other": """\
             from dataclasses import replace
             from optcompare.policies.qemu_3_1 import POLICY as BASE

             def make():
                 return replace(BASE, name='from-a-factory')
             """})
    assert listed()["from-a-factory"] == "optcompare-other 1.2.3"
    code, _, err = invoke("table", "from-a-factory", "--driver", "file")
    assert code == 0 and err == ""


@pytest.mark.usefixtures("plugins_on")
def test_an_unknown_policy_names_the_plugin_that_was_left_out(install: Install) -> None:
    install("optcompare-broken", "0.1", {"broken-policy": "optcompare_broken:POLICY"},
            {"optcompare_broken": BROKEN["import-error"][1]})
    code, _, err = invoke("drivers", "--policy", "broken-policy")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2  # the warning, then the error
    assert lines[0].startswith(PREFIX)
    assert lines[1].startswith("optcompare: error: unknown policy 'broken-policy'")
    assert "was left out: ModuleNotFoundError" in lines[1]


@pytest.mark.usefixtures("plugins_on", "example")
def test_conformance_includes_the_installed_plugin_client() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from qemu_required import require_qemu

    require_qemu()
    code, out, err = invoke(
        "conformance", "blockdev-commit-selinux", "snapshot-then-commit", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    names = [s["scenario"] for s in data["scenarios"]]
    assert "blockdev-commit-selinux [explicit-reopen-6.1]" in names
    plugin = next(s for s in data["scenarios"]
                  if s["scenario"] == "blockdev-commit-selinux [explicit-reopen-6.1]")
    assert plugin["status"] == "agree"
    assert data["summary"]["disagreements"] == 0


# -- plugins and the report's result cache ----------------------------------------

def _new_process() -> None:
    registry.reset_plugins()
    _forget_modules()
    importlib.invalidate_caches()


SMALL_REPORT = ("report", "-p", "qemu-3.1", "-p", "hands-off", "--scenarios",
                str(ROOT / "tests" / "golden" / "scenarios"), "-f", "json")


@pytest.mark.usefixtures("plugins_on", "cache_dir")
def test_a_stored_report_follows_the_plugin_source(install: Install, site: Path) -> None:
    policy = """\
        from dataclasses import replace
        from optcompare.policies.qemu_4_1 import POLICY as BASE
        POLICY = replace(BASE, name='hands-off', title='{title}')
        """
    install("optcompare-another", "2.0", {"hands-off": "optcompare_other:POLICY"},
            {"optcompare_other": policy.format(title="first title")})
    code, first, err = invoke(*SMALL_REPORT)
    assert code == 0, err
    assert "first title" in first
    _new_process()
    assert invoke(*SMALL_REPORT)[1] == first
    (site / "optcompare_other.py").write_text(textwrap.dedent(policy.format(title="second")))
    _new_process()
    code, second, err = invoke(*SMALL_REPORT)
    assert code == 0, err
    assert "second" in second and "first title" not in second


@pytest.mark.usefixtures("plugins_on", "example", "cache_dir")
def test_a_report_next_to_a_broken_plugin_is_never_stored(
    install: Install, report_analyses: list[list[str]]
) -> None:
    install("optcompare-broken", "0.1", {"broken-policy": "optcompare_broken:POLICY"},
            {"optcompare_broken": BROKEN["import-error"][1]})
    outputs = []
    for _ in range(2):
        _new_process()
        code, out, err = invoke("report", "-p", "explicit-reopen-6.1", "-f", "json")
        assert code == 0
        assert err == PREFIX + EXPECTED["import-error"] + "\n"  # warned on every run
        outputs.append(out)
    assert outputs[0] == outputs[1]
    assert len(report_analyses) == 2
