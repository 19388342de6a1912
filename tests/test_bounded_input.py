"""Bounded work on any input: each hostile shape is one line on stderr and exit 2.

The shapes of issue 13: a scenario whose multi-line string holds ``[`` and
8000 spaces (the old line locator backtracked for minutes), chained schema
alternates (path queries were exponential), integers of thousands of
digits, nesting thousands deep, a ``*.toml`` that is a FIFO or a symlink
to ``/dev/zero``, and files over the size limits. Work is bounded by
counting it (schema visits) where it can be counted, and by a subprocess
with a generous timeout where it cannot (a regex, a blocking open).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from optcompare import inputs
from optcompare.cli import app
from optcompare.scenario import load
from optcompare.schema import query
from optcompare.schema.query import Entry, QueryError, SchemaIndex, path_get

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = (ROOT / "scenarios" / "blockdev-commit-selinux.toml").read_text(encoding="utf-8")
SUMMARY = next(line for line in SCENARIO.splitlines() if line.startswith("summary = "))
# A generous bound for work that takes milliseconds: the old code took minutes or forever.
TIMEOUT = 60

runner = CliRunner()


def cli(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_error(result: Result, *parts: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for part in parts:
        assert part in lines[0]
    return lines[0]


def subprocess_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPTCOMPARE_NO_CACHE": "1", "OPTCOMPARE_NO_PLUGINS": "1"}
    return subprocess.run([sys.executable, "-m", "optcompare", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)


def with_summary(summary: str) -> str:
    return SCENARIO.replace(SUMMARY, f"summary = {summary}", 1)


# -- the line locator ---------------------------------------------------------------

def test_a_bracket_and_8000_spaces_in_a_multiline_string_checks_in_linear_time(
    tmp_path: Path,
) -> None:
    text = with_summary('"""\n[' + " " * 8000 + '\n"""')
    text += "\n" * (30_000 - len(text))  # the 30 KB file
    path = tmp_path / "spaces.toml"
    path.write_text(text, encoding="utf-8")
    done = subprocess_cli("check", str(path), cwd=tmp_path)  # 149 s before
    assert done.returncode == 0, done.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text(text + "[[steps]]\ndo = 'nothing'\n", encoding="utf-8")
    done = subprocess_cli("check", str(broken), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{broken}:{text.count(chr(10)) + 2}: key 'do': expected one of "
        + done.stderr.split("expected one of ", 1)[1].rstrip("\n")
    ]


def test_lines_inside_multiline_strings_and_arrays_are_not_keys_or_headers() -> None:
    text = with_summary('"""\n[steps]\ndo = "x"\n"""') + (
        'x = [\n  ["a"]\n]\n'
        "[[steps]]\n"
        "# [scenario]\n"
        "do = '''\n"
        "name = 1\n"
        "'''\n"
    )
    locator = load.Locator.scan(text)
    lines = text.splitlines()
    assert [lines[n - 1] for n in locator.tables["steps"]] == ["[[steps]]"] * (
        SCENARIO.count("[[steps]]") + 1
    )
    assert "scenario" in locator.tables and len(locator.tables["scenario"]) == 1
    last = (len(locator.tables["steps"]) - 1)
    assert locator.keys[("steps", last)] == {"do": lines.index("do = '''") + 1}
    assert "do" not in locator.keys[("scenario", 0)]


def test_quotes_before_the_closing_quotes_belong_to_the_string() -> None:
    text = 'a = """x""""\nb = 1\nc = \'\'\'y\'\'\'\'\'\nd = 2\n'
    assert load.Locator.scan(text).keys[("", 0)] == {"a": 1, "b": 2, "c": 3, "d": 4}


# -- schema path queries ----------------------------------------------------------

def alternate_chain(depth: int, width: int = 2) -> list[dict[str, Any]]:
    """cmd's arg-type is ``depth`` alternates, each of ``width`` copies of the next."""
    entries: list[dict[str, Any]] = [
        {"name": "cmd", "meta-type": "command", "arg-type": "a0", "ret-type": "a0"}
    ]
    for i in range(depth):
        entries.append({"name": f"a{i}", "meta-type": "alternate",
                        "members": [{"type": f"a{i + 1}"}] * width})
    entries.append({"name": f"a{depth}", "meta-type": "builtin", "json-type": "int"})
    return entries


@pytest.fixture
def visits(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every type visit of a path query; more than 10000 fails at once."""
    seen: list[object] = []
    real = query._Traversal.visit

    def counting(self: Any, *args: Any) -> Any:
        seen.append(args)
        if len(seen) > 10_000:
            raise AssertionError("path query visits more than 10000 types")
        return real(self, *args)

    monkeypatch.setattr(query._Traversal, "visit", counting)
    return seen


@pytest.mark.parametrize("width", [2, 3])
def test_chained_alternates_40_deep_take_linear_work(visits: list[object], width: int) -> None:
    index = SchemaIndex(alternate_chain(40, width))
    assert path_get(index, "cmd/arg-type/!string") is None
    assert len(visits) <= 2 * 42  # each (type, step) once, not width ** 40
    visits.clear()
    assert path_get(index, "cmd/arg-type/!int") == index.get("a40")
    assert len(visits) <= 2 * 42


def test_probe_on_a_40_deep_alternate_chain_answers(tmp_path: Path, visits: list[object]
                                                    ) -> None:
    path = tmp_path / "chain.json"
    path.write_text(json.dumps(alternate_chain(40)), encoding="utf-8")
    result = cli("probe", "--schema", str(path), "--format", "json", "cmd/arg-type/!string")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["queries"] == [
        {"query": "cmd/arg-type/!string", "holds": False}]


def test_a_loop_behind_a_shared_alternate_still_hits_libvirts_depth_limit(
    visits: list[object]
) -> None:
    entries = alternate_chain(30)
    entries[-1] = {"name": "a30", "meta-type": "alternate", "members": [{"type": "a0"}]}
    with pytest.raises(QueryError, match="possible loop"):
        path_get(SchemaIndex(entries), "cmd/arg-type/!int")
    assert len(visits) <= 2 * 32


def naive(index: SchemaIndex, text: str) -> Entry | None:
    """libvirt's walk as it is written: recursive, nothing reused (exponential)."""
    steps = query.split_query(text)
    if steps[0] not in index:
        return None
    walk = query._Traversal(index, text, steps)

    def traverse(key: tuple[str, int], depth: int) -> Entry | None:
        if depth > query.MAX_DEPTH:
            raise walk.malformed("possible loop in QMP schema")
        outcome = walk.visit(key)
        if not isinstance(outcome, list):
            return outcome
        for candidate in outcome:
            found = traverse(candidate, depth + 1)
            if found is not None:
                return found
        return None

    return traverse((steps[0], 1), 0)


def outcome(evaluate: Callable[[], Entry | None]) -> tuple[str, object]:
    try:
        found = evaluate()
    except QueryError as error:
        return "error", str(error)
    return "found", None if found is None else found["name"]


NAMES = ("t0", "t1", "t2", "t3", "t4", "gone")


@st.composite
def looping_schemas(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Arrays, alternates and objects referring to each other, loops and missing types included."""
    ref = st.sampled_from(NAMES)
    entries: list[dict[str, Any]] = [
        {"name": "cmd", "meta-type": "command", "arg-type": draw(ref)},
        {"name": "n", "meta-type": "builtin", "json-type": "int"},
    ]
    for name in NAMES[:-1]:
        kind = draw(st.sampled_from(("alternate", "array", "object", "builtin", "enum")))
        if kind == "alternate":
            members = draw(st.lists(st.one_of(ref, st.just("n")), max_size=3))
            entries.append({"name": name, "meta-type": kind,
                            "members": [{"type": m} for m in members]})
        elif kind == "array":
            entries.append({"name": name, "meta-type": kind,
                            "element-type": draw(st.one_of(ref, st.just("n")))})
        elif kind == "object":
            entries.append({"name": name, "meta-type": kind, "members": [
                {"name": m, "type": draw(ref)} for m in draw(
                    st.lists(st.sampled_from(("m0", "m1")), max_size=2, unique=True))]})
        elif kind == "builtin":
            entries.append({"name": name, "meta-type": kind,
                            "json-type": draw(st.sampled_from(("int", "string")))})
        else:
            entries.append({"name": name, "meta-type": kind, "values": ["v0"]})
    return entries


@settings(max_examples=300, deadline=None)
@given(entries=looping_schemas(), limit=st.integers(0, 9),
       steps=st.lists(st.sampled_from(("m0", "m1", "!int", "!string", "^v0", "$f")),
                      max_size=3))
def test_reused_results_answer_exactly_what_libvirts_walk_answers(
    entries: list[dict[str, Any]], limit: int, steps: list[str]
) -> None:
    """Same entry, same error, same depth at which the loop error comes."""
    index = SchemaIndex(entries)
    text = "/".join(["cmd", "arg-type", *steps])
    if any(step[0] in "!^$" for step in steps[:-1]):
        return
    saved = query.MAX_DEPTH
    query.MAX_DEPTH = limit
    try:
        assert outcome(lambda: path_get(index, text)) == outcome(lambda: naive(index, text))
    finally:
        query.MAX_DEPTH = saved


# -- integers, nesting, file kinds, sizes -------------------------------------------

def scenario_file(tmp_path: Path, extra: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(SCENARIO + "\n" + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", [
    "9" * 5000,  # more digits than Python converts
    "-" + "9" * 4000,
    "0x" + "f" * 50_000,  # converts (a power of two base), but no TOML integer is that wide
    "9223372036854775808",  # 2**63: one past TOML's range
])
def test_a_huge_integer_in_a_scenario_is_one_line(tmp_path: Path, value: str) -> None:
    path = scenario_file(tmp_path, f"[[steps]]\ndo = \"assert\"\nimage = \"base\"\n"
                         f"denials = {value}\n")
    for command in ("check", "run"):
        one_error(cli(command, str(path)), str(path), "integer out of range")


@pytest.mark.parametrize("nesting", [
    "[" * 5000 + "]" * 5000,
    "{a = " * 3000 + "1" + "}" * 3000,
    "[" * 65 + "]" * 65,
])
def test_deep_nesting_in_a_scenario_is_one_line(tmp_path: Path, nesting: str) -> None:
    path = scenario_file(tmp_path, f"[extra]\nx = {nesting}\n")
    one_error(cli("run", str(path)), str(path), "nested deeper than 64 levels")


@pytest.mark.parametrize("text", [
    '[{"name": "n", "meta-type": "builtin", "json-type": "int", "x": ' + "9" * 5000 + "}]",
    '[{"name": "n", "meta-type": "builtin", "json-type": "int", "x": 18446744073709551616}]',
    "[" * 100_000 + "]" * 100_000,
    '[{"name": "n", "meta-type": "builtin", "x": ' + "[" * 200 + "]" * 200 + "}]",
    '{"QMP": {}}\n{"return": ' + "[" * 3000 + "]" * 3000 + "}\n",
])
def test_huge_integers_and_deep_nesting_in_a_schema_are_one_line(tmp_path: Path, text: str
                                                                  ) -> None:
    path = tmp_path / "schema.json"
    path.write_text(text, encoding="utf-8")
    one_error(cli("probe", "--schema", str(path), "query-version"), str(path), "not a schema")


def test_values_at_the_limits_are_accepted() -> None:
    assert inputs.bounds_problem({"a": [[[inputs.INT_MAX, inputs.INT_MIN]]]}) is None
    nested: Any = 1
    for _ in range(inputs.MAX_NESTING):
        nested = [nested]
    assert inputs.bounds_problem(nested) is None
    assert inputs.bounds_problem([nested]) == inputs.NESTED_TOO_DEEPLY
    assert inputs.bounds_problem([inputs.INT_MAX + 1]) == inputs.INTEGER_TOO_LONG


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


@pytest.mark.parametrize("make, kind", [(fifo, "a FIFO"), (zero, "a character device")])
def test_a_scenario_that_is_not_a_regular_file_is_refused_without_blocking(
    tmp_path: Path, make: Any, kind: str
) -> None:
    directory = tmp_path / "scenarios"
    directory.mkdir()
    (directory / "good.toml").write_text(SCENARIO, encoding="utf-8")
    bad = make(directory / "bad.toml")
    expected = f"{bad}: cannot read: not a regular file ({kind})"
    for args in (["check", str(bad)], ["run", str(bad)], ["run", "--scenarios", str(directory)],
                 ["report", "--scenarios", str(directory)],
                 ["skew", "--scenarios", str(directory)]):
        done = subprocess_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.splitlines()[-1].endswith(expected), (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1, (args, done.stderr)


def test_a_report_with_the_cache_on_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    directory = tmp_path / "scenarios"
    directory.mkdir()
    fifo(directory / "bad.toml")
    env = {**os.environ, "OPTCOMPARE_NO_PLUGINS": "1", "OPTCOMPARE_CACHE_DIR": str(tmp_path)}
    env.pop("OPTCOMPARE_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-m", "optcompare", "report", "--scenarios",
                           str(directory)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"optcompare: error: {directory / 'bad.toml'}: cannot read: not a regular file (a FIFO)"]


def test_a_scenario_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "#" + "x" * (10 << 20) + "\n")  # a 10 MB file
    line = one_error(cli("check", str(path)), str(path), "too large")
    assert f"the limit is 1 MiB ({inputs.SCENARIO_LIMIT} bytes)" in line
    one_error(cli("run", str(path)), str(path), "too large")


def test_a_schema_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(alternate_chain(2)) + " " * inputs.SCHEMA_LIMIT,
                    encoding="utf-8")
    one_error(cli("probe", "--schema", str(path), "cmd"), str(path), "too large",
              "the limit is 16 MiB")


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edge"
    path.write_bytes(b"x" * 100)
    assert inputs.read_bytes(path, 100) == b"x" * 100
    with pytest.raises(load.InputError, match="too large"):
        inputs.read_bytes(path, 99)


def test_a_schema_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = fifo(tmp_path / "schema.json")
    done = subprocess_cli("probe", "--schema", str(path), "cmd", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"optcompare: error: {path}: cannot read: not a regular file (a FIFO)"]
