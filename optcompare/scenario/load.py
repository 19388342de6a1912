"""Loading scenario files: TOML through tomllib, then a strict validation.

tomllib gives no positions, so a small locator finds the line of each table
header and key in the raw text; every problem names ``path:line`` where it
can be known. A file with any problem never runs.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optcompare.errors import InputError
from optcompare.frozen import frozen
from optcompare.inputs import (
    INTEGER_TOO_LONG,
    NESTED_TOO_DEEPLY,
    SCENARIO_LIMIT,
    TOML_INT_MAX,
    bounds_problem,
    read_text,
)
from optcompare.model.drivers import DRIVER_NAMES
from optcompare.scenario.files import discover
from optcompare.scenario.properties import IMAGE_PROPERTIES
from optcompare.scenario.spec import (
    COMMON_KEYS,
    FD_MODES,
    FRONTENDS,
    LEGACY,
    NATIVE,
    NODES,
    PLATFORMS,
    STEP_KINDS,
    Image,
    Scenario,
    Setup,
    Step,
)

_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# A table header on one line: ``[name]`` or ``[[name]]``, then nothing but a comment.
_HEADER = re.compile(r"[ \t]*(\[\[?)([^\]\n]*)\]\]?[ \t]*(?:#.*)?$")
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_KEY = re.compile(r"[ \t]*([A-Za-z0-9_\-]+|\"[^\"\n]*\")[ \t]*=")
# Outside strings, what the locator must see: line ends, the start of each
# string and comment (their content holds no keys), and brackets (a line
# that starts inside an array is not a header or key). Every alternative
# ends at a character the others cannot start with: no backtracking.
_LEXEME = re.compile(r'\n|"""|\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]')
_MULTILINE_BASIC_END = re.compile(r'\\.|"""', re.DOTALL)
_TOML_POS = re.compile(r"\(at line (\d+), column \d+\)")
_MODES = ("hard-rw", "hard-ro", "dynamic-ro", "fallback-ro", "sticky-ro", "error")


@dataclass
class Locator:
    """Line numbers of tables (``[[steps]]`` #n) and of keys inside them.

    Runs on text that tomllib accepted, in one pass: a line that starts
    inside a multi-line string or an array is neither a header nor a key.
    """

    tables: dict[str, list[int]] = field(default_factory=dict)
    keys: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)

    @classmethod
    def scan(cls, text: str) -> Locator:
        loc = cls()
        current: tuple[str, int] = ("", 0)
        loc.keys[current] = {}
        number, position, depth, line_start = 1, 0, 0, True
        while True:
            if line_start and depth == 0:
                end = text.find("\n", position)
                line = text[position:end if end >= 0 else len(text)].rstrip("\r")
                header = _HEADER.match(line)
                name = header.group(2).replace('"', "").replace(" ", "") if header else ""
                if header and _TABLE_NAME.fullmatch(name):
                    lines = loc.tables.setdefault(name, [])
                    lines.append(number)
                    current = (name, len(lines) - 1)
                    loc.keys[current] = {}
                    position += len(line)  # its brackets open no array
                else:
                    key = _KEY.match(line)
                    if key:
                        loc.keys[current].setdefault(key.group(1).strip('"'), number)
            line_start = False
            found = _LEXEME.search(text, position)
            if found is None:
                return loc
            lexeme, position = found.group(), found.end()
            if lexeme == "\n":
                number, line_start = number + 1, True
            elif lexeme in ('"""', "\'\'\'"):
                end = _multiline_end(text, position, lexeme)
                number += text.count("\n", position, end)
                position = end
            elif lexeme in "[{":
                depth += 1
            elif lexeme in "]}":
                depth = max(0, depth - 1)

    def line(self, table: str, index: int = 0, key: str | None = None) -> int | None:
        keys = self.keys.get((table, index), {})
        if key is not None and key in keys:
            return keys[key]
        lines = self.tables.get(table, [])
        return lines[index] if index < len(lines) else None


class _Checker:
    def __init__(self, path: str, locator: Locator) -> None:
        self.path = path
        self.loc = locator
        self.problems: list[InputError] = []

    def problem(self, message: str, table: str, index: int = 0, key: str | None = None) -> None:
        self.problems.append(
            InputError(message, path=self.path, line=self.loc.line(table, index, key))
        )

    def typed(self, data: dict[str, Any], key: str, kind: type | tuple[type, ...], table: str,
              index: int = 0) -> bool:
        value = data[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.problem(f"key '{key}': expected {_type_name(kind)}, got {_toml_type(value)}",
                         table, index, key)
        return ok


def _multiline_end(text: str, position: int, quotes: str) -> int:
    """Where the multi-line string opened just before ``position`` ends."""
    if quotes == '"""':
        found = _MULTILINE_BASIC_END.search(text, position)
        while found is not None and found.group() != quotes:  # an escape
            found = _MULTILINE_BASIC_END.search(text, found.end())
        end = found.end() if found is not None else len(text)
    else:
        close = text.find(quotes, position)
        end = close + 3 if close >= 0 else len(text)
    extra = 0  # up to two quotes right before the closing three belong to the string
    while extra < 2 and text.startswith(quotes[0], end + extra):
        extra += 1
    return end + extra


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a float", dict: "a table",
            list: "an array"}.get(type(value), type(value).__name__)


def parse(text: str, path: str) -> Scenario:
    """Parse and validate one scenario; raise the first problem as InputError."""
    problems = check_text(text, path)
    if isinstance(problems, Scenario):
        return problems
    raise problems[0]


def check_text(text: str, path: str) -> Scenario | list[InputError]:
    """The scenario, or every problem found in it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = _TOML_POS.search(str(error))
        message = _TOML_POS.sub("", str(error)).strip()
        return [InputError(f"not valid TOML: {message}", path=path,
                           line=int(found.group(1)) if found else None)]
    except RecursionError:
        return [InputError(f"not a scenario: {NESTED_TOO_DEEPLY}", path=path)]
    except ValueError:  # an integer of more digits than Python converts
        return [InputError(f"not a scenario: {INTEGER_TOO_LONG}", path=path)]
    problem = bounds_problem(data, TOML_INT_MAX)
    if problem is not None:
        return [InputError(f"not a scenario: {problem}", path=path)]
    checker = _Checker(path, Locator.scan(text))
    scenario = _validate(data, checker, text)
    if checker.problems or scenario is None:
        return checker.problems or [InputError("invalid scenario", path=path)]
    return scenario


def _validate(data: dict[str, Any], c: _Checker, text: str) -> Scenario | None:
    for key in data:
        if key not in ("scenario", "setup", "steps"):
            c.problem(f"unknown top-level key '{key}': expected scenario, setup, steps", "", 0, key)
    head = data.get("scenario")
    if not isinstance(head, dict):
        c.problem("missing table [scenario] with name, summary, source", "")
        return None
    meta: dict[str, str] = {}
    for key in ("name", "summary", "source"):
        if key not in head:
            c.problem(f"[scenario] needs key '{key}' (a string)", "scenario")
        elif c.typed(head, key, str, "scenario"):
            meta[key] = head[key]
    for key in head:
        if key not in ("name", "summary", "source"):
            c.problem(f"unknown key '{key}' in [scenario]", "scenario", 0, key)
    if "name" in meta and not _NAME.match(meta["name"]):
        c.problem(f"key 'name': expected kebab-case, got {meta['name']!r}", "scenario", 0, "name")
    setup = _setup(data.get("setup", {}), c)
    steps = _steps(data.get("steps"), c, setup)
    if c.problems or setup is None or steps is None:
        return None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Scenario(meta["name"], meta["summary"], meta["source"], setup, steps, c.path, digest)


def _setup(raw: Any, c: _Checker) -> Setup | None:
    if not isinstance(raw, dict):
        c.problem("[setup] must be a table", "setup")
        return None
    allowed = {"frontend": str, "driver": str, "platform": str, "client": str,
               "readonly": bool, "images": list}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in allowed:
            c.problem(f"unknown key '{key}' in [setup]: expected one of {', '.join(allowed)}",
                      "setup", 0, key)
        elif key != "images" and c.typed(raw, key, allowed[key], "setup"):
            values[key] = value
    for key, choices in (("frontend", FRONTENDS), ("platform", PLATFORMS)):
        if key in values and values[key] not in choices:
            c.problem(f"key '{key}': expected one of {', '.join(choices)}, got {values[key]!r}",
                      "setup", 0, key)
    if "driver" in values and values["driver"] not in DRIVER_NAMES:
        c.problem(f"key 'driver': unknown driver {values['driver']!r}; known: "
                  f"{', '.join(DRIVER_NAMES)}", "setup", 0, "driver")
    if "client" in values:
        from optcompare.policies import libvirt, registry

        clients = [NATIVE, LEGACY, libvirt.NAME, *registry.by_name()]
        if values["client"] not in clients:
            c.problem(f"key 'client': expected one of {', '.join(clients)}, got "
                      f"{values['client']!r}", "setup", 0, "client")
    images = _images(raw.get("images", []), c)
    if images is None:
        return None
    return Setup(**{k: v for k, v in values.items() if k != "images"}, images=images)


def _images(raw: Any, c: _Checker) -> tuple[Image, ...] | None:
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        c.problem("key 'images': expected an array of tables [[setup.images]]", "setup", 0,
                  "images")
        return None
    if not raw:
        c.problem("[setup] needs at least one [[setup.images]]", "setup")
        return None
    images: list[Image] = []
    for index, item in enumerate(raw):
        table = "setup.images"
        for key in item:
            if key not in ("name", "writable"):
                c.problem(f"unknown key '{key}' in [[setup.images]]: expected name, writable",
                          table, index, key)
        if "name" not in item:
            c.problem("[[setup.images]] needs key 'name'", table, index)
            continue
        if not c.typed(item, "name", str, table, index):
            continue
        if not _NAME.match(item["name"]):
            c.problem(f"key 'name': expected kebab-case, got {item['name']!r}", table, index,
                      "name")
        if item["name"] in {i.name for i in images}:
            c.problem(f"image {item['name']!r} is declared twice", table, index, "name")
        last = index == len(raw) - 1
        writable = item.get("writable", last)
        if "writable" in item and not c.typed(item, "writable", bool, table, index):
            continue
        images.append(Image(item["name"], writable))
    return tuple(images)


def _steps(raw: Any, c: _Checker, setup: Setup | None) -> tuple[Step, ...] | None:
    if raw is None:
        c.problem("no [[steps]]: a scenario needs at least one step", "")
        return None
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        c.problem("key 'steps': expected an array of tables [[steps]]", "", 0, "steps")
        return None
    names = {i.name for i in setup.images} if setup else set()
    steps = []
    for index, item in enumerate(raw):
        step = _step(item, index, c, names)
        if step is not None:
            steps.append(step)
            if step.do == "snapshot":  # later steps may name the new overlay
                names.add(step.args["image"])
    return tuple(steps)


def _step(item: dict[str, Any], index: int, c: _Checker, images: set[str]) -> Step | None:
    table = "steps"
    do = item.get("do")
    if not isinstance(do, str) or do not in STEP_KINDS:
        got = "nothing" if do is None else repr(do)
        c.problem(f"key 'do': expected one of {', '.join(STEP_KINDS)}, got {got}", table, index,
                  "do" if do is not None else None)
        return None
    kind = STEP_KINDS[do]
    ok = True
    for key in item:
        if key not in COMMON_KEYS and key not in kind.required and key not in kind.optional:
            expected = ", ".join([*kind.required, *kind.optional, "expect", "error"])
            c.problem(f"unknown key '{key}' for do = \"{do}\": expected {expected}", table, index,
                      key)
            ok = False
    for key, typ in kind.required.items():
        if key not in item:
            c.problem(f"do = \"{do}\" needs key '{key}' ({_type_name(typ)})", table, index, "do")
            ok = False
        elif not c.typed(item, key, typ, table, index):
            ok = False
    for key, typ in kind.optional.items():
        if key in item and not c.typed(item, key, typ, table, index):
            ok = False
    if not ok:
        return None
    for key in kind.needs_image:
        if key in item and item[key] not in images:
            c.problem(f"key '{key}': no image {item[key]!r} in [[setup.images]]", table, index, key)
            ok = False
    ok = _values(do, item, index, c) and ok
    expect, error = item.get("expect"), item.get("error")
    if do == "probe":
        if expect is not None and not isinstance(expect, bool):
            c.problem("key 'expect': a probe expects true or false", table, index, "expect")
            ok = False
    elif expect is not None and expect not in ("ok", "error"):
        c.problem(f"key 'expect': expected \"ok\" or \"error\", got {expect!r}", table, index,
                  "expect")
        ok = False
    if error is not None and not isinstance(error, str):
        c.problem("key 'error': expected a string (part of the message)", table, index, "error")
        ok = False
    if not ok:
        return None
    args = {k: v for k, v in item.items() if k not in COMMON_KEYS}
    return Step(index, do, args, expect, error, c.loc.line(table, index))


def _values(do: str, item: dict[str, Any], index: int, c: _Checker) -> bool:
    ok = True
    checks = (("fd", FD_MODES), ("node", NODES), ("mode", _MODES))
    if do == "assert":
        for key, choices in checks:
            if key in item and item[key] not in choices:
                c.problem(f"key '{key}': expected one of {', '.join(choices)}, got {item[key]!r}",
                          "steps", index, key)
                ok = False
        if not any(k in item for k in ("fd", "ro", "denials", "mode", "property")):
            c.problem("do = \"assert\" needs at least one of fd, ro, denials, mode, property",
                      "steps", index, "do")
            ok = False
        names = [p.value for p in IMAGE_PROPERTIES]
        if "property" in item and item["property"] not in names:
            c.problem(f"key 'property': expected one of {', '.join(names)}, got "
                      f"{item['property']!r}", "steps", index, "property")
            ok = False
        if "holds" in item and "property" not in item:
            c.problem("key 'holds' needs key 'property'", "steps", index, "holds")
            ok = False
        if isinstance(item.get("denials"), int) and item["denials"] < 0:
            c.problem("key 'denials': expected a count >= 0", "steps", index, "denials")
            ok = False
    if do == "blockdev-add":
        for key, value in item.get("options", {}).items():
            if isinstance(value, bool):
                continue
            values = _enum_values(key)
            if isinstance(value, str) and value in values:
                continue
            expected = f"one of {', '.join(values)}" if values else "true or false"
            c.problem(f"key 'options.{key}': expected {expected}, got {value!r}", "steps",
                      index, "options")
            ok = False
    if do == "probe":
        from optcompare.schema.query import QueryError, split_query

        try:
            split_query(item["query"])
        except QueryError as error:
            c.problem(f"key 'query': {error.detail}", "steps", index, "query")
            ok = False
    if do == "snapshot" and not _NAME.match(item["image"]):
        c.problem(f"key 'image': expected kebab-case, got {item['image']!r}", "steps", index,
                  "image")
        ok = False
    return ok


def _enum_values(option: str) -> tuple[str, ...]:
    """The strings ``option`` takes where a policy makes it an enum, in the order the
    policies and their drivers first list them (none: it is boolean everywhere)."""
    from optcompare.model.drivers import Platform
    from optcompare.policies import registry

    found: dict[str, None] = {}
    for policy in registry.all_policies():
        for platform in Platform:
            build = policy.build(platform)
            for driver in build.drivers:
                domain = build.domains(driver).get(option, ())
                found.update((v, None) for v in domain if isinstance(v, str))
    return tuple(found)


def read(path: Path) -> str:
    """A scenario file's text: a regular file of at most SCENARIO_LIMIT bytes of UTF-8."""
    return read_text(path, SCENARIO_LIMIT)


def load(path: Path) -> Scenario:
    return parse(read(path), str(path))


def check_files(paths: Iterable[Path]) -> list[InputError]:
    """Every problem of the files, and a scenario name that an earlier file already uses."""
    problems: list[InputError] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            text = read(path)
        except InputError as error:
            problems.append(error)
            continue
        result = check_text(text, str(path))
        if not isinstance(result, Scenario):
            problems += result
        elif result.name not in seen:
            seen[result.name] = path
        elif not seen[result.name].samefile(path):  # the same file named twice is no clash
            problems.append(InputError(
                f"scenario name {result.name!r} is also used by {seen[result.name]}",
                path=str(path), line=Locator.scan(text).line("scenario", key="name"),
            ))
    return problems


@frozen
class Checked:
    """One file ``check`` read, and its problems (each as ``path:line: message``)."""

    file: str
    problems: tuple[str, ...]


@frozen
class Check:
    """What ``optcompare check`` found, file by file."""

    files: tuple[Checked, ...]


def check_report(paths: Sequence[Path], problems: Sequence[InputError]) -> Check:
    """``problems`` of :func:`check_files` on ``paths``, per file (each file once)."""
    return Check(tuple(Checked(str(path), tuple(str(p) for p in problems if p.path == str(path)))
                       for path in dict.fromkeys(paths)))


def load_all(paths: Iterable[Path]) -> list[Scenario]:
    scenarios = [load(p) for p in paths]
    seen: dict[str, str] = {}
    for s in scenarios:
        if s.name in seen:
            raise InputError(f"scenario name {s.name!r} is also used by {seen[s.name]}",
                             path=s.path)
        seen[s.name] = s.path
    return scenarios


def select(names: Iterable[str], directory: Path | None = None) -> list[Scenario]:
    """Scenarios by name or file path; every built-in (or every file of DIR) when none."""
    chosen = list(names)
    available = load_all(discover(directory))
    if not chosen:
        return available
    by_name = {s.name: s for s in available}
    result = []
    for item in chosen:
        if item in by_name:
            result.append(by_name[item])
        elif item.endswith(".toml") or Path(item).exists():
            result.append(load(Path(item)))
        else:
            raise InputError(
                f"unknown scenario {item!r}; known: {', '.join(by_name)}"
            )
    return result


def iter_lines(problems: Iterable[InputError]) -> Iterator[str]:
    for problem in problems:
        yield str(problem)
