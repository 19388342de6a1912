"""libvirt's schema path queries: each grammar rule, then the real replies."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from optcompare.errors import InputError
from optcompare.schema import corpus
from optcompare.schema import query as query_module
from optcompare.schema.load import load_schema
from optcompare.schema.query import (
    MAX_DEPTH,
    QueryError,
    SchemaIndex,
    path_exists,
    path_get,
)

SCHEMAS = Path(str(corpus.directory()))
VERSIONS = ("3.1.0", "4.0.0", "4.1.0-dev", "4.2.0", "5.2.0", "8.1.0")


def builtin(name: str, json_type: str) -> dict[str, Any]:
    return {"name": name, "meta-type": "builtin", "json-type": json_type}


# A miniature blockdev-add, one entry per construct the language can meet.
MINI: list[dict[str, Any]] = [
    {
        "name": "blockdev-add",
        "meta-type": "command",
        "arg-type": "opts",
        "ret-type": "empty",
        "features": ["cmd-feature"],
    },
    {"name": "query-things", "meta-type": "command", "arg-type": "empty", "ret-type": "[thing]"},
    {
        "name": "THING_EVENT",
        "meta-type": "event",
        "arg-type": "thing",
        "features": [{"name": "dict-feature"}],
    },
    {"name": "empty", "meta-type": "object", "members": []},
    {
        "name": "opts",
        "meta-type": "object",
        "tag": "driver",
        "members": [
            {"name": "driver", "type": "driver"},
            {"name": "node-name", "type": "str"},
            {"name": "read-only", "type": "bool", "default": None},
            {"name": "0weird", "type": "int"},
            {"name": "cache", "type": "cache-mode"},
        ],
        "variants": [
            {"case": "file", "type": "file-opts"},
            {"case": "qcow2", "type": "qcow2-opts"},
        ],
    },
    {
        "name": "file-opts",
        "meta-type": "object",
        "members": [
            {"name": "filename", "type": "str"},
            {"name": "aio", "type": "aio-mode", "default": None},
        ],
        "features": ["dynamic-auto-read-only"],
    },
    {"name": "qcow2-opts", "meta-type": "object", "members": [{"name": "file", "type": "ref"}]},
    {"name": "ref", "meta-type": "alternate", "members": [{"type": "opts"}, {"type": "str"}]},
    {"name": "driver", "meta-type": "enum", "values": ["file", "qcow2"]},
    {
        "name": "aio-mode",
        "meta-type": "enum",
        "values": ["threads", "native"],
        "members": [{"name": "threads"}, {"name": "native", "features": ["deprecated"]}],
    },
    {"name": "cache-mode", "meta-type": "enum", "values": ["old"], "members": [{"name": "new"}]},
    {
        "name": "thing",
        "meta-type": "object",
        "members": [{"name": "name", "type": "str"}, {"name": "tags", "type": "[str]"}],
    },
    {"name": "[thing]", "meta-type": "array", "element-type": "thing"},
    {"name": "[str]", "meta-type": "array", "element-type": "str"},
    builtin("str", "string"),
    builtin("int", "int"),
    builtin("bool", "boolean"),
]


@pytest.fixture(scope="module")
def mini() -> SchemaIndex:
    return SchemaIndex(MINI)


def name_of(index: SchemaIndex, query: str) -> str | None:
    entry = path_get(index, query)
    return None if entry is None else str(entry["name"])


# --- SchemaIndex ---------------------------------------------------------------------


def test_index_by_name_keeps_the_list(mini: SchemaIndex) -> None:
    assert mini.entries is MINI
    assert len(mini) == len(MINI)
    assert "blockdev-add" in mini
    assert mini.get("[thing]") == {"name": "[thing]", "meta-type": "array", "element-type": "thing"}
    assert mini.get("nope") is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([builtin("str", "string"), "oops"], "entry 1 is not an object"),
        ([{"meta-type": "builtin"}], "entry 0 has no string 'name'"),
        ([{"name": 7, "meta-type": "builtin"}], "entry 0 has no string 'name'"),
        ([builtin("str", "string"), {"name": "x"}], "entry 1 ('x') has no string 'meta-type'"),
        ([builtin("str", "string"), builtin("str", "string")], "entry 1: duplicate name 'str'"),
    ],
)
def test_index_rejects_bad_entries(entries: list[Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        SchemaIndex(entries)


# --- first step: command or event ------------------------------------------------------


def test_first_step_names_a_command_or_event(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add") == "blockdev-add"
    assert name_of(mini, "THING_EVENT") == "THING_EVENT"


@pytest.mark.parametrize("query", ["no-such-command", "no-such-command/arg-type/x/^y"])
def test_unknown_first_name_is_not_found_not_an_error(mini: SchemaIndex, query: str) -> None:
    assert path_get(mini, query) is None
    assert path_exists(mini, query) is False


# --- arg-type / ret-type ---------------------------------------------------------------


def test_arg_type_and_ret_type(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type") == "opts"
    assert name_of(mini, "blockdev-add/ret-type") == "empty"
    assert name_of(mini, "THING_EVENT/arg-type") == "thing"


@pytest.mark.parametrize(
    "query",
    ["THING_EVENT/ret-type", "blockdev-add/name", "blockdev-add/meta-type", "blockdev-add/nope"],
)
def test_other_command_fields_are_not_found(mini: SchemaIndex, query: str) -> None:
    assert not path_exists(mini, query)


@pytest.mark.parametrize("query", ["blockdev-add/*arg-type", "blockdev-add/+arg-type"])
def test_member_modifiers_do_not_apply_to_commands(mini: SchemaIndex, query: str) -> None:
    assert not path_exists(mini, query)


def test_array_at_the_end_is_returned_not_flattened(mini: SchemaIndex) -> None:
    assert name_of(mini, "query-things/ret-type") == "[thing]"


# --- members: name, *name, +case ------------------------------------------------------


def test_plain_member(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/node-name") == "str"
    assert name_of(mini, "blockdev-add/arg-type/read-only") == "bool"
    assert not path_exists(mini, "blockdev-add/arg-type/filename")  # a variant's member


def test_optional_member(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/*read-only") == "bool"
    assert not path_exists(mini, "blockdev-add/arg-type/*node-name")  # mandatory
    assert not path_exists(mini, "blockdev-add/arg-type/*missing")


def test_variant(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/+file") == "file-opts"
    assert name_of(mini, "blockdev-add/arg-type/+file/filename") == "str"
    assert not path_exists(mini, "blockdev-add/arg-type/+vmdk")
    assert not path_exists(mini, "blockdev-add/arg-type/+driver")  # a member, not a case


def test_leading_space_escapes_a_name_starting_with_a_non_letter(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/ 0weird") == "int"
    # Unescaped, libvirt drops the first character and looks for "weird".
    assert not path_exists(mini, "blockdev-add/arg-type/0weird")
    # Any name may carry the escape.
    assert name_of(mini, "blockdev-add/arg-type/ node-name") == "str"
    assert name_of(mini, "blockdev-add/ arg-type") == "opts"


# --- boolean steps ------------------------------------------------------------------


def test_enum_value_old_style_values(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/driver/^qcow2") == "driver"
    assert not path_exists(mini, "blockdev-add/arg-type/driver/^vmdk")


def test_enum_value_members_list_supersedes_values(mini: SchemaIndex) -> None:
    assert path_exists(mini, "blockdev-add/arg-type/+file/aio/^native")
    assert path_exists(mini, "blockdev-add/arg-type/cache/^new")
    assert not path_exists(mini, "blockdev-add/arg-type/cache/^old")


def test_enum_value_feature(mini: SchemaIndex) -> None:
    aio = "blockdev-add/arg-type/+file/aio"
    assert name_of(mini, f"{aio}/^native/$deprecated") == "aio-mode"
    assert not path_exists(mini, f"{aio}/^threads/$deprecated")
    assert not path_exists(mini, f"{aio}/^io_uring/$deprecated")
    # Old-style values carry no features.
    assert not path_exists(mini, "blockdev-add/arg-type/driver/^file/$deprecated")


def test_builtin_json_type(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/node-name/!string") == "str"
    assert path_exists(mini, "blockdev-add/arg-type/read-only/!boolean")
    assert not path_exists(mini, "blockdev-add/arg-type/node-name/!int")


def test_feature_of_object_command_and_event(mini: SchemaIndex) -> None:
    assert name_of(mini, "blockdev-add/arg-type/+file/$dynamic-auto-read-only") == "file-opts"
    assert name_of(mini, "blockdev-add/$cmd-feature") == "blockdev-add"
    assert path_exists(mini, "THING_EVENT/$dict-feature")  # {"name": ...} shaped
    assert not path_exists(mini, "blockdev-add/arg-type/+qcow2/$dynamic-auto-read-only")
    assert not path_exists(mini, "blockdev-add/$dynamic-auto-read-only")


@pytest.mark.parametrize(
    "query",
    [
        "blockdev-add/arg-type/^file",  # object
        "blockdev-add/arg-type/!string",
        "blockdev-add/^file",  # command
        "blockdev-add/!string",
        "blockdev-add/arg-type/driver/!string",  # enum
        "blockdev-add/arg-type/driver/$feature",
        "blockdev-add/arg-type/driver/file",
        "blockdev-add/arg-type/node-name/^x",  # builtin
        "blockdev-add/arg-type/node-name/$feature",
        "blockdev-add/arg-type/node-name/x",
    ],
)
def test_step_for_another_meta_type_is_not_found(mini: SchemaIndex, query: str) -> None:
    assert not path_exists(mini, query)


# --- arrays and alternates ------------------------------------------------------------


def test_arrays_are_flattened_without_consuming_a_step(mini: SchemaIndex) -> None:
    assert name_of(mini, "query-things/ret-type/name") == "str"
    assert path_exists(mini, "query-things/ret-type/tags/!string")


def test_alternate_tries_each_member_in_order(mini: SchemaIndex) -> None:
    ref = "blockdev-add/arg-type/+qcow2/file"
    assert name_of(mini, ref) == "ref"
    assert name_of(mini, f"{ref}/+file/filename") == "str"  # first member: opts
    assert name_of(mini, f"{ref}/!string") == "str"  # second member: str
    assert not path_exists(mini, f"{ref}/!int")


# --- malformed queries ----------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "/blockdev-add",
        "blockdev-add/",
        "blockdev-add//node-name",
        "blockdev-add/$cmd-feature/arg-type",
        "blockdev-add/arg-type/node-name/!string/x",
        "blockdev-add/arg-type/driver/^file/x",
        "blockdev-add/arg-type/driver/^file/^qcow2",
        "blockdev-add/arg-type/driver/^file/$a/$b",
        "blockdev-add/arg-type/$a/^b",
        # Malformed whatever the schema holds: the first name does not matter.
        "no-such-command/$a/b",
    ],
)
def test_malformed_query_raises(mini: SchemaIndex, query: str) -> None:
    with pytest.raises(QueryError, match=r"malformed query string|must not have followers"):
        path_get(mini, query)
    with pytest.raises(QueryError):
        path_exists(mini, query)


def test_query_error_is_an_input_error() -> None:
    assert issubclass(QueryError, InputError)


# --- malformed schemas ----------------------------------------------------------------


def command(arg_type: str) -> dict[str, Any]:
    return {"name": "cmd", "meta-type": "command", "arg-type": arg_type}


@pytest.mark.parametrize(
    ("entries", "query"),
    [
        ([command("missing")], "cmd/arg-type"),
        (
            [command("obj"), {"name": "obj", "meta-type": "object", "members": [{"name": "m"}]}],
            "cmd/arg-type/m",
        ),
        ([command("arr"), {"name": "arr", "meta-type": "array"}], "cmd/arg-type/x"),
        ([command("alt"), {"name": "alt", "meta-type": "alternate"}], "cmd/arg-type/x"),
        ([command("b"), {"name": "b", "meta-type": "builtin"}], "cmd/arg-type/!string"),
        ([command("e"), {"name": "e", "meta-type": "enum"}], "cmd/arg-type/^x"),
        ([command("e"), {"name": "e", "meta-type": "enum", "members": ["x"]}], "cmd/arg-type/^x"),
        ([command("o"), {"name": "o", "meta-type": "object", "features": [3]}], "cmd/arg-type/$f"),
    ],
)
def test_malformed_schema_raises(entries: list[dict[str, Any]], query: str) -> None:
    with pytest.raises(QueryError, match="malformed QAPI schema"):
        path_exists(SchemaIndex(entries), query)


def test_unknown_meta_type_is_not_found() -> None:
    index = SchemaIndex([command("t"), {"name": "t", "meta-type": "future-thing"}])
    assert not path_exists(index, "cmd/arg-type/x")
    assert name_of(index, "cmd/arg-type") == "t"


def test_alternate_stops_at_a_malformed_member() -> None:
    index = SchemaIndex(
        [
            command("alt"),
            {"name": "alt", "meta-type": "alternate", "members": [{"type": "gone"}, {"type": "s"}]},
            builtin("s", "string"),
        ]
    )
    with pytest.raises(QueryError, match="'gone' does not exist"):
        path_exists(index, "cmd/arg-type/!string")


def array_chain(length: int) -> SchemaIndex:
    """cmd's arg-type is ``length`` nested arrays around a string."""
    arrays = [
        {"name": f"a{i}", "meta-type": "array", "element-type": f"a{i + 1}"} for i in range(length)
    ]
    arrays[-1]["element-type"] = "s"
    return SchemaIndex([command("a0"), *arrays, builtin("s", "string")])


def test_depth_limit_matches_libvirt() -> None:
    # cmd is visited at depth 0, so the string sits at depth length + 1.
    assert path_exists(array_chain(MAX_DEPTH - 1), "cmd/arg-type/!string")
    with pytest.raises(QueryError, match="possible loop"):
        path_exists(array_chain(MAX_DEPTH), "cmd/arg-type/!string")


@pytest.mark.parametrize(
    "loop",
    [
        {"name": "t", "meta-type": "array", "element-type": "t"},
        {"name": "t", "meta-type": "alternate", "members": [{"type": "t"}]},
    ],
)
def test_schema_loops_raise_instead_of_recursing(loop: dict[str, Any]) -> None:
    with pytest.raises(QueryError, match="possible loop"):
        path_exists(SchemaIndex([command("t"), loop]), "cmd/arg-type/x")


# --- real replies ---------------------------------------------------------------------


@cache
def real(version: str) -> SchemaIndex:
    return SchemaIndex(load_schema(SCHEMAS / f"qmp-schema-{version}.json"))


def since(first: str) -> set[str]:
    return set(VERSIONS[VERSIONS.index(first) :])


ALL = set(VERSIONS)
FILE = "blockdev-add/arg-type/+file"

REAL_PROBES: list[tuple[str, set[str]]] = [
    (f"{FILE}/$dynamic-auto-read-only", since("4.1.0-dev")),
    ("blockdev-add/arg-type/+host_device/$dynamic-auto-read-only", since("4.1.0-dev")),
    ("blockdev-add/arg-type/+host_cdrom/$dynamic-auto-read-only", since("4.1.0-dev")),
    ("blockdev-add/arg-type/+qcow2/$dynamic-auto-read-only", set()),
    ("blockdev-add/arg-type/$dynamic-auto-read-only", set()),
    ("blockdev-add/arg-type/auto-read-only", ALL),
    ("blockdev-add/arg-type/*auto-read-only", ALL),
    ("blockdev-add/arg-type/*driver", set()),
    ("block-commit/arg-type/*top", ALL),
    ("query-qmp-schema/ret-type/name/!string", ALL),
    ("query-qmp-schema/ret-type/name/!int", set()),
    (f"{FILE}/aio/^native", ALL),
    (f"{FILE}/aio/^io_uring", {"5.2.0", "8.1.0"}),
    ("blockdev-snapshot/$allow-write-only-overlay", {"5.2.0", "8.1.0"}),
    ("human-monitor-command/$savevm-monitor-nodes", since("4.2.0")),
    # Through the BlockdevRef / BlockdevRefOrNull alternates.
    ("blockdev-add/arg-type/+qcow2/file/+file/$dynamic-auto-read-only", since("4.1.0-dev")),
    ("blockdev-add/arg-type/+qcow2/backing/+file/$dynamic-auto-read-only", since("4.1.0-dev")),
    ("blockdev-add/arg-type/+qcow2/file/!string", ALL),
    ("blockdev-add/arg-type/+qcow2/backing/!null", ALL),
    ("blockdev-add/arg-type/+qcow2/file/!int", set()),
    # Enum values grew features (and a "members" list) after 6.2.
    ("object-add/arg-type/qom-type/^x-remote-object/$unstable", {"8.1.0"}),
    ("object-add/arg-type/qom-type/^authz-list/$unstable", set()),
    ("migrate-set-capabilities/arg-type/capabilities/capability/^x-colo", ALL),
    ("migrate-set-capabilities/arg-type/capabilities/capability/^x-colo/$unstable", {"8.1.0"}),
    ("no-such-command/arg-type/x", set()),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("query", "holds_on"), REAL_PROBES)
def test_real_probe(version: str, query: str, holds_on: set[str]) -> None:
    assert path_exists(real(version), query) is (version in holds_on)


@pytest.mark.parametrize("version", VERSIONS)
def test_real_reopen_command(version: str) -> None:
    index = real(version)
    experimental = path_get(index, "x-blockdev-reopen")
    stable = path_get(index, "blockdev-reopen")
    assert (experimental is not None) is (version in {"4.0.0", "4.1.0-dev", "4.2.0", "5.2.0"})
    assert (stable is not None) is (version == "8.1.0")
    for entry in (experimental, stable):
        assert entry is None or entry["meta-type"] == "command"


@pytest.mark.parametrize("version", VERSIONS)
def test_real_type_query_returns_the_file_struct(version: str) -> None:
    file_struct = path_get(real(version), FILE)
    assert file_struct is not None
    assert file_struct["meta-type"] == "object"
    assert file_struct["name"].isdigit()  # masked type name
    assert path_get(real(version), "blockdev-add/arg-type/+host_device") is file_struct


def test_real_file_struct_names_per_version() -> None:
    assert name_of(real("4.1.0-dev"), FILE) == "246"
    assert name_of(real("8.1.0"), FILE) == "314"


@pytest.mark.parametrize("version", VERSIONS)
def test_real_malformed_query_still_raises(version: str) -> None:
    with pytest.raises(QueryError):
        path_exists(real(version), f"{FILE}/$dynamic-auto-read-only/x")


@pytest.mark.parametrize("version", VERSIONS)
def test_real_replies_answer_the_shipped_libvirt_s_queries(version: str) -> None:
    from optcompare.policies import libvirt

    index = real(version)
    assert path_exists(index, libvirt.FILE_PROBE) is (version not in ("3.1.0", "4.0.0"))
    assert path_exists(index, libvirt.SAVEVM_QUERY) is (
        version in ("4.2.0", "5.2.0", "8.1.0"))


def test_answers_are_kept_per_index_and_malformed_queries_still_raise() -> None:
    index = SchemaIndex(MINI)
    assert path_exists(index, "blockdev-add/arg-type/read-only")
    assert not path_exists(index, "blockdev-add/arg-type/auto-read-only")
    assert index.answers == {"blockdev-add/arg-type/read-only": True,
                             "blockdev-add/arg-type/auto-read-only": False}
    assert path_exists(index, "blockdev-add/arg-type/read-only")
    assert not path_exists(index, "blockdev-add/arg-type/auto-read-only")
    for _ in range(2):
        with pytest.raises(QueryError):
            path_exists(index, "blockdev-add//read-only")
    assert len(index.answers) == 2


# -- an index revised from another's entries ------------------------------------------


def _revision_pair() -> tuple[SchemaIndex, SchemaIndex]:
    entries: list[dict[str, Any]] = [
        {"name": "cmd", "meta-type": "command", "arg-type": "1", "ret-type": "2"},
        {"name": "other", "meta-type": "command", "arg-type": "2", "ret-type": "2"},
        {"name": "1", "meta-type": "object", "members": [{"name": "a", "type": "str"}]},
        {"name": "2", "meta-type": "object", "members": []},
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
    ]
    base = SchemaIndex(entries)
    changed = {"name": "1", "meta-type": "object", "members": [{"name": "b", "type": "str"}]}
    return base, SchemaIndex.revised(base, {2: changed})


def test_a_revised_index_answers_from_its_own_entries_where_they_changed() -> None:
    base, revised = _revision_pair()
    assert path_exists(base, "cmd/arg-type/a")  # asked of the base first
    assert not path_exists(revised, "cmd/arg-type/a")
    assert path_exists(revised, "cmd/arg-type/b")
    assert not path_exists(base, "cmd/arg-type/b")
    assert revised.get("1") is not base.get("1") and revised.get("2") is base.get("2")


def test_a_revised_index_inherits_what_reads_no_changed_entry() -> None:
    base, revised = _revision_pair()
    assert not path_exists(revised, "other/arg-type/a")
    assert "other/arg-type/a" in base.answers  # answered once, on the base
    assert revised.reads["other/arg-type/a"] == frozenset({"other", "2"})
    assert path_exists(revised, "cmd/ret-type/$x") is False
    assert path_exists(revised, "nothing/arg-type") is False


def test_a_revision_may_not_rename_an_entry() -> None:
    base, _ = _revision_pair()
    with pytest.raises(InputError, match="replaces another name"):
        SchemaIndex.revised(base, {3: {"name": "3", "meta-type": "object", "members": []}})
    assert SchemaIndex.revised(base, {}).entries == base.entries


# -- the walk of single steps against the full traversal ------------------------------------


class _Full(query_module._Traversal):
    """The traversal that tries every type as a candidate list (no walk of single steps)."""

    def single_step(self, key: tuple[str, int]) -> bool:
        return False


def _outcome(traversal: query_module._Traversal) -> object:
    try:
        return traversal.run()
    except QueryError as error:
        return str(error)


def _paths(index: SchemaIndex, start: str, depth: int) -> list[str]:
    """Queries along every member, variant and command field from ``start``, ``depth`` deep."""
    found: list[str] = []

    def step(path: str, type_name: object, left: int) -> None:
        entry = index.get(type_name) if isinstance(type_name, str) else None
        if entry is None or left == 0:
            return
        if entry["meta-type"] in ("array", "alternate"):
            inner = ([entry.get("element-type")] if entry["meta-type"] == "array"
                     else [m.get("type") for m in entry.get("members", [])])
            for t in inner:
                step(path, t, left - 1)
            return
        for member in entry.get("members", []) if entry["meta-type"] == "object" else []:
            for prefix in ("", "*"):
                found.append(f"{path}/{prefix}{member['name']}")
                step(found[-1], member.get("type"), left - 1)
        for variant in entry.get("variants", []):
            found.append(f"{path}/+{variant['case']}")
            step(found[-1], variant.get("type"), left - 1)
        found.extend(f"{path}/{b}" for b in ("^on", "!string", "$unstable", "nothing"))

    command = index.get(start) or {}
    for field in ("arg-type", "ret-type"):
        found.append(f"{start}/{field}")
        step(found[-1], command.get(field), depth)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_walking_single_steps_answers_as_the_full_traversal(version: str) -> None:
    index = real(version)
    starts = ("blockdev-add", "query-named-block-nodes", "blockdev-reopen", "x-blockdev-reopen",
              "query-qmp-schema", "block-export-add", "BLOCK_JOB_COMPLETED")
    queries = [q for start in starts for q in _paths(index, start, 4)]
    assert len(queries) > 100
    for query in queries:
        steps = query_module.split_query(query)
        fast = _outcome(query_module._Traversal(index, query, steps))
        assert fast == _outcome(_Full(index, query, steps)), query
