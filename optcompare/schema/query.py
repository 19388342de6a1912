"""libvirt's schema path queries over a QMP ``query-qmp-schema`` reply.

A query is a ``/``-separated path, evaluated the way libvirt's
``virQEMUQAPISchemaPathGet`` (src/qemu/qemu_qapi.c) evaluates it:

- the first step names a command or event (unknown: not found, no error);
- ``arg-type`` / ``ret-type`` enter a command's or event's argument or
  return type;
- ``name`` selects an object member, ``*name`` an optional one (the member
  has a ``default`` key), ``+case`` a union variant;
- boolean steps end the path: ``^value`` (enum has the value), ``!jsontype``
  (builtin has that json-type), ``$feature`` (object, command or event has
  the feature); ``^value/$feature`` asks for a feature of an enum value;
- arrays are flattened to their element type without consuming a step;
  alternates try each member type in order until one gives an answer;
- a step whose first character is not an ASCII letter loses that
  character, so a member whose name starts with a non-letter is written
  with one leading space (``" 0name"``).

A broken query or a schema that references a missing type raises
:class:`QueryError`; "not found" is ``None`` / ``False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from optcompare.errors import InputError
from optcompare.frozen import frozen

Entry = dict[str, Any]

#: libvirt's loop guard: a traversal nested deeper than this is a schema loop.
MAX_DEPTH = 1000

#: The fields of a command or event that a step may enter.
COMMAND_FIELDS = ("arg-type", "ret-type")

BOOLEAN_MODIFIERS = ("^", "!", "$")


class QueryError(InputError):
    """A malformed query, or a schema that cannot answer it (missing type, loop)."""


class SchemaIndex:
    """The SchemaInfo entries of one ``query-qmp-schema`` reply, indexed by name."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self._by_name: dict[str, Entry] = {}
        self.answers: dict[str, bool] = {}
        """Queries asked of this index and whether they held (the entries do not change)."""
        self.reads: dict[str, frozenset[str]] = {}
        """The names each answered query looked up: its answer depends on their entries alone."""
        self._base: SchemaIndex | None = None
        self._replaced: frozenset[str] = frozenset()
        for position, entry in enumerate(entries):
            name = _checked_name(entry, position)
            if name in self._by_name:
                raise InputError(f"schema entry {position}: duplicate name {name!r}")
            self._by_name[name] = entry

    @classmethod
    def revised(cls, base: SchemaIndex, replaced: dict[int, Entry]) -> SchemaIndex:
        """``base``'s entries with those at the ``replaced`` positions replaced, each by
        one of the same name: a query that reads none of them holds as on ``base``."""
        index = cls([])
        index.entries = entries = list(base.entries)
        index._by_name = dict(base._by_name)
        for position, entry in replaced.items():
            name = _checked_name(entry, position)
            if name != entries[position]["name"]:
                raise InputError(f"schema entry {position} ({name!r}) replaces another name")
            entries[position] = index._by_name[name] = entry
        index._base = base
        index._replaced = frozenset(e["name"] for e in replaced.values())
        return index

    def get(self, name: str) -> Entry | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self.entries)

    def inherited(self, query: str) -> bool | None:
        """Whether ``query`` holds, from the base index when it reads no replaced entry."""
        base = self._base
        if base is None:
            return None
        try:
            held = path_exists(base, query)
        except QueryError:
            return None
        reads = base.reads[query]
        if not self._replaced.isdisjoint(reads):
            return None
        self.reads[query] = reads
        return held


def _checked_name(entry: object, position: int) -> str:
    if not isinstance(entry, dict):
        raise InputError(f"schema entry {position} is not an object")
    name = entry.get("name")
    if not isinstance(name, str):
        raise InputError(f"schema entry {position} has no string 'name'")
    if not isinstance(entry.get("meta-type"), str):
        raise InputError(f"schema entry {position} ({name!r}) has no string 'meta-type'")
    return name


def path_get(index: SchemaIndex, query: str) -> Entry | None:
    """The entry ``query`` leads to, or ``None`` when the schema lacks it.

    A type query gives the entry it ends on. A boolean query that holds gives
    the entry it was tested on (the object, command, event, enum or builtin).
    """
    return _Traversal(index, query, split_query(query)).run()


def path_exists(index: SchemaIndex, query: str) -> bool:
    """Whether ``query`` holds in the schema (libvirt's ``virQEMUQAPISchemaPathExists``)."""
    held = index.answers.get(query)
    if held is not None:
        return held
    held = index.inherited(query)
    if held is None:
        traversal = _Traversal(index, query, split_query(query))
        held = traversal.run() is not None
        index.reads[query] = frozenset(traversal.reads)
    index.answers[query] = held
    return held


def split_query(query: str) -> list[str]:
    """The steps of ``query``; raises :class:`QueryError` when it is malformed."""
    if not query:
        raise QueryError("malformed query string: empty")
    steps = query.split("/")
    for number, step in enumerate(steps, start=1):
        if not step:
            raise QueryError(f"malformed query string {query!r}: step {number} is empty")
    for position in range(1, len(steps) - 1):
        step = steps[position]
        if step[0] in BOOLEAN_MODIFIERS and not _is_enum_value_feature(steps, position):
            raise QueryError(
                f"terminal QAPI query component {step!r} of {query!r} must not have followers"
            )
    return steps


def _is_enum_value_feature(steps: list[str], position: int) -> bool:
    """``.../^value/$feature``: the one boolean step allowed a follower."""
    return (
        steps[position][0] == "^" and position == len(steps) - 2 and steps[position + 1][0] == "$"
    )


def _split_modifier(step: str) -> tuple[str, str]:
    """(modifier, name): a first character that is not an ASCII letter is a modifier."""
    first = step[0]
    if first.isascii() and first.isalpha():
        return "", step
    return first, step[1:]


def _find(entry: Entry, field: str, key: str, name: str) -> Entry | None:
    """The item of list ``entry[field]`` whose ``key`` is ``name``."""
    items = entry.get(field)
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and item.get(key) == name:
            return item
    return None


_Key = tuple[str, int]
"""A type to visit and the index of the next step to apply to it."""

#: The height of a traversal that never ends (a loop of arrays or alternates).
_ENDLESS = 1 << 62


@frozen
class _Result:
    """What visiting a type at a step gives once everything below it is known.

    ``height`` is how far below the type libvirt's depth-first walk goes
    before it stops with this result; the walk ends in the loop error when
    the type's own depth plus its height passes :data:`MAX_DEPTH`.
    """

    answer: Entry | None
    error: QueryError | None
    height: int

    @property
    def not_found(self) -> bool:
        return self.answer is None and self.error is None and self.height < _ENDLESS


@dataclass
class _Frame:
    """A type whose candidates (alternate members, array element) are being tried."""

    key: _Key
    candidates: list[_Key]
    tried: int = 0
    height: int = 0


# What visiting one entry gives: the answer (an entry), "not found" (None),
# or the (type, step) pairs to try next, in order of preference.
_Outcome = Entry | list[_Key] | None


class _Traversal:
    """One evaluation of one query, the way libvirt's recursive walk evaluates it.

    libvirt tries alternate members depth first, in order, and stops at the
    first answer or error. The result of a type at a step does not depend on
    the path that reached it, so each (type, step) is visited once and its
    result reused: chained alternates cost linear time, not exponential. The
    depth at which libvirt reports a loop is kept exact through each result's
    height. An explicit stack stands in for recursion.
    """

    def __init__(self, index: SchemaIndex, query: str, steps: list[str]) -> None:
        self.index = index
        self.query = query
        self.steps = steps
        self.visitors: dict[str, Callable[[Entry, int], _Outcome]] = {
            "object": self.visit_object,
            "array": self.visit_array,
            "command": self.visit_command,
            "event": self.visit_command,
            "enum": self.visit_enum,
            "builtin": self.visit_builtin,
            "alternate": self.visit_alternate,
        }
        self.known: dict[_Key, _Result] = {}
        self.active: set[_Key] = set()
        self.reads: set[str] = set()
        """The names looked up in the index."""

    def run(self) -> Entry | None:
        self.reads.add(self.steps[0])
        if self.steps[0] not in self.index:
            return None
        key = (self.steps[0], 1)
        walked = 0
        if len(self.steps) <= MAX_DEPTH:  # a walk of single steps cannot reach the loop guard
            while self.single_step(key):
                outcome = self.visit(key)
                if not isinstance(outcome, list):
                    return outcome
                (key,) = outcome
                walked += 1
        result = self.solve(key)
        if result.height + walked > MAX_DEPTH:
            raise self.malformed("possible loop in QMP schema")
        if result.error is not None:
            raise result.error
        return result.answer

    def single_step(self, key: _Key) -> bool:
        """Visiting ``key`` leads to one next type at the next step, or ends the walk:
        no candidates to try in turn (an alternate's members, an array's element)."""
        entry = self.index.get(key[0])
        return entry is not None and entry["meta-type"] not in ("alternate", "array")

    def solve(self, root: _Key) -> _Result:
        stack: list[_Frame] = []
        result = self.open(root, stack)
        while stack:
            frame = stack[-1]
            if result is not None:  # the result of the candidate tried last
                frame.height = min(_ENDLESS, max(frame.height, result.height + 1))
                if not result.not_found:
                    result = self.close(stack, _Result(result.answer, result.error, frame.height))
                    continue
            if frame.tried == len(frame.candidates):
                result = self.close(stack, _Result(None, None, frame.height))
                continue
            frame.tried += 1
            result = self.open(frame.candidates[frame.tried - 1], stack)
        assert result is not None
        return result

    def open(self, key: _Key, stack: list[_Frame]) -> _Result | None:
        """The result of ``key`` if known at once; else its frame is pushed and None."""
        known = self.known.get(key)
        if known is not None:
            return known
        if key in self.active:  # it leads back to itself: libvirt recurses until MAX_DEPTH
            return _Result(None, None, _ENDLESS)
        try:
            outcome = self.visit(key)
        except QueryError as error:
            return self.remember(key, _Result(None, error, 0))
        if not isinstance(outcome, list):
            return self.remember(key, _Result(outcome, None, 0))
        if not outcome:
            return self.remember(key, _Result(None, None, 0))
        self.active.add(key)
        stack.append(_Frame(key, outcome))
        return None

    def close(self, stack: list[_Frame], result: _Result) -> _Result:
        frame = stack.pop()
        self.active.discard(frame.key)
        return self.remember(frame.key, result)

    def remember(self, key: _Key, result: _Result) -> _Result:
        self.known[key] = result
        return result

    def visit(self, key: _Key) -> _Outcome:
        type_name, position = key
        self.reads.add(type_name)
        entry = self.index.get(type_name)
        if entry is None:
            raise self.malformed(f"type {type_name!r} does not exist")
        if position == len(self.steps):
            return entry
        visitor = self.visitors.get(entry["meta-type"])
        if visitor is None:
            return None
        return visitor(entry, position)

    def visit_object(self, entry: Entry, position: int) -> _Outcome:
        modifier, name = _split_modifier(self.steps[position])
        if modifier in ("^", "!"):
            return None
        if modifier == "$":
            return entry if self.has_feature(entry, name) else None
        if modifier == "+":
            member = _find(entry, "variants", "case", name)
        else:
            member = _find(entry, "members", "name", name)
            if modifier == "*" and member is not None and "default" not in member:
                return None
        if member is None:
            return None
        return [self.enter(position, member.get("type"))]

    def visit_command(self, entry: Entry, position: int) -> _Outcome:
        modifier, name = _split_modifier(self.steps[position])
        if modifier in ("^", "!", "+", "*"):
            return None
        if modifier == "$":
            return entry if self.has_feature(entry, name) else None
        type_name = entry.get(name) if name in COMMAND_FIELDS else None
        if not isinstance(type_name, str):
            return None
        return [self.enter(position, type_name)]

    def visit_array(self, entry: Entry, position: int) -> _Outcome:
        element_type = entry.get("element-type")
        if not isinstance(element_type, str):
            raise self.malformed(f"array {entry['name']!r} has no element-type")
        return [(element_type, position)]

    def visit_alternate(self, entry: Entry, position: int) -> _Outcome:
        members = entry.get("members")
        if not isinstance(members, list):
            raise self.malformed(f"alternate {entry['name']!r} has no members")
        return [
            (member["type"], position)
            for member in members
            if isinstance(member, dict) and isinstance(member.get("type"), str)
        ]

    def visit_enum(self, entry: Entry, position: int) -> _Outcome:
        step = self.steps[position]
        if step[0] != "^":
            return None
        value = step[1:]
        feature = self.enum_feature_step(position)
        members = entry.get("members")
        if isinstance(members, list):  # QEMU 6.2+: supersedes "values"
            member = self.enum_member(members, value)
            if member is None:
                return None
            if feature is None or self.has_feature(member, feature):
                return entry
            return None
        if feature is not None:  # old-style values carry no features
            return None
        values = entry.get("values")
        if not isinstance(values, list):
            raise self.malformed(f"enum {entry['name']!r} has neither members nor values")
        return entry if value in (v for v in values if isinstance(v, str)) else None

    def visit_builtin(self, entry: Entry, position: int) -> _Outcome:
        step = self.steps[position]
        if step[0] != "!":
            return None
        json_type = entry.get("json-type")
        if not isinstance(json_type, str):
            raise self.malformed(f"builtin {entry['name']!r} has no json-type")
        return entry if json_type == step[1:] else None

    def enum_feature_step(self, position: int) -> str | None:
        """The feature name of a trailing ``$feature`` after ``^value``, if any."""
        following = position + 1
        if following == len(self.steps):
            return None
        return self.steps[following][1:]

    def enum_member(self, members: list[Any], value: str) -> Entry | None:
        for member in members:
            if not isinstance(member, dict) or not isinstance(member.get("name"), str):
                raise self.malformed("enum member without a string name")
            if member["name"] == value:
                return member
        return None

    def has_feature(self, entry: Entry, feature: str) -> bool:
        features = entry.get("features")
        if not isinstance(features, list):
            return False
        for item in features:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str):
                raise self.malformed(f"feature {item!r} is not a name")
            if name == feature:
                return True
        return False

    def enter(self, position: int, type_name: object) -> _Key:
        """Step into ``type_name``, consuming the current step."""
        if not isinstance(type_name, str):
            raise self.malformed("member without a string type")
        return type_name, position + 1

    def malformed(self, detail: str) -> QueryError:
        return QueryError(f"malformed QAPI schema when querying {self.query!r}: {detail}")


@frozen
class Holds:
    """One libvirt path query and whether it holds on a schema."""

    query: str
    holds: bool


@frozen
class Answers:
    """Path queries evaluated on one schema."""

    source: str
    """Where the schema came from."""
    queries: tuple[Holds, ...]
