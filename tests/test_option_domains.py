"""Option value domains: booleans, and enums whose values a policy gives per driver.

The enum policy here is the smallest one that uses the mechanism: ``file``
gets an enum option ``open`` whose values depend on the driver's class,
and ``base`` is left unset when ``open`` is given. The example package in
``examples/`` is the full proposal; these tests need none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from optcompare.analysis import compat, truth_table
from optcompare.model.drivers import Driver
from optcompare.model.modes import Behaviour, Mode
from optcompare.model.options import (
    BOOLEAN,
    READ_ONLY,
    Domain,
    Value,
    Written,
    combinations,
    format_options,
    parse_options,
)
from optcompare.policies import registry
from optcompare.policies.base import Frontend, Policy
from optcompare.schema.builder import build_schema, schema_index
from optcompare.schema.query import path_exists

OPEN = "open"


@dataclass(frozen=True)
class Chooser(Policy):
    """``open``: hard-ro, hard-rw, or the driver's own class where it has one."""

    def driver_options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        return (OPEN,) if driver.name in ("file", "nbd", "host_device") else ()

    def domain(self, option: str, driver: Driver, drivers: Mapping[str, Driver]) -> Domain:
        if option != OPEN:
            return BOOLEAN
        extra = () if driver.behaviour is Behaviour.HARD else (driver.behaviour.value,)
        return ("ro", "rw", *extra)

    def defaults(self, frontend: Frontend, written: Written) -> dict[str, Value]:
        if OPEN in written:
            return {}  # read-only and auto-read-only stay unset
        return super().defaults(frontend, written)

    def invalid(self, effective: Written, driver: Driver) -> str | None:
        if OPEN in effective and len(effective) > 1:
            return "open cannot be combined with read-only or auto-read-only"
        return None

    def mode(self, effective: Written, driver: Driver) -> Mode:
        chosen = effective.get(OPEN)
        if chosen is None:
            return super().mode(effective, driver)
        return {"ro": Mode.HARD_RO, "rw": Mode.HARD_RW}.get(str(chosen), driver.behaviour.mode)

    def struct_of(self, driver: Driver, drivers: Mapping[str, Driver]) -> str:
        return driver.struct + driver.behaviour.value.title() if driver.name == "file" else (
            driver.struct)


CHOOSER = Chooser(name="chooser", title="an enum", source="a test", release="4.0",
                  version="4.0.0")


# -- the values themselves --------------------------------------------------------

def test_combinations_take_each_domain_then_not_given() -> None:
    rows = list(combinations(["read-only", OPEN], {OPEN: ("ro", "rw", "dynamic")}))
    assert len(rows) == 3 * 4
    assert rows[:4] == [{"read-only": True, OPEN: "ro"}, {"read-only": True, OPEN: "rw"},
                        {"read-only": True, OPEN: "dynamic"}, {"read-only": True}]
    assert rows[-1] == {}
    assert len({format_options(r) for r in rows}) == len(rows)


def test_booleans_are_the_default_domain_in_the_old_order() -> None:
    assert list(combinations(["a"])) == [{"a": True}, {"a": False}, {}]
    assert list(combinations(["a"], {"b": ("x",)})) == list(combinations(["a"]))


@pytest.mark.parametrize("written", [
    {}, {"read-only": True}, {OPEN: "dynamic"}, {"read-only": False, OPEN: "on"},
])
def test_format_and_parse_are_inverse_with_the_domains(written: dict[str, Value]) -> None:
    domains = {OPEN: ("on", "off", "dynamic")}
    text = format_options(written)
    assert parse_options(text, domains) == written


def test_an_enum_value_named_on_stays_a_string() -> None:
    assert format_options({OPEN: "on", READ_ONLY: True}) == "open=on,read-only=on"
    assert parse_options("open=on,read-only=on", {OPEN: ("on", "off")}) == {
        OPEN: "on", READ_ONLY: True}
    assert parse_options("open=on,read-only=on") == {OPEN: True, READ_ONLY: True}


@pytest.mark.parametrize(("text", "needle"), [
    ("open=sometimes", "open: expected one of on, off, got 'sometimes'"),
    ("read-only=dynamic", "expected read-only=on or read-only=off"),
    ("read-only", "expected name=value"),
])
def test_parse_refuses_a_value_outside_the_domain(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_options(text, {OPEN: ("on", "off")})


# -- a policy with an enum ------------------------------------------------------------

def test_domains_are_per_driver_and_boolean_by_default() -> None:
    build = CHOOSER.build()
    assert build.domains("file") == {"read-only": BOOLEAN, "auto-read-only": BOOLEAN,
                                     OPEN: ("ro", "rw", "dynamic")}
    assert build.domains("nbd")[OPEN] == ("ro", "rw", "fallback")
    assert OPEN not in build.domains("qcow2")
    assert registry.get("option-3").build().domains("file")["dynamic-read-only"] == BOOLEAN


def test_truth_table_enumerates_the_enum_and_leaves_unset_options_out() -> None:
    rows = truth_table.driver_rows(CHOOSER.build(), "file", Frontend.BLOCKDEV)
    assert len(rows) == 3 * 3 * 4
    by_text = {format_options(r.written): r for r in rows}
    dynamic = by_text["open=dynamic"]
    assert dynamic.cell.mode is Mode.DYNAMIC_RO
    assert dynamic.cell.resolution.effective == {OPEN: "dynamic"}
    assert not dynamic.cell.resolution.shorthand
    assert by_text["open=ro"].cell.mode is Mode.HARD_RO
    assert by_text["read-only=off,open=rw"].cell.mode is Mode.ERROR
    old = by_text["read-only=off,auto-read-only=on"]
    assert old.cell.mode is Mode.DYNAMIC_RO
    assert OPEN not in old.cell.resolution.effective
    valid = [r for r in rows if r.cell.mode is not Mode.ERROR]
    assert len(valid) == 9 + 3  # 4.0's nine, and open alone
    nbd = {format_options(r.written): r.cell.mode
           for r in truth_table.driver_rows(CHOOSER.build(), "nbd", Frontend.BLOCKDEV)}
    assert nbd["open=fallback"] is Mode.FALLBACK_RO
    assert "open=dynamic" not in nbd  # not in nbd's domain: never enumerated


def test_drivers_with_other_domains_are_not_grouped() -> None:
    tables = truth_table.tables(CHOOSER, drivers=("file", "host_device", "nbd"))
    groups = [t.drivers for t in tables]
    assert ("file", "host_device") in groups and ("nbd",) in groups


@pytest.mark.parametrize(("written", "error"), [
    ({OPEN: "dynamic"}, None),
    ({OPEN: "fallback"}, "Invalid parameter 'fallback'"),
    ({OPEN: True}, "Invalid parameter type for 'open', expected: string"),
    ({READ_ONLY: "on"}, "Invalid parameter type for 'read-only', expected: boolean"),
])
def test_resolve_refuses_what_the_domain_lacks(written: dict[str, Value],
                                               error: str | None) -> None:
    assert CHOOSER.build().resolve(written, "file").error == error


def test_schema_types_the_enum_member_with_the_drivers_values() -> None:
    build = CHOOSER.build()
    entries = {e["name"]: e for e in build_schema(build)}
    union = entries[entries["blockdev-add"]["arg-type"]]
    cases = {v["case"]: entries[v["type"]] for v in union["variants"]}
    member = next(m for m in cases["file"]["members"] if m["name"] == OPEN)
    assert entries[member["type"]] == {"name": member["type"], "meta-type": "enum",
                                       "values": ["ro", "rw", "dynamic"]}
    nbd = next(m for m in cases["nbd"]["members"] if m["name"] == OPEN)
    assert entries[nbd["type"]]["values"] == ["ro", "rw", "fallback"]
    base = {m["name"]: m["type"] for m in union["members"]}
    assert base["read-only"] == "bool"
    index = schema_index(build)
    assert path_exists(index, "blockdev-add/arg-type/+file/*open/^dynamic")
    assert not path_exists(index, "blockdev-add/arg-type/+nbd/*open/^dynamic")
    assert path_exists(index, "blockdev-add/arg-type/+nbd/*open/^fallback")
    assert not path_exists(index, "blockdev-add/arg-type/+qcow2/*open/^dynamic")


def test_compat_enumerates_the_baselines_domains_on_the_new_build() -> None:
    report = compat.compare(CHOOSER, [registry.get("qemu-4.0")], [])
    levels = {f.level for f in report.findings if f.kind == "cmdline"}
    assert levels == {compat.Level.INFO}  # the bools unchanged: nothing breaks or moves
    accepted = {f.options for f in report.findings if f.kind == "cmdline"}
    assert {"open=dynamic", "open=ro", "open=rw", "open=fallback"} <= accepted


def test_a_truth_table_with_enum_values_round_trips_through_json() -> None:
    import json

    from optcompare.analysis import report_model as m
    from optcompare.analysis.report import truth_tables
    from optcompare.render import codec

    (table,) = truth_tables(truth_table.tables(CHOOSER, drivers=("file",)))
    rows = {format_options({k: v for k, v in r.options.items() if v is not None}): r
            for r in table.rows}
    assert rows["open=rw"].options == {"read-only": None, "auto-read-only": None, OPEN: "rw"}
    assert rows["open=rw"].effective == {OPEN: "rw"}
    data = json.loads(json.dumps(codec.encode(table)))
    assert codec.decode(m.TruthTable, data) == table
    assert {row["options"][OPEN] for row in data["rows"]} == {"ro", "rw", "dynamic", None}
