"""Property tests (hypothesis): bad input never makes a traceback.

- Scenario files, malformed in many ways (random text, bytes that are not
  UTF-8, valid TOML with wrong types, unknown keys or missing keys, files cut
  short): ``optcompare check FILE`` exits 2 and every problem line names
  the file, and the line where it can be known (``path:line: message``).
- Valid generated scenarios (chains of 1-5 images, random steps of every
  kind with valid arguments) check OK and run to a result (meets, fails or
  not-applicable) on every built-in policy through ``run FILE --format json``.
- ``table`` with random policy, driver, frontend and platform names, and
  ``probe --schema FILE QUERY`` with random schema files (not JSON, JSON but
  no schema, small valid schemas) and random path queries: exit 0 or 2, an
  error is one line, never a traceback.
- Hostile shapes (issue 13): a multi-line string holding a bracket and
  thousands of spaces checks and runs; integers of thousands of digits or
  outside 64 bits and nesting far past 64 levels, in any table, are one
  line naming the file; alternates chained 20-60 deep (some looping back,
  some naming a missing type) answer or fail with one line, in linear work.

Bounded: few examples each, no deadline; the whole file runs in seconds.
"""

from __future__ import annotations

import json
import re
import string
import tempfile
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from optcompare.cli import app
from optcompare.model.drivers import DRIVER_NAMES, Platform, catalogue
from optcompare.policies import registry
from optcompare.scenario import load
from optcompare.scenario.spec import COMMON_KEYS, FD_MODES, FRONTENDS, NODES, STEP_KINDS

runner = CliRunner()

BOUNDED = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FEW = settings(BOUNDED, max_examples=6)

BUILTIN = [p.name for p in registry.BUILTIN]
OUTCOMES = {"meets", "fails", "not-applicable"}
MODES = ("hard-rw", "hard-ro", "dynamic-ro", "fallback-ro", "sticky-ro", "error")
TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


# -- running the CLI ------------------------------------------------------------

def invoke(args: Sequence[str]) -> Result:
    result = runner.invoke(app, list(args))
    assert_no_traceback(result)
    return result


def assert_no_traceback(result: Result) -> None:
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        detail = "".join(traceback.format_exception(error))
        raise AssertionError(f"the command raised instead of exiting cleanly:\n{detail}")
    assert "Traceback" not in result.stdout + result.stderr


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def one_error_line(result: Result) -> str:
    lines = error_lines(result)
    assert len(lines) == 1, f"expected one line on stderr, got {result.stderr!r}"
    return lines[0]


def with_file(content: str | bytes, suffix: str, check: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"case{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        check(str(path))


# -- a TOML writer that knows the line of every key -------------------------------

class Raw(str):
    """A TOML literal written as is (a datetime, say)."""


Where = tuple[str, int, str]
"""(table, index, key): ``("steps", 2, "image")``; top-level keys are ``("", 0, key)``."""


@dataclass
class Doc:
    """A scenario file as data: ``top`` keys, ``[scenario]``, ``[setup]``,
    ``[[setup.images]]`` and ``[[steps]]``; a table set to None is left out."""

    scenario: dict[str, Any] | None
    setup: dict[str, Any] | None
    images: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    top: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Doc:
        return Doc(
            None if self.scenario is None else dict(self.scenario),
            None if self.setup is None else dict(self.setup),
            [dict(i) for i in self.images],
            [dict(s) for s in self.steps],
            dict(self.top),
        )

    def table(self, name: str, index: int = 0) -> dict[str, Any]:
        """The keys of one table: ``""`` (top level), ``scenario``, ``setup``,
        ``setup.images`` #index or ``steps`` #index."""
        if name == "":
            return self.top
        if name in ("scenario", "setup"):
            found = self.scenario if name == "scenario" else self.setup
            assert found is not None
            return found
        return (self.images if name == "setup.images" else self.steps)[index]


def toml_string(text: str) -> str:
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F or code > 0x7E:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def render(doc: Doc) -> tuple[str, dict[Where, int], dict[tuple[str, int], int]]:
    """The text, the line of each key, and the line of each table header."""
    lines: list[str] = []
    keys: dict[Where, int] = {}
    headers: dict[tuple[str, int], int] = {}

    def table(header: str, name: str, index: int, body: dict[str, Any]) -> None:
        lines.append(header)
        headers[(name, index)] = len(lines)
        for key, value in body.items():
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
            keys[(name, index, key)] = len(lines)

    for key, value in doc.top.items():
        lines.append(f"{toml_key(key)} = {toml_value(value)}")
        keys[("", 0, key)] = len(lines)
    if doc.scenario is not None:
        table("[scenario]", "scenario", 0, doc.scenario)
    if doc.setup is not None:
        table("[setup]", "setup", 0, doc.setup)
    for index, image in enumerate(doc.images):
        table("[[setup.images]]", "setup.images", index, image)
    for index, step in enumerate(doc.steps):
        table("[[steps]]", "steps", index, step)
    return "\n".join(lines) + "\n", keys, headers


# -- strategies --------------------------------------------------------------------

kebab = st.from_regex(r"\A[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,4}){0,2}\Z")
words = st.text(st.characters(codec="utf-8"), max_size=30)
identifier = st.from_regex(r"\A[a-z][a-z0-9_-]{0,8}\Z")

WELL_FORMED_QUERIES = (
    "blockdev-add/arg-type/+file/auto-read-only",
    "blockdev-add/arg-type/+file/$dynamic-auto-read-only",
    "blockdev-add/arg-type/+host_cdrom/$dynamic-auto-read-only",
    "blockdev-add/arg-type/+file/dynamic-read-only",
    "blockdev-add/arg-type/auto-read-only-v2",
    "query-qemu-features/ret-type/file-dynamic-auto-read-only",
    "query-qemu-features",
    "x-blockdev-reopen",
    "blockdev-add/arg-type/+nbd/*auto-read-only",
    "blockdev-add/arg-type/driver/^file",
    "blockdev-add/arg-type/read-only/!boolean",
)


@st.composite
def well_formed_query(draw: st.DrawFn) -> str:
    """A query libvirt's syntax accepts: names, then at most one boolean step."""
    if draw(st.booleans()):
        return draw(st.sampled_from(WELL_FORMED_QUERIES))
    steps = [draw(identifier)]
    for _ in range(draw(st.integers(0, 4))):
        steps.append(draw(st.sampled_from(("", "+", "*"))) + draw(identifier))
    if draw(st.booleans()):
        steps.append(draw(st.sampled_from("^!$")) + draw(identifier))
    return "/".join(steps)


@st.composite
def step_args(draw: st.DrawFn, do: str, images: list[str],
              query: st.SearchStrategy[str]) -> dict[str, Any]:
    """Valid arguments of one step kind."""
    image = st.sampled_from(images)
    args: dict[str, Any] = {"do": do}
    if do == "relabel":
        args.update(image=draw(image), writable=draw(st.booleans()))
    elif do in ("block-commit", "block-stream"):
        args["top"] = draw(image)
        if do == "block-commit" or draw(st.booleans()):
            args["base"] = draw(image)
    elif do == "snapshot":
        args["image"] = draw(st.one_of(kebab, image))
    elif do == "blockdev-add":
        args["image"] = draw(image)
        if draw(st.booleans()):
            names = st.sampled_from(("read-only", "auto-read-only", "dynamic-read-only",
                                     "auto-read-only-v2", "x-unknown"))
            args["options"] = draw(st.dictionaries(names, st.booleans(), max_size=3))
    elif do in ("attach-writer", "detach-writer"):
        args["image"] = draw(image)
    elif do == "probe":
        args["query"] = draw(query)
        if draw(st.booleans()):
            args["expect"] = draw(st.booleans())
    elif do == "assert":
        args["image"] = draw(image)
        checks = {
            "fd": st.sampled_from(FD_MODES),
            "ro": st.booleans(),
            "denials": st.integers(0, 3),
            "mode": st.sampled_from(MODES),
        }
        chosen = draw(st.lists(st.sampled_from(sorted(checks)), min_size=1, max_size=4,
                               unique=True))
        for key in chosen:
            args[key] = draw(checks[key])
        if draw(st.booleans()):
            args["node"] = draw(st.sampled_from(NODES))
    if do not in ("probe", "assert") and draw(st.integers(0, 3)) == 0:
        args["expect"] = draw(st.sampled_from(("ok", "error")))
        if args["expect"] == "error" and draw(st.booleans()):
            args["error"] = draw(st.sampled_from(("read-only", "Permission denied", "")))
    return args


@st.composite
def valid_docs(draw: st.DrawFn, query: st.SearchStrategy[str] | None = None) -> Doc:
    """A scenario that ``check`` must accept."""
    names = draw(st.lists(kebab, min_size=1, max_size=5, unique=True))
    images: list[dict[str, Any]] = []
    for name in names:
        image: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            image["writable"] = draw(st.booleans())
        images.append(image)
    setup: dict[str, Any] = {}
    optional = {
        "frontend": st.sampled_from(FRONTENDS),
        "driver": st.sampled_from(DRIVER_NAMES),
        "platform": st.sampled_from([p.value for p in Platform]),
        "client": st.sampled_from(["native", "legacy", *BUILTIN]),
        "readonly": st.booleans(),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        setup[key] = draw(optional[key])
    kinds = st.sampled_from(sorted(STEP_KINDS))
    queries = well_formed_query() if query is None else query
    steps = [draw(step_args(do, names, queries))
             for do in draw(st.lists(kinds, min_size=1, max_size=6))]
    if draw(st.integers(0, 3)) > 0:  # most workflows start the VM first
        steps.insert(0, {"do": "start"})
    scenario = {"name": draw(kebab), "summary": draw(words), "source": draw(words)}
    return Doc(scenario, setup, images, steps)


def typed_keys(doc: Doc) -> list[tuple[Where, type]]:
    """Every key of ``doc`` with the type the format wants for it."""
    found: list[tuple[Where, type]] = []
    for key in doc.scenario or {}:
        found.append((("scenario", 0, key), str))
    setup_types = {"frontend": str, "driver": str, "platform": str, "client": str,
                   "readonly": bool}
    for key in doc.setup or {}:
        found.append((("setup", 0, key), setup_types[key]))
    for index, image in enumerate(doc.images):
        for key in image:
            found.append((("setup.images", index, key), str if key == "name" else bool))
    for index, step in enumerate(doc.steps):
        kind = STEP_KINDS[step["do"]]
        for key in step:
            if key == "do" or key == "error":
                wanted: type = str
            elif key == "expect":
                wanted = bool if step["do"] == "probe" else str
            else:
                spec = {**kind.required, **kind.optional}[key]
                assert isinstance(spec, type)
                wanted = spec
            found.append((("steps", index, key), wanted))
    return found


def wrong_value(wanted: type) -> st.SearchStrategy[Any]:
    """A TOML value of any type but ``wanted``."""
    choices: list[st.SearchStrategy[Any]] = [
        st.lists(st.integers(0, 9), max_size=2),
        st.just(Raw("1979-05-27T07:32:00Z")),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
    ]
    if wanted is not str:
        choices.append(words)
    if wanted is not bool:
        choices.append(st.booleans())
    if wanted is not int:
        choices.append(st.integers(-5, 5))
    if wanted is not dict:
        choices.append(st.dictionaries(identifier, st.integers(0, 3), max_size=2))
    return st.one_of(choices)


def allowed_keys(table: str, doc: Doc, index: int) -> set[str]:
    if table == "":
        return {"scenario", "setup", "steps"}
    if table == "scenario":
        return {"name", "summary", "source"}
    if table == "setup":
        return {"frontend", "driver", "platform", "client", "readonly", "images"}
    if table == "setup.images":
        return {"name", "writable"}
    kind = STEP_KINDS[doc.steps[index]["do"]]
    return {*COMMON_KEYS, *kind.required, *kind.optional}


# -- scenario files: malformed --------------------------------------------------------

def assert_names_file(result: Result, path: str) -> list[str]:
    """Exit 2; every stderr line is ``path: message`` or ``path:line: message``."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = error_lines(result)
    assert lines, "no message on stderr"
    pattern = re.compile(re.escape(path) + r":(\d+:)? \S")
    for line in lines:
        assert pattern.match(line), f"does not name the file (and line): {line!r}"
    return lines


def assert_check_names_key_line(doc: Doc, where: tuple[str, int, str]) -> None:
    """``check`` on ``doc`` names the line of the key at ``where``, and the key."""
    text, keys, _headers = render(doc)
    line, key = keys[where], where[2]

    def check(path: str) -> None:
        lines = assert_names_file(invoke(["check", path]), path)
        assert any(entry.startswith(f"{path}:{line}: ") and f"'{key}'" in entry
                   for entry in lines), (key, line, lines, text)

    with_file(text, ".toml", check)


def expected_toml_line(text: str) -> int | None:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = TOML_POSITION.search(str(error))
        return int(found.group(1)) if found else None
    return None


TOMLISH = st.text(
    alphabet=st.sampled_from(list('[]{}=".,#\'\n\t -_') + list(string.ascii_letters[:12])
                             + list("0123456789") + ["é", "\x00", "\x7f"]),
    max_size=120,
)


@BOUNDED
@given(text=TOMLISH)
@example(text="")
@example(text="[scenario]\nname = \"x\"\n[[steps]]\ndo = \"start\"\n[scenario]\n")
@example(text='a = "unterminated\n')
@example(text="[[steps]\n")
def test_check_rejects_random_tomlish_text(text: str) -> None:
    def check(path: str) -> None:
        result = invoke(["check", path])
        lines = assert_names_file(result, path)
        line = expected_toml_line(text)
        if line is not None:
            assert any(entry.startswith(f"{path}:{line}: ") for entry in lines), lines

    with_file(text, ".toml", check)


@FEW
@given(data=st.binary(min_size=1, max_size=60))
@example(data=b"\xff\xfe[scenario]\n")
@example(data=b'[scenario]\nname = "\xc3"\n')
def test_check_rejects_bytes_that_are_not_utf8_text(data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        data += b"\xff"
    def check(path: str) -> None:
        assert_names_file(invoke(["check", path]), path)

    with_file(data, ".toml", check)


@BOUNDED
@given(doc=valid_docs(), data=st.data())
def test_check_names_the_line_of_a_value_of_the_wrong_type(doc: Doc, data: st.DataObject
                                                           ) -> None:
    (table, index, key), wanted = data.draw(st.sampled_from(typed_keys(doc)))
    value = data.draw(wrong_value(wanted))
    doc.table(table, index)[key] = value
    assert_check_names_key_line(doc, (table, index, key))


@BOUNDED
@given(doc=valid_docs(), data=st.data())
def test_check_names_the_line_of_an_unknown_key(doc: Doc, data: st.DataObject) -> None:
    tables = [("", 0), ("scenario", 0), ("setup", 0)]
    tables += [("setup.images", i) for i in range(len(doc.images))]
    tables += [("steps", i) for i in range(len(doc.steps))]
    table, index = data.draw(st.sampled_from(tables))
    allowed = allowed_keys(table, doc, index)
    key = data.draw(identifier.filter(lambda k: k not in allowed))
    value = data.draw(st.one_of(st.booleans(), st.integers(0, 9), words))
    doc.table(table, index)[key] = value
    assert_check_names_key_line(doc, (table, index, key))


@BOUNDED
@given(doc=valid_docs(), data=st.data())
def test_check_reports_a_missing_key_where_it_belongs(doc: Doc, data: st.DataObject) -> None:
    """A missing key: the line of the table (or of ``do``) it is missing from."""
    cases: list[tuple[str, int, str]] = [("scenario", 0, k) for k in ("name", "summary",
                                                                      "source")]
    cases += [("setup.images", i, "name") for i in range(len(doc.images))]
    for index, step in enumerate(doc.steps):
        cases.append(("steps", index, "do"))
        cases += [("steps", index, k) for k in STEP_KINDS[step["do"]].required]
    cases += [("", 0, "scenario"), ("", 0, "steps"), ("", 0, "images")]
    table, index, key = data.draw(st.sampled_from(cases))
    if table == "":
        if key == "scenario":
            doc.scenario = None
        elif key == "steps":
            doc.steps = []
        else:
            doc.images = []
    elif table == "scenario":
        assert doc.scenario is not None
        del doc.scenario[key]
    elif table == "setup.images":
        del doc.images[index][key]
    else:
        del doc.steps[index][key]
    text, keys, headers = render(doc)
    expected: int | None = None
    if table == "steps" and key != "do":
        expected = keys[("steps", index, "do")]
    elif table != "":
        expected = headers[(table, index)]
    elif key == "images":
        expected = headers[("setup", 0)]

    def check(path: str) -> None:
        lines = assert_names_file(invoke(["check", path]), path)
        if expected is not None:
            assert any(entry.startswith(f"{path}:{expected}: ") for entry in lines), (
                table, index, key, expected, lines, text)

    with_file(text, ".toml", check)


@BOUNDED
@given(doc=valid_docs(), data=st.data())
def test_check_handles_files_cut_short(doc: Doc, data: st.DataObject) -> None:
    text = render(doc)[0]
    cut = text[: data.draw(st.integers(0, max(0, len(text) - 1)))]

    def check(path: str) -> None:
        result = invoke(["check", path])
        if result.exit_code == 0:
            # Cut between two whole steps: still a valid scenario.
            load.parse(cut, path)
            return
        lines = assert_names_file(result, path)
        line = expected_toml_line(cut)
        if line is not None:
            assert any(entry.startswith(f"{path}:{line}: ") for entry in lines), lines

    with_file(cut, ".toml", check)


# -- scenario files: valid ---------------------------------------------------------------

def check_and_run(text: str) -> None:
    def check(path: str) -> None:
        checked = invoke(["check", path])
        assert checked.exit_code == 0, (checked.stderr, text)
        assert not error_lines(checked)
        ran = invoke(["run", path, "--format", "json"])
        assert ran.exit_code == 0, (ran.stderr, text)
        data = json.loads(ran.stdout)
        assert data["kind"] == "scenario-run"
        results = data["results"]
        assert len(results) == len(BUILTIN)
        for result in results:
            assert result["outcome"] in OUTCOMES, result

    with_file(text, ".toml", check)


# Found by these properties and kept as regression examples: a job step
# before 'start' crashed the model backend (KeyError on the missing format
# node); 'check' accepted a malformed probe query that then stopped 'run'.
@BOUNDED
@given(doc=valid_docs())
@example(doc=Doc({"name": "a", "summary": "", "source": ""}, {},
                 [{"name": "base"}, {"name": "top"}], [{"do": "block-stream", "top": "top"}]))
def test_valid_scenarios_check_ok_and_run_to_a_result_on_every_policy(doc: Doc) -> None:
    check_and_run(render(doc)[0])


any_query = st.one_of(well_formed_query(), st.text(max_size=20),
                      st.sampled_from(("", "a//b", "/x", "x/", "a/^b/c", "$f/x")))


@FEW
@given(doc=valid_docs(query=any_query))
@example(doc=Doc({"name": "a", "summary": "", "source": ""}, {}, [{"name": "base"}],
                 [{"do": "start"}, {"do": "probe", "query": "a//b"}]))
def test_a_scenario_that_checks_ok_runs_to_a_result_whatever_its_probe_query(doc: Doc
                                                                             ) -> None:
    """check and run agree: a file check accepts never stops run with an error."""
    text = render(doc)[0]

    def check(path: str) -> None:
        checked = invoke(["check", path])
        if checked.exit_code == 2:
            assert_names_file(checked, path)
            return
        ran = invoke(["run", path, "--format", "json"])
        assert ran.exit_code == 0, (ran.stderr, text)
        assert {r["outcome"] for r in json.loads(ran.stdout)["results"]} <= OUTCOMES

    with_file(text, ".toml", check)


# -- truth tables with random names --------------------------------------------------------

@BOUNDED
@given(
    policies=st.lists(st.one_of(st.sampled_from(BUILTIN), identifier), max_size=2),
    drivers=st.lists(st.one_of(st.sampled_from(DRIVER_NAMES), identifier), max_size=2),
    frontend=st.one_of(st.sampled_from(("blockdev", "drive")), identifier),
    platform=st.one_of(st.sampled_from(("posix", "windows")), identifier),
    diff=st.one_of(st.none(), st.sampled_from(BUILTIN), identifier),
    fmt=st.sampled_from(("json", "markdown", "text")),
)
@example(policies=["option-3"], drivers=["host_cdrom"], frontend="drive", platform="windows",
         diff=None, fmt="json")
def test_table_with_random_names_exits_0_or_2_with_one_line(
    policies: list[str], drivers: list[str], frontend: str, platform: str, diff: str | None,
    fmt: str,
) -> None:
    args = ["table", *policies, "--frontend", frontend, "--platform", platform, "-f", fmt]
    for driver in drivers:
        args += ["--driver", driver]
    if diff is not None:
        args += ["--diff", diff]
    result = invoke(args)
    valid = (
        all(p in BUILTIN for p in policies)
        and frontend in ("blockdev", "drive")
        and platform in ("posix", "windows")
        and (diff is None or diff in BUILTIN)
        and all(d in catalogue("4.1", Platform(platform)) for d in drivers)
    )
    if valid:
        assert result.exit_code == 0, result.stderr
        if fmt == "json":
            assert json.loads(result.stdout)["kind"] == "truth-table"
    else:
        assert result.exit_code == 2, (args, result.stdout)
        assert one_error_line(result).startswith("optcompare: error: ")


# -- schema files and path queries ----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)
TYPE_NAMES = ("int", "str", "bool", "obj-a", "obj-b", "enum-c", "arr-d", "alt-e", "missing")


@st.composite
def schema_entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A small SchemaInfo list, sometimes referencing a type that is not there."""
    ref = st.sampled_from(TYPE_NAMES)
    feats = st.lists(identifier, max_size=2)
    member = st.fixed_dictionaries(
        {"name": identifier, "type": ref},
        optional={"default": st.none(), "features": feats},
    )
    entries: list[dict[str, Any]] = [
        {"name": "int", "meta-type": "builtin", "json-type": "int"},
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
        {"name": "bool", "meta-type": "builtin", "json-type": "boolean"},
    ]
    for name in ("obj-a", "obj-b"):
        if draw(st.booleans()):
            entry: dict[str, Any] = {"name": name, "meta-type": "object",
                                     "members": draw(st.lists(member, max_size=3))}
            if draw(st.booleans()):
                entry["tag"] = "driver"
                entry["variants"] = draw(st.lists(
                    st.fixed_dictionaries({"case": identifier, "type": ref}), max_size=2))
            if draw(st.booleans()):
                entry["features"] = draw(feats)
            entries.append(entry)
    if draw(st.booleans()):
        if draw(st.booleans()):
            entries.append({"name": "enum-c", "meta-type": "enum",
                            "values": draw(st.lists(identifier, max_size=3))})
        else:
            entries.append({"name": "enum-c", "meta-type": "enum", "members": draw(
                st.lists(st.fixed_dictionaries({"name": identifier}, optional={
                    "features": feats}), max_size=3))})
    if draw(st.booleans()):
        entries.append({"name": "arr-d", "meta-type": "array", "element-type": draw(ref)})
    if draw(st.booleans()):
        entries.append({"name": "alt-e", "meta-type": "alternate", "members": draw(
            st.lists(st.fixed_dictionaries({"type": ref}), max_size=2))})
    for command in draw(st.lists(identifier, max_size=3, unique=True)):
        entry = {"name": command, "meta-type": draw(st.sampled_from(("command", "event"))),
                 "arg-type": draw(ref)}
        if draw(st.booleans()):
            entry["ret-type"] = draw(ref)
        entries.append(entry)
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry["name"] not in seen:
            seen.add(entry["name"])
            unique.append(entry)
    return unique


@st.composite
def schema_files(draw: st.DrawFn) -> tuple[str, bool]:
    """(file content, whether it holds a query-qmp-schema reply)."""
    kind = draw(st.sampled_from(("text", "json", "schema", "reply", "transcript")))
    if kind == "text":
        return draw(st.text(max_size=40)), False
    if kind == "json":
        return json.dumps(draw(json_values)), False
    entries = draw(schema_entries())
    if kind == "schema":
        return json.dumps(entries), True
    if kind == "reply":
        return json.dumps({"return": entries}), True
    greeting: dict[str, Any] = {"QMP": {"version": {}, "capabilities": []}}
    messages = [greeting, {"return": {}}, {"return": entries}]
    return "\n".join(json.dumps(m) for m in messages) + "\n", True


@st.composite
def path_queries(draw: st.DrawFn) -> str:
    names = st.one_of(st.sampled_from((*TYPE_NAMES, "arg-type", "ret-type")), identifier)
    steps = [draw(names) for _ in range(draw(st.integers(1, 5)))]
    steps = [draw(st.sampled_from(("", "", "+", "*", "^", "!", "$", " "))) + s for s in steps]
    return draw(st.one_of(st.just("/".join(steps)), st.text(max_size=15)))


@BOUNDED
@given(content=schema_files(), query=path_queries())
@example(content=("[]", False), query="x")
@example(content=('{"return": [{"name": "c", "meta-type": "command", "arg-type": "nope"}]}',
                  True), query="c/arg-type/x")
def test_probe_on_random_schema_files_exits_0_or_2_with_one_line(
    content: tuple[str, bool], query: str
) -> None:
    text, _schema_like = content

    def check(path: str) -> None:
        result = invoke(["probe", "--schema", path, "--format", "json", "--", query])
        assert result.exit_code in (0, 2), (result.exit_code, result.stdout, result.stderr)
        if result.exit_code == 2:
            line = one_error_line(result)
            assert line.startswith("optcompare: error: ")
        else:
            data = json.loads(result.stdout)
            assert [q["query"] for q in data["queries"]] == [query]
            assert isinstance(data["queries"][0]["holds"], bool)

    with_file(text, ".json", check)


@FEW
@given(content=schema_files())
def test_a_schema_file_that_is_no_schema_is_named_in_the_error(content: tuple[str, bool]
                                                               ) -> None:
    text, schema_like = content

    def check(path: str) -> None:
        result = invoke(["probe", "--schema", path, "--format", "json", "--", "query-version"])
        if not schema_like:
            assert result.exit_code == 2
            assert path in one_error_line(result)

    with_file(text, ".json", check)


# -- hostile shapes: bounded work, one line -----------------------------------------------

@FEW
@given(doc=valid_docs(), spaces=st.integers(1000, 9000), bracket=st.sampled_from("[{\"'"))
@example(doc=Doc({"name": "a", "summary": "", "source": ""}, {}, [{"name": "base"}],
                 [{"do": "start"}]), spaces=8000, bracket="[")
def test_a_long_line_inside_a_multiline_string_checks_quickly(doc: Doc, spaces: int,
                                                              bracket: str) -> None:
    """The old line locator backtracked cubically on ``[`` and spaces (149 s at 8000)."""
    assert doc.scenario is not None
    doc.scenario["summary"] = Raw('"""\n' + bracket + " " * spaces + '\n"""')
    check_and_run(render(doc)[0])


hostile_integers = st.one_of(
    st.integers(20, 6000).map(lambda n: "9" * n),
    st.integers(20, 6000).map(lambda n: "-" + "9" * n),
    st.integers(17, 30000).map(lambda n: "0x" + "f" * n),
    st.sampled_from(("9223372036854775808", "-9223372036854775809")),
)
hostile_nesting = st.one_of(
    st.integers(65, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(65, 2000).map(lambda n: "{ a = " * n + "1" + " }" * n),
)


@FEW
@given(doc=valid_docs(), data=st.data(), value=st.one_of(hostile_integers, hostile_nesting))
def test_huge_integers_and_deep_nesting_in_a_scenario_are_one_line(
    doc: Doc, data: st.DataObject, value: str
) -> None:
    tables = [("scenario", 0), ("setup", 0)] + [("steps", i) for i in range(len(doc.steps))]
    table, index = data.draw(st.sampled_from(tables))
    doc.table(table, index)[data.draw(st.sampled_from(("denials", "x-extra")))] = Raw(value)
    text = render(doc)[0]

    def check(path: str) -> None:
        for command in ("check", "run"):
            result = invoke([command, path])
            assert result.exit_code == 2
            line = one_error_line(result)
            assert path in line
            assert "integer out of range" in line or "nested deeper than 64" in line, line

    with_file(text, ".toml", check)


@st.composite
def alternate_chains(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Alternates 20-60 deep, each naming the next 2-3 times; maybe a loop at the end."""
    depth, width = draw(st.integers(20, 60)), draw(st.integers(2, 3))
    entries: list[dict[str, Any]] = [
        {"name": "cmd", "meta-type": "command", "arg-type": "a0", "ret-type": "a0"}]
    for i in range(depth):
        members = [{"type": f"a{i + 1}"}] * width
        if draw(st.integers(0, 4)) == 0:
            members.insert(draw(st.integers(0, width)), {"type": draw(st.sampled_from(
                ("a0", f"a{i}", "missing", "s")))})
        entries.append({"name": f"a{i}", "meta-type": "alternate", "members": members})
    end = draw(st.sampled_from(("int", "loop", "object")))
    if end == "loop":
        entries.append({"name": f"a{depth}", "meta-type": "array", "element-type": "a0"})
    elif end == "object":
        entries.append({"name": f"a{depth}", "meta-type": "object",
                        "members": [{"name": "m", "type": "s"}]})
    else:
        entries.append({"name": f"a{depth}", "meta-type": "builtin", "json-type": "int"})
    entries.append({"name": "s", "meta-type": "builtin", "json-type": "string"})
    return entries


@st.composite
def hostile_schema_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(("chain", "integer", "nesting")))
    if kind == "chain":
        return json.dumps(draw(alternate_chains()))
    entry = '{"name": "n", "meta-type": "builtin", "json-type": "int", "x": %s}'
    if kind == "integer":
        digits = draw(st.integers(21, 6000))
        return "[" + entry % ("9" * digits) + "]"
    depth = draw(st.integers(65, 50000))
    inner = "[" * depth + "]" * depth
    return draw(st.sampled_from(("[" + entry % inner + "]", inner,
                                 '{"QMP": {}}\n{"return": ' + inner + "}\n")))


@FEW
@given(text=hostile_schema_texts(),
       query=st.sampled_from(("cmd/arg-type/!string", "cmd/arg-type/!int", "cmd/ret-type/m",
                              "cmd/arg-type/m/!string", "query-version")))
def test_hostile_schemas_answer_or_fail_with_one_line(text: str, query: str) -> None:
    def check(path: str) -> None:
        result = invoke(["probe", "--schema", path, "--format", "json", "--", query])
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
        if result.exit_code == 2:
            line = one_error_line(result)
            assert line.startswith("optcompare: error: ") and path in line
        else:
            assert isinstance(json.loads(result.stdout)["queries"][0]["holds"], bool)

    with_file(text, ".json", check)
