"""Third-party policies through entry points, and the read-only-mode example.

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
from optcompare.policies import discovery, registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "optcompare-read-only-mode"
EXAMPLE_VERSION: str = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"][
    "version"
]
EXAMPLE_ORIGIN = f"optcompare-read-only-mode {EXAMPLE_VERSION}"
BUILTIN_NAMES = [p.name for p in registry.BUILTIN]
PREFIX = "optcompare: warning: plugin 'broken-policy' (distribution optcompare-broken 0.1): "

# Modules the tests import from their temporary directories; forgotten after each test.
TEST_MODULES = ("optcompare_read_only_mode", "optcompare_broken", "optcompare_other")

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
        "optcompare-read-only-mode",
        EXAMPLE_VERSION,
        {"read-only-mode": "optcompare_read_only_mode:POLICY"},
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
    assert origins["read-only-mode"] == EXAMPLE_ORIGIN
    assert {origins[name] for name in BUILTIN_NAMES} == {"built-in"}
    code, out, err = invoke("policies", "--width", "200")
    assert code == 0
    assert err == ""
    assert EXAMPLE_ORIGIN in out


@pytest.mark.usefixtures("plugins_on", "example")
def test_core_scenario_meets_on_the_enum_without_denials() -> None:
    code, out, err = invoke(
        "run", "blockdev-commit-selinux", "--policy", "read-only-mode", "--format", "json"
    )
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["policy"] == "read-only-mode"
    assert result["outcome"] == "meets", result["reason"]
    assert result["frontend"] == "blockdev"
    trace = result["trace"]
    # Backing storage nodes are opened read-only-mode=dynamic: read-only at start.
    assert trace[0]["state"]["base"] == {
        "label": "read-only", "fd": "ro", "ro": False, "mode": "dynamic-ro", "denials": 0,
    }
    assert all(step["state"]["base"]["denials"] == 0 for step in trace)
    assert trace[-1]["state"]["base"]["fd"] == "ro"


def _file_table() -> list[dict[str, Any]]:
    code, out, err = invoke("table", "read-only-mode", "--driver", "file", "--format", "json")
    assert code == 0, err
    (table,) = json.loads(out)["tables"]
    assert table["options"] == ["read-only", "auto-read-only", "read-only-mode"]
    rows: list[dict[str, Any]] = table["rows"]
    return rows


@pytest.mark.usefixtures("plugins_on", "example")
def test_the_enum_truth_table_of_file() -> None:
    rows = _file_table()
    assert len(rows) == 3 * 3 * 4  # two booleans, and the enum's off, on, dynamic
    by_mode: dict[str, set[str]] = {}
    for row in rows:
        given = ",".join(f"{k}={v if isinstance(v, str) else ('on' if v else 'off')}"
                         for k, v in row["options"].items() if v is not None)
        by_mode.setdefault(row["mode"], set()).add(given)
    assert {"read-only-mode=off", "read-only-mode=on", "read-only-mode=dynamic"} <= (
        by_mode["hard-rw"] | by_mode["hard-ro"] | by_mode["dynamic-ro"])
    assert "read-only-mode=dynamic" in by_mode["dynamic-ro"]
    assert "read-only=off,auto-read-only=on" in by_mode["dynamic-ro"]  # 4.0's, unchanged
    assert "read-only=on,read-only-mode=on" in by_mode["error"]  # never mixed
    assert not any("fallback" in text for texts in by_mode.values() for text in texts)
    valid = [r for r in rows if r["mode"] != "error"]
    assert len(valid) == 9 + 3
    enum_rows = [r for r in valid if r["options"]["read-only-mode"] is not None]
    assert all(r["effective"] == {"read-only-mode": r["options"]["read-only-mode"]}
               for r in enum_rows)  # the booleans stay unset
    code, out, err = invoke("table", "read-only-mode", "--driver", "file")
    assert code == 0, err
    assert "(dynamic)" not in out and "dynamic" in out
    assert "-: not given, and left unset by the other options" in " ".join(out.split())
    assert max(len(line) for line in out.splitlines()) <= 160


@pytest.mark.usefixtures("plugins_on", "example")
def test_each_drivers_enum_lists_what_it_implements() -> None:
    code, out, err = invoke("schema", "read-only-mode", "--format", "json")
    assert code == 0, err
    entries = {e["name"]: e for e in json.loads(out)["return"]}
    union = entries[entries["blockdev-add"]["arg-type"]]
    cases = {v["case"]: entries[v["type"]] for v in union["variants"]}

    def values(driver: str) -> list[str]:
        member = next(m for m in cases[driver]["members"] if m["name"] == "read-only-mode")
        entry = entries[member["type"]]
        assert entry["meta-type"] == "enum"
        found: list[str] = entry["values"]
        return found

    assert values("file") == values("host_device") == ["off", "on", "dynamic"]
    assert values("host_cdrom") == values("qcow2") == ["off", "on"]
    assert values("nbd") == values("bochs") == ["off", "on", "fallback"]
    for query, held in (("blockdev-add/arg-type/+file/*read-only-mode/^dynamic", True),
                        ("blockdev-add/arg-type/+host_cdrom/*read-only-mode/^dynamic", False),
                        ("blockdev-add/arg-type/+nbd/*read-only-mode/^fallback", True),
                        ("blockdev-add/arg-type/+nbd/*read-only-mode/^dynamic", False)):
        code, out, err = invoke("probe", query, "--policy", "read-only-mode", "--format", "json")
        assert code == 0, err
        assert json.loads(out)["queries"] == [{"query": query, "holds": held}]


@pytest.mark.usefixtures("plugins_on", "example")
def test_the_example_takes_part_in_every_command() -> None:
    code, out, _ = invoke("drivers", "--policy", "read-only-mode", "--format", "json")
    assert code == 0
    structs = {d["name"]: d["struct"] for d in json.loads(out)["drivers"]}
    # One options struct per set of choices: host_cdrom leaves file's.
    assert structs["file"] == structs["host_device"] == "BlockdevOptionsFileDynamic"
    assert structs["host_cdrom"] == "BlockdevOptionsFile"
    code, out, _ = invoke("run", "--format", "json")
    assert code == 0
    assert "read-only-mode" in {r["policy"] for r in json.loads(out)["results"]}
    code, out, _ = invoke("skew", "--format", "json")
    assert code == 0
    cells = json.loads(out)["cells"]
    assert cells  # the example is a client row and a build column
    assert "read-only-mode" in json.dumps(cells)


def _example() -> Any:
    sys.path.insert(0, str(EXAMPLE))
    try:
        return importlib.import_module("optcompare_read_only_mode")
    finally:
        sys.path.remove(str(EXAMPLE))


def test_example_client_probes_dynamic_in_each_drivers_enum() -> None:
    from optcompare.policies.base import Frontend, Role
    from optcompare.schema.target import BuildTarget

    policy = _example().POLICY
    assert policy.name == "read-only-mode" and policy.role is Role.PROPOSAL
    assert policy.release == "4.0"
    assert "Markus" in policy.source and "four choices" in policy.source
    assert policy.storage_options(True, False) == {"read-only-mode": "dynamic"}
    assert policy.storage_options(False, True) == {"read-only-mode": "on"}
    own = policy.build()
    found = policy.detect(BuildTarget(own), own.drivers)
    assert found.dynamic == frozenset({"file", "host_device"})  # host_cdrom is not
    assert "^dynamic" in found.evidence
    assert policy.pick_frontend(found, "file") is Frontend.BLOCKDEV
    assert policy.pick_frontend(found, "nbd") is Frontend.DRIVE
    old = registry.get("qemu-4.0").build()  # no read-only-mode: nothing found, -drive
    found = policy.detect(BuildTarget(old), old.drivers)
    assert found.dynamic == frozenset()
    assert policy.pick_frontend(found, "file") is Frontend.DRIVE


@pytest.mark.usefixtures("plugins_on", "example")
def test_the_enum_keeps_the_booleans_for_4_0s_clients() -> None:
    """Computed by compat, not asserted: nothing breaks or changes silently."""
    code, out, err = invoke("compat", "read-only-mode", "--against", "qemu-4.0",
                            "--fail-on", "silent", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["counts"]["break"] == 0 and data["counts"]["silent"] == 0
    assert data["counts"]["info"] > 0  # read-only-mode is newly accepted
    code, out, err = invoke("compat", "option-3", "--against", "qemu-4.0", "--fail-on",
                            "break")
    assert code == 0, err  # the same ground as option-3


def test_dynamic_in_a_drivers_enum_announces_the_change() -> None:
    """Fairness: the enum's value says dynamic where it is; compat counts it announced."""
    from optcompare.analysis import compat
    from optcompare.schema.conclude import build_adverts

    policy = _example().POLICY
    adverts = build_adverts(policy.build())
    assert {(a.driver, a.shared_with) for a in adverts} == {
        ("file", ("host_device",)), ("host_device", ("file",))}  # one struct, one enum
    assert {a.query for a in adverts} == {
        f"blockdev-add/arg-type/+{d}/*read-only-mode/^dynamic" for d in ("file", "host_device")}
    report = compat.compare(policy, [registry.get("qemu-3.1")], [])
    silent = {d for f in report.findings if f.level is compat.Level.SILENT for d in f.drivers}
    assert silent == {"host_cdrom"}  # file and host_device: announced, not silent


@pytest.mark.usefixtures("plugins_on", "example")
def test_forced_blockdev_on_a_driver_without_dynamic_is_refused_at_start() -> None:
    """The limit its README names: storage_options() is not told the driver."""
    code, out, err = invoke("run", "nbd-chain-commit", "-p", "read-only-mode", "--format",
                            "json")
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert (result["outcome"], result["step"]) == ("fails", 0)
    assert result["reason"].endswith("Invalid parameter 'dynamic'")


ENUM_STEP = """[scenario]
name = "enum-commit"
summary = "the core commit, storage nodes opened with the enum"
source = "a test"

[setup]
frontend = "blockdev"

[[setup.images]]
name = "base"

[[steps]]
do = "blockdev-add"
image = "base"
options = {{ "read-only-mode" = {value} }}
"""


@pytest.mark.usefixtures("plugins_on", "example")
def test_a_scenario_writes_an_enum_value_as_a_toml_string(tmp_path: Path) -> None:
    path = tmp_path / "enum-commit.toml"
    path.write_text(ENUM_STEP.format(value='"dynamic"'))
    code, _, err = invoke("check", str(path))
    assert code == 0, err
    code, out, err = invoke("run", str(path), "-p", "read-only-mode", "-p", "qemu-4.0",
                            "-p", "option-3", "--format", "json")
    assert code == 0, err
    results = {r["policy"]: r for r in json.loads(out)["results"]}
    assert results["read-only-mode"]["outcome"] == "meets", results["read-only-mode"]
    for other in ("qemu-4.0", "option-3"):  # no such option there
        assert results[other]["outcome"] == "fails"
        assert "Parameter 'read-only-mode' is unexpected" in results[other]["reason"]


@pytest.mark.usefixtures("plugins_on", "example")
@pytest.mark.parametrize(("value", "got"), [('"sometimes"', "'sometimes'"), ("3", "3")])
def test_a_bad_enum_value_is_one_line(tmp_path: Path, value: str, got: str) -> None:
    path = tmp_path / "enum-commit.toml"
    path.write_text(ENUM_STEP.format(value=value))
    for command in (("check", str(path)), ("run", str(path), "-p", "read-only-mode")):
        code, out, err = invoke(*command)
        assert code == 2
        assert command[0] == "check" or out == ""  # check's table names the file too
        assert err.count("\n") == 1
        assert err.endswith(f"{path}:15: key 'options.read-only-mode': expected one of off, on, "
                       f"dynamic, fallback, got {got}\n"), err


def _reply_rules(text: str) -> list[str]:
    """The mailing-list rules of issue 15: ASCII, 76 columns everywhere, nothing quoted."""
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        assert line.isascii(), number
        assert len(line) <= 76, f"line {number} is {len(line)} columns"
        assert not line.startswith(">") and not line.startswith("From "), number
    return lines


@pytest.mark.usefixtures("plugins_on", "example")
def test_the_report_decides_with_the_enum_installed() -> None:
    rows = _file_table()
    valid = [r for r in rows if r["mode"] != "error"]
    for fmt in ("markdown", "text"):
        code, out, err = invoke("report", "-f", fmt)
        assert code == 0, err
        lines = _reply_rules(out)
        assert len(lines) <= 160, (fmt, len(lines))
        opening = " ".join(lines[: lines.index("## Verdict matrix")]) if fmt == "markdown" \
            else " ".join(lines[:40])
        assert "read-only-mode" in opening
        if fmt == "markdown":  # and its file rows against qemu-4.0 in the evidence
            evidence = " ".join(lines[lines.index("## Evidence"):lines.index("---")])
            assert "read-only-mode" in evidence
        # The cost the reader compares: option-3's three bools, the enum's figure.
        words = " ".join(out.split())
        assert "9 of 27 combinations of file's 3 options rejected" in words
        assert (f"{len(rows) - len(valid)} of {len(rows)} combinations of file's 3 options "
                "rejected") in words
        code, out, err = invoke("report", "--full", "-f", fmt)
        assert code == 0, err
        _reply_rules(out)
        assert "read-only-mode: file, host_device" in out  # its truth table
        assert "left unset by the other options" in " ".join(out.split())

    code, out, err = invoke("report", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    (row,) = [r for r in data["matrix"] if r["policy"] == "read-only-mode"]
    cells = {c["criterion"]: c for c in row["cells"]}
    cost = cells["cost"]
    assert cost["source"] == {"kind": "truth table", "policy": "read-only-mode",
                              "names": ["file"]}
    assert {k: cost["reason"][k] for k in ("options", "valid", "combinations", "modes")} == {
        "options": 3, "valid": len(valid), "combinations": len(rows),
        "modes": len({r["mode"] for r in valid})}
    assert cost["mark"] == "no"
    assert cells["facade"]["mark"] == "yes"  # the enum does select the mode
    assert "read-only-mode" in data["decision"]["meets_thread"]
    assert all(c["mark"] in ("yes", "no", "n/a", "ERR") for c in row["cells"])


@pytest.mark.usefixtures("plugins_on", "example")
def test_a_report_with_enum_values_round_trips_through_json() -> None:
    from optcompare.analysis.report import build_report
    from optcompare.analysis.report_model import Report
    from optcompare.render import codec
    from optcompare.scenario import files, load

    data = build_report(registry.select([]), load.load_all(files.discover(None)), full=True,
                        parallel=False)
    tables = [t for t in data.truth_tables if t.policy == "read-only-mode"]
    assert tables
    values = {r.options["read-only-mode"] for t in tables for r in t.rows}
    assert {"off", "on", "dynamic", "fallback", None} <= values
    stored = codec.decode(Report, json.loads(json.dumps(codec.encode(data), ensure_ascii=True)))
    assert stored == data


# -- switching discovery off --------------------------------------------------

@pytest.mark.usefixtures("plugins_on", "example")
def test_no_plugins_flag_turns_discovery_off_for_that_invocation() -> None:
    assert list(listed("--no-plugins")) == BUILTIN_NAMES
    code, _, err = invoke("--no-plugins", "run", "blockdev-commit-selinux",
                          "--policy", "read-only-mode")
    assert code == 2
    assert err.count("\n") == 1
    assert "unknown policy 'read-only-mode'" in err
    assert "plugins are off" in err
    assert "read-only-mode" in listed()  # the next invocation discovers again


@pytest.mark.usefixtures("example")
def test_environment_variable_turns_discovery_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registry.ENV_NO_PLUGINS, "1")
    assert list(listed()) == BUILTIN_NAMES
    monkeypatch.setenv(registry.ENV_NO_PLUGINS, "0")
    assert "read-only-mode" in listed()


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
    assert names == [*BUILTIN_NAMES, "read-only-mode"]  # the rest is all there

    code, out, err = invoke("run", "blockdev-commit-selinux", "--format", "json")
    assert code == 0
    assert err == ""  # once per process
    outcomes = {r["policy"]: r["outcome"] for r in json.loads(out)["results"]}
    assert outcomes["read-only-mode"] == "meets"
    assert "broken-policy" not in outcomes


COMMANDS: tuple[tuple[str, ...], ...] = (
    ("policies",),
    ("drivers", "--policy", "read-only-mode"),
    ("table", "qemu-3.1", "read-only-mode", "--driver", "file"),
    ("schema", "read-only-mode"),
    ("probe", "--policy", "read-only-mode"),
    ("probe", "blockdev-add/arg-type/+file/*read-only-mode/^dynamic", "--policy",
     "read-only-mode"),
    ("visibility",),
    ("run", "blockdev-commit-selinux"),
    ("skew",),
    ("compat", "read-only-mode"),
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
    assert [p["name"] for p in json.loads(out)["policies"]][-1] == "read-only-mode"


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
    assert "blockdev-commit-selinux [read-only-mode]" in names
    plugin = next(s for s in data["scenarios"]
                  if s["scenario"] == "blockdev-commit-selinux [read-only-mode]")
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
        code, out, err = invoke("report", "-p", "read-only-mode", "-f", "json")
        assert code == 0
        assert err == PREFIX + EXPECTED["import-error"] + "\n"  # warned on every run
        outputs.append(out)
    assert outputs[0] == outputs[1]
    assert len(report_analyses) == 2


# -- listing without importlib.metadata ----------------------------------------


def _declare(info: Path, group: str) -> None:
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: elsewhere\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nthing = elsewhere_module:POLICY\n")


@pytest.mark.usefixtures("plugins_on")
def test_no_declaration_of_the_group_is_an_empty_listing_without_metadata(
        site: Path, monkeypatch: pytest.MonkeyPatch,
        entry_point_calls: list[dict[str, Any]]) -> None:
    _declare(site / "other-1.0.dist-info", "console_scripts")
    monkeypatch.setattr(sys, "path", [str(site), str(site / "missing")])
    assert discovery.entry_points() == []
    assert entry_point_calls == []


@pytest.mark.usefixtures("plugins_on")
def test_a_declaration_in_a_dist_info_is_listed_by_metadata(
        site: Path, monkeypatch: pytest.MonkeyPatch,
        entry_point_calls: list[dict[str, Any]]) -> None:
    _declare(site / "Elsewhere-1.0.DIST-INFO", registry.GROUP)
    monkeypatch.setattr(sys, "path", [str(site)])
    assert [ep.name for ep in discovery.entry_points()] == ["thing"]
    assert entry_point_calls == [{"group": registry.GROUP}]


def _zipped(tmp_path: Path, group: str) -> Path:
    import zipfile

    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("elsewhere-1.0.dist-info/METADATA",
                        "Metadata-Version: 2.1\nName: elsewhere\nVersion: 1.0\n")
        zipped.writestr("elsewhere-1.0.dist-info/entry_points.txt",
                        f"[{group}]\nthing = elsewhere_module:POLICY\n")
    return archive


@pytest.mark.usefixtures("plugins_on")
@pytest.mark.parametrize("layout", ["zip", "egg", "finder"])
def test_what_is_not_a_plain_directory_is_left_to_metadata(
        layout: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip, an egg or another finder declaring the group: listed as importlib.metadata
    lists it, never taken for no declaration at all."""
    if layout == "zip":
        monkeypatch.setattr(sys, "path", [str(_zipped(tmp_path, registry.GROUP))])
    elif layout == "egg":
        egg = tmp_path / "elsewhere-1.0-py3.11.egg"
        _declare(egg / "EGG-INFO", registry.GROUP)
        monkeypatch.setattr(sys, "path", [str(egg)])
    else:
        info = tmp_path / "hidden" / "elsewhere-1.0.dist-info"
        _declare(info, registry.GROUP)

        class Finder:
            @staticmethod
            def find_distributions(*args: Any, **kwargs: Any) -> list[Any]:
                return [importlib.metadata.PathDistribution(info)]

        monkeypatch.setattr(sys, "path", [])
        monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert [ep.name for ep in discovery.entry_points()] == ["thing"]


@pytest.mark.usefixtures("plugins_on")
def test_an_entry_points_file_that_is_not_utf8_is_reported_as_metadata_would(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = site / "mangled-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_bytes(b"[console_scripts]\nx = caf\xe9:main\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert registry.plugins() == ()
    problem, = registry.plugin_problems()
    assert "cannot list entry points: UnicodeDecodeError" in problem.line()
