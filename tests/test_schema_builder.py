"""The synthetic query-qmp-schema of every build, in the real SchemaInfo shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from optcompare.model.drivers import Platform
from optcompare.model.modes import Behaviour
from optcompare.policies import option_1, option_2, option_3, registry
from optcompare.policies.base import Build
from optcompare.schema import builder
from optcompare.schema.builder import build_schema, schema_index
from optcompare.schema.query import SchemaIndex, path_exists

BUILDS = [p.build(platform) for p in registry.BUILTIN for platform in Platform]
IDS = [b.name for b in BUILDS]

BASE_BEFORE = ["driver", "node-name", "discard", "cache"]
BASE_AFTER = ["force-share", "detect-zeroes"]
FILE_STRUCT = ["filename", "pr-manager", "locking", "aio", "drop-cache", "x-check-cache-dropped"]


def build(name: str, platform: Platform = Platform.POSIX) -> Build:
    return registry.get(name).build(platform)


def index(b: Build) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in build_schema(b)}


def union(b: Build) -> dict[str, Any]:
    entries = index(b)
    return entries[entries["blockdev-add"]["arg-type"]]


def variant(b: Build, driver: str) -> dict[str, Any]:
    entries = index(b)
    cases = {v["case"]: v["type"] for v in union(b)["variants"]}
    return entries[cases[driver]]


def holds(b: Build, query: str) -> bool:
    return path_exists(schema_index(b), query)


def referenced(entry: dict[str, Any]) -> list[str]:
    names = [entry[k] for k in ("arg-type", "ret-type", "element-type") if k in entry]
    names += [m["type"] for m in entry.get("members", []) if isinstance(m, dict) and "type" in m]
    names += [v["type"] for v in entry.get("variants", [])]
    return names


@pytest.mark.parametrize("b", BUILDS, ids=IDS)
def test_every_build_is_a_closed_schema_in_the_real_shape(b: Build) -> None:
    entries = build_schema(b)
    SchemaIndex(entries)  # unique names, each with a meta-type
    names = {e["name"] for e in entries}
    for entry in entries:
        assert set(entry) >= {"name", "meta-type"}
        for name in referenced(entry):
            assert name in names, f"{entry['name']} refers to missing {name}"
        if entry["meta-type"] == "builtin":
            assert entry["json-type"] in ("string", "int", "value", "boolean", "number", "null")
        if entry["meta-type"] in ("object", "enum", "alternate"):
            assert entry["name"].isdigit(), f"type name {entry['name']} is not masked"
        if entry["meta-type"] == "array":
            assert entry["name"] == f"[{entry['element-type']}]"
        for member in entry.get("members", []) if entry["meta-type"] == "object" else []:
            assert set(member) in ({"name", "type"}, {"name", "type", "default"})
            assert member.get("default", None) is None
    assert {"str", "int", "bool", "any", "null", "number"} <= names


@pytest.mark.parametrize("b", BUILDS, ids=IDS)
def test_masked_names_are_numbered_in_generation_order_and_stable(b: Build) -> None:
    entries = build_schema(b)
    numbers = [int(e["name"]) for e in entries if e["name"].isdigit()]
    assert sorted(numbers) == list(range(len(numbers)))
    assert numbers == sorted(numbers)  # listed in the order they were handed out
    empty = next(e for e in entries if e["name"] == builder.EMPTY_OBJECT)
    assert empty == {"name": "0", "meta-type": "object", "members": []}
    builder._reply.cache_clear()
    builder._text.cache_clear()
    assert build_schema(b) == entries  # made again: identical
    assert json.dumps(builder._Generator(builder._shape(b)).run()) == json.dumps(entries)


def test_each_call_returns_a_fresh_copy() -> None:
    b = build("qemu-4.1")
    first = build_schema(b)
    first.clear()
    assert build_schema(b)


def test_each_shape_is_generated_once() -> None:
    """Builds of one shape share one generated schema (its speed is scripts/bench.py's)."""
    builder._reply.cache_clear()
    builder._text.cache_clear()
    builder._FIRST_OF_SKELETON.clear()  # each reply is made from one of these shapes'
    for _ in range(2):
        for b in BUILDS:
            build_schema(b)
    shapes = {builder._shape(b) for b in BUILDS}
    assert builder._reply.cache_info().misses == len(shapes) < len(BUILDS)


@pytest.mark.parametrize("b", BUILDS, ids=IDS)
def test_blockdev_add_is_a_flat_union_on_driver(b: Build) -> None:
    arg = union(b)
    assert arg["tag"] == "driver"
    names = [m["name"] for m in arg["members"]]
    assert names == BASE_BEFORE + list(b.policy.base_options()) + BASE_AFTER
    assert "default" not in arg["members"][0]  # driver is mandatory
    assert all("default" in m for m in arg["members"][1:])
    # iser is only an iscsi transport (block-core.json:2618 @v3.1.0): no variant;
    # every other variant is there on every platform.
    every = b.policy.build(Platform.POSIX).drivers
    blockdev = sorted(d for d, v in every.items() if v.blockdev)
    assert "iser" not in blockdev
    assert [v["case"] for v in arg["variants"]] == blockdev
    entries = index(b)
    assert entries[arg["members"][0]["type"]]["values"] == blockdev


@pytest.mark.parametrize("b", BUILDS, ids=IDS)
def test_drivers_sharing_a_struct_share_one_entry(b: Build) -> None:
    drivers = {n: d for n, d in b.drivers.items() if d.blockdev}
    cases = {v["case"]: v["type"] for v in union(b)["variants"]}
    assert set(drivers) <= set(cases)
    for one in drivers.values():
        for other in drivers.values():
            same = b.policy.struct_of(one, drivers) == b.policy.struct_of(other, drivers)
            assert (cases[one.name] == cases[other.name]) is same


def test_base_options_follow_the_policy() -> None:
    assert not holds(build("qemu-3.0"), "blockdev-add/arg-type/*auto-read-only")
    assert holds(build("qemu-3.1"), "blockdev-add/arg-type/*auto-read-only")
    renamed = build("option-1")
    assert not holds(renamed, "blockdev-add/arg-type/*auto-read-only")
    assert holds(renamed, f"blockdev-add/arg-type/*{option_1.DEFAULT_NAME}")
    assert holds(option_1.make("auto-ro").build(), "blockdev-add/arg-type/*auto-ro")
    assert holds(renamed.policy.build(Platform.WINDOWS), "blockdev-add/arg-type/*auto-read-only-v2")


def test_file_struct_is_shared_by_file_posix_drivers_and_realistic() -> None:
    b = build("qemu-4.1")
    cases = {v["case"]: v["type"] for v in union(b)["variants"]}
    assert cases["file"] == cases["host_device"] == cases["host_cdrom"]
    struct = variant(b, "file")
    assert [m["name"] for m in struct["members"]] == FILE_STRUCT
    assert holds(b, "blockdev-add/arg-type/+file/filename/!string")
    assert holds(b, "blockdev-add/arg-type/+file/*locking/^auto")
    assert holds(b, "blockdev-add/arg-type/+qcow2/file/+file/$dynamic-auto-read-only")
    assert holds(b, "blockdev-add/arg-type/+qcow2/*backing/!null")


def test_feature_flag_only_on_posix_and_only_where_the_policy_puts_it() -> None:
    posix, windows = build("qemu-4.1"), build("qemu-4.1", Platform.WINDOWS)
    assert variant(posix, "file")["features"] == ["dynamic-auto-read-only"]
    assert "features" not in variant(windows, "file")
    for b in BUILDS:
        with_features = {e["name"] for e in build_schema(b) if "features" in e}
        if b.policy.name != "qemu-4.1" or b.platform is Platform.WINDOWS:
            assert not with_features, b.name
        else:
            assert len(with_features) == 1


def test_windows_builds_lack_posix_only_entities() -> None:
    for policy in registry.BUILTIN:
        posix, windows = policy.build(), policy.build(Platform.WINDOWS)
        # The union's variants are unconditional (block-core.json @v4.1.0): a Windows
        # reply keeps host_cdrom, gluster, ... though the build cannot open them.
        assert holds(posix, "blockdev-add/arg-type/+host_cdrom")
        assert holds(windows, "blockdev-add/arg-type/+host_cdrom")
        assert holds(windows, "blockdev-add/arg-type/+gluster")
        assert "gluster" not in windows.drivers
        assert holds(posix, "blockdev-add/arg-type/+file/*drop-cache")
        assert not holds(windows, "blockdev-add/arg-type/+file/*drop-cache")
        assert holds(windows, "blockdev-add/arg-type/+file/*x-check-cache-dropped")


def test_option_2_return_member_exists_only_on_posix() -> None:
    posix, windows = build("option-2"), build("option-2", Platform.WINDOWS)
    query = f"{option_2.COMMAND}/ret-type/*{option_2.MEMBER}"
    assert holds(posix, query)
    assert holds(windows, option_2.COMMAND)
    assert not holds(windows, query)
    assert index(posix)[option_2.COMMAND]["arg-type"] == builder.EMPTY_OBJECT
    for other in ("qemu-4.0", "option-1", "option-3", "qemu-4.1"):
        assert not holds(build(other), option_2.COMMAND)
    later = option_2.POLICY.later("gluster", Behaviour.DYNAMIC).build()
    assert holds(later, f"{option_2.COMMAND}/ret-type/*gluster-dynamic-auto-read-only")


def test_option_3_gives_its_option_to_dynamic_drivers_only_by_default() -> None:
    b = build("option-3")
    assert holds(b, "blockdev-add/arg-type/+file/*dynamic-read-only")
    assert holds(b, "blockdev-add/arg-type/+host_device/*dynamic-read-only")
    assert not holds(b, "blockdev-add/arg-type/+host_cdrom/*dynamic-read-only")
    assert holds(b, "blockdev-add/arg-type/+host_cdrom/filename")  # still the file struct's
    windows = b.policy.build(Platform.WINDOWS)
    assert not holds(windows, "blockdev-add/arg-type/+file/*dynamic-read-only")
    shared = option_3.make(shared_struct=True).build()
    assert holds(shared, "blockdev-add/arg-type/+host_cdrom/*dynamic-read-only")
    cases = {v["case"]: v["type"] for v in union(shared)["variants"]}
    assert cases["file"] == cases["host_cdrom"]


@pytest.mark.parametrize("b", BUILDS, ids=IDS)
def test_common_commands_and_events(b: Build) -> None:
    for query in (
        "qmp_capabilities/arg-type/*enable/^oob",
        "query-qmp-schema/ret-type/name/!string",
        "query-version/ret-type/qemu/major/!int",
        "blockdev-del/arg-type/node-name",
        "block-commit/arg-type/*top",
        "block-commit/arg-type/*base-node",
        "block-stream/arg-type/*base",
        "blockdev-snapshot/arg-type/overlay",
        "block-job-complete/arg-type/device",
        "job-dismiss/arg-type/id",
        "query-named-block-nodes/ret-type/ro/!boolean",
        "query-named-block-nodes/arg-type/*flat",
        "block-export-add/arg-type/*writable",
        "block-export-add/arg-type/+nbd/*name",
        "JOB_STATUS_CHANGE/arg-type/status/^concluded",
        "BLOCK_JOB_READY/arg-type/device",
        "BLOCK_JOB_COMPLETED/arg-type/*error",
    ):
        assert holds(b, query), query
    assert holds(b, "x-blockdev-reopen/arg-type/+file") is b.policy.has_reopen
    assert index(b)["x-blockdev-reopen" if b.policy.has_reopen else "blockdev-add"]


def test_reopen_from_4_0_on() -> None:
    assert not holds(build("qemu-3.0"), "x-blockdev-reopen")
    assert not holds(build("qemu-3.1"), "x-blockdev-reopen")
    for name in ("qemu-4.0", "option-1", "option-2", "option-3", "qemu-4.1"):
        assert holds(build(name), "x-blockdev-reopen")


# -- a later release's reply made from its base's ------------------------------------


def _later_builds() -> list[Build]:
    builds = []
    for policy in registry.BUILTIN:
        for name, driver in policy.drivers(Platform.POSIX).items():
            flipped = Behaviour.FALLBACK if driver.behaviour is Behaviour.DYNAMIC else (
                Behaviour.DYNAMIC)
            builds.append(policy.later(name, flipped).build(Platform.POSIX))
    return builds


def _fresh() -> None:
    builder._reply.cache_clear()
    builder._index.cache_clear()
    builder._text.cache_clear()
    builder._FIRST_OF_SKELETON.clear()


def _made_from(shape: builder.Shape) -> builder.Shape | None:
    revised = builder._reply(shape).revised
    return None if revised is None else revised[0]


def test_a_revised_reply_is_the_reply_generated_in_full() -> None:
    _fresh()
    bases = [p.build(Platform.POSIX) for p in registry.BUILTIN]
    for b in bases:
        schema_index(b)
    revised = 0
    for b in [*_later_builds(), *(p.build(Platform.WINDOWS) for p in registry.BUILTIN)]:
        shape = builder._shape(b)
        reply = builder._reply(shape)
        revised += reply.revised is not None
        assert json.dumps(reply.entries) == json.dumps(builder._Generator(shape).run())
    assert revised > 20  # the mechanism is in use


def _with_struct(shape: builder.Shape, name: str, options: tuple[builder.Option, ...]
                 ) -> builder.Shape:
    structs = tuple(builder._Struct(s.name, options, s.features) if s.name == name else s
                    for s in shape.structs)
    return builder.Shape(shape.platform, shape.base_options, shape.has_reopen, shape.variants,
                         structs, shape.commands, shape.command_features)


@pytest.mark.parametrize("first_has_enum", [False, True])
def test_a_struct_that_names_a_type_first_moves_the_numbering_and_is_generated_in_full(
    first_has_enum: bool,
) -> None:
    """One struct's option of a new enum type in one of two shapes of one skeleton:
    every later masked number differs, so the reply is not made from the other's."""
    _fresh()
    shape = builder._shape(build("qemu-4.0"))
    struct = shape.structs[0].name
    plain = _with_struct(shape, struct, (("x-plain", (True, False)),))
    enum = _with_struct(shape, struct, (("x-mode", ("alpha", "beta")),))
    first, second = (enum, plain) if first_has_enum else (plain, enum)
    builder._reply(first)
    assert builder._revise(second, first) is None
    reply = builder._reply(second)
    assert reply.revised is None
    assert reply.entries == builder._Generator(second).run()
    assert reply.entries != builder._reply(first).entries


def test_a_struct_of_known_types_only_is_revised_alone() -> None:
    _fresh()
    shape = builder._shape(build("qemu-4.0"))
    struct = shape.structs[0].name
    first = _with_struct(shape, struct, (("x-one", (True, False)),))
    second = _with_struct(shape, struct, (("x-two", (True, False)),))
    builder._reply(first)
    reply = builder._reply(second)
    assert _made_from(second) == first
    assert reply.entries == builder._Generator(second).run()
    changed = [a for a, b in zip(reply.entries, builder._reply(first).entries, strict=True)
               if a is not b]
    assert len(changed) == 1 and changed[0]["members"][-1]["name"] == "x-two"
    query = f"blockdev-add/arg-type/+{shape.variants[0][0]}/*x-two"
    assert path_exists(builder._index(second), query)
    assert not path_exists(builder._index(first), query)


def test_option_2_return_members_are_revised() -> None:
    _fresh()
    before = registry.get("option-2").build(Platform.POSIX)
    after = registry.get("option-2").later("gluster", Behaviour.DYNAMIC).build(Platform.POSIX)
    schema_index(before)
    assert _made_from(builder._shape(after)) == builder._shape(before)
    member = "blockdev-add"  # read by both, the same entry
    assert holds(after, member) and holds(before, member)
    returned = "query-qemu-features/ret-type/*gluster-dynamic-auto-read-only"
    assert holds(after, returned) and not holds(before, returned)


def test_a_windows_reply_made_from_a_posix_one_drops_the_posix_only_members() -> None:
    _fresh()
    posix, windows = (build("qemu-4.0", platform) for platform in Platform)
    schema_index(posix)
    assert _made_from(builder._shape(windows)) == builder._shape(posix)
    file_struct = "blockdev-add/arg-type/+file/*drop-cache"
    assert holds(posix, file_struct) and not holds(windows, file_struct)
    assert build_schema(windows) == builder._Generator(builder._shape(windows)).run()


def test_only_driver_structs_have_posix_only_members() -> None:
    """Else a platform's reply could not be made from another's (the skeleton keeps it)."""
    assert builder._PLATFORM_IN_STRUCTS_ONLY
    assert "platform" not in builder._SHAPE_PARTS
