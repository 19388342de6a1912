"""What a libvirt-style client concludes about generated and real schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from optcompare.model.drivers import Platform
from optcompare.policies import option_1, option_3, registry
from optcompare.render.introspection_views import conclusion_json, verdict
from optcompare.schema import corpus
from optcompare.schema.builder import build_schema
from optcompare.schema.conclude import Conclusion, conclude, known_builds
from optcompare.schema.load import load_schema
from optcompare.schema.target import (
    BuildTarget,
    CommandNotFound,
    NotRunnable,
    SchemaTarget,
)

SCHEMAS = Path(str(corpus.directory()))
FILE_POSIX = ["file", "host_device", "host_cdrom"]


def real(version: str) -> list[dict[str, Any]]:
    path = SCHEMAS / f"qmp-schema-{version}.json"
    assert path.is_file(), f"missing reference schema {path}"
    return load_schema(path)


def of(name: str, platform: Platform = Platform.POSIX) -> Conclusion:
    b = registry.get(name).build(platform)
    return conclude(build_schema(b), b.name)


SAME_3_1_4_0 = ("qemu-3.1", "qemu-3.1@windows", "qemu-4.0", "qemu-4.0@windows", "qemu-4.0.0",
                "qemu-4.0.0@windows", "option-3@windows", "explicit-reopen",
                "explicit-reopen@windows", "qemu-4.1@windows")
"""explicit-reopen is 3.1's semantics plus x-blockdev-reopen: no signal either."""


@pytest.mark.parametrize("version", ["3.1.0", "4.0.0"])
def test_real_3_1_and_4_0_cannot_be_told_apart(version: str) -> None:
    c = conclude(real(version), version)
    # qemu-4.0.0 differs from qemu-4.0 in behaviour only, never in the schema; and
    # a Windows reply keeps every variant of the union (block-core.json @v4.1.0), so
    # the builds without a signal on Windows look the same too.
    assert c.consistent_with == SAME_3_1_4_0
    assert c.indistinguishable
    assert c.adverts == ()
    assert c.base_options == ("auto-read-only",)
    assert "qemu-3.1, qemu-3.1@windows, qemu-4.0, " in verdict(c)
    assert "no auto-read-only signal tells them apart" in verdict(c)
    (reopen,) = c.other_differences
    assert reopen.name == "x-blockdev-reopen"
    assert reopen.builds_without == ("qemu-3.1", "qemu-3.1@windows")
    assert reopen.in_schema is (version == "4.0.0")
    expected = reopen.builds_with if version == "4.0.0" else ("qemu-3.1", "qemu-3.1@windows")
    assert "qemu-4.0.0" in reopen.builds_with
    assert reopen.agrees_with == expected
    assert f"x-blockdev-reopen is {'present' if reopen.in_schema else 'absent'}" in verdict(c)


@pytest.mark.parametrize("version", ["4.1.0-dev", "4.2.0", "5.2.0", "8.1.0"])
def test_real_4_1_and_later_are_consistent_with_qemu_4_1(version: str) -> None:
    c = conclude(real(version), version)
    assert c.consistent_with == ("qemu-4.1",)
    assert not c.indistinguishable
    assert verdict(c) == "The schema is consistent with qemu-4.1 and no other known build."
    assert c.base_options == ("auto-read-only",)
    assert c.own_options == {}
    assert [a.driver for a in c.adverts] == FILE_POSIX
    for advert in c.adverts:
        assert advert.how == "feature"
        assert advert.name == "dynamic-auto-read-only"
        assert advert.query == f"blockdev-add/arg-type/+{advert.driver}/$dynamic-auto-read-only"
        assert sorted(advert.shared_with) == sorted(d for d in FILE_POSIX if d != advert.driver)
    assert set(c.drivers) > set(c.catalogue_drivers)  # blkdebug, quorum, ... are ignored


def test_real_replies_lack_drivers_the_catalogue_has() -> None:
    c = conclude(real("4.0.0"))
    assert "iser" not in c.catalogue_drivers  # never a blockdev-add driver in QEMU
    assert "qcow2" in c.catalogue_drivers


@pytest.mark.parametrize("build", known_builds(), ids=lambda b: b.name)
def test_every_build_is_consistent_with_itself(build: Any) -> None:
    c = conclude(build_schema(build), build.name)
    assert build.name in c.consistent_with


@pytest.mark.parametrize("name", ["option-2", "option-3", "qemu-4.1"])
def test_posix_builds_with_a_signal_are_unique(name: str) -> None:
    assert of(name).consistent_with == (name,)


@pytest.mark.parametrize("name", ["option-1", "qemu-3.0"])
def test_builds_whose_schema_is_the_same_on_windows(name: str) -> None:
    # option-1's rename sits on the base and 3.0 has no auto-read-only: with every
    # variant in the Windows union, POSIX and Windows replies look alike.
    assert of(name).consistent_with == (name, f"{name}@windows")


def test_generated_3_1_and_4_0_look_the_same() -> None:
    assert of("qemu-3.1").consistent_with == SAME_3_1_4_0
    assert of("qemu-4.0").consistent_with == SAME_3_1_4_0
    assert of("qemu-4.0.0").consistent_with == SAME_3_1_4_0


def test_windows_builds_without_a_signal_cannot_be_told_apart() -> None:
    c = of("qemu-4.1", Platform.WINDOWS)
    assert c.adverts == ()
    assert {"qemu-3.1@windows", "qemu-4.0@windows", "option-3@windows",
            "qemu-4.1@windows"} <= set(c.consistent_with)
    assert c.indistinguishable


def test_how_each_option_advertises() -> None:
    renamed = of("option-1")
    assert renamed.base_options == (option_1.DEFAULT_NAME,)
    assert [a.driver for a in renamed.adverts] == FILE_POSIX
    assert {a.how for a in renamed.adverts} == {"renamed option"}
    assert renamed.adverts[0].query == f"blockdev-add/arg-type/*{option_1.DEFAULT_NAME}"
    on_windows = of("option-1", Platform.WINDOWS)
    # The union lists host_cdrom on Windows too (block-core.json @v4.1.0).
    assert [a.driver for a in on_windows.adverts] == FILE_POSIX

    command = of("option-2")
    assert [a.driver for a in command.adverts] == FILE_POSIX
    assert all(a.needs_command and a.how == "command member" for a in command.adverts)
    assert command.adverts[0].query == "query-qemu-features/ret-type/*file-dynamic-auto-read-only"
    assert of("option-2", Platform.WINDOWS).adverts == ()

    own = of("option-3")
    assert [a.driver for a in own.adverts] == ["file", "host_device"]
    assert own.own_options == {"file": ("dynamic-read-only",),
                               "host_device": ("dynamic-read-only",)}
    shared = option_3.make(shared_struct=True).build()
    assert [a.driver for a in conclude(build_schema(shared)).adverts] == FILE_POSIX


def test_hand_made_schema_without_blockdev_add() -> None:
    schema = [
        {"name": "query-version", "meta-type": "command", "arg-type": "0", "ret-type": "0"},
        {"name": "0", "meta-type": "object", "members": []},
    ]
    c = conclude(schema, "tiny")
    assert c.drivers == ()
    assert c.consistent_with == ()
    assert "cannot be compared" in verdict(c)


def test_an_unknown_renamed_option_is_found_but_matches_nothing() -> None:
    schema = build_schema(option_1.make("auto-read-only-v3").build())
    c = conclude(schema, "renamed")
    assert c.base_options == ("auto-read-only-v3",)
    assert c.adverts == ()  # no known policy says what this name promises
    assert c.consistent_with == ()
    assert "consistent with no known build" in verdict(c)
    assert c.nearest and f"nearest: {c.nearest[0]}" in verdict(c)


def test_conclusion_data_is_json_ready_and_deterministic() -> None:
    one = conclusion_json(conclude(real("4.0.0"), "4.0"))
    two = conclusion_json(conclude(real("4.0.0"), "4.0"))
    assert json.dumps(one) == json.dumps(two)
    assert one["consistent_with"] == list(SAME_3_1_4_0)
    assert one["indistinguishable"] is True
    assert len(one["builds"]) == 2 * len(registry.all_policies())


def test_build_target_runs_clients_and_commands() -> None:
    target = BuildTarget(registry.get("option-2").build())
    assert target.execute("query-qemu-features") == {"file-dynamic-auto-read-only": True}
    assert target.execute("query-version")["qemu"] == {"major": 4, "minor": 0, "micro": 0}
    assert target.execute("blockdev-del") == {}
    assert target.version() == (4, 0, 0)
    with pytest.raises(CommandNotFound, match=r"^The command blockdev-reopen has not been found$"):
        target.execute("blockdev-reopen")
    windows = BuildTarget(registry.get("option-2").build(Platform.WINDOWS))
    assert windows.execute("query-qemu-features") == {}
    with pytest.raises(CommandNotFound):
        BuildTarget(registry.get("qemu-4.1").build()).execute("query-qemu-features")


def test_schema_target_answers_queries_only() -> None:
    target = SchemaTarget(real("4.1.0-dev"), "4.1-dev")
    assert target.has("blockdev-add/arg-type/+file/$dynamic-auto-read-only")
    with pytest.raises(CommandNotFound, match="query-qemu-features has not been found"):
        target.execute("query-qemu-features")
    with pytest.raises(NotRunnable, match="cannot run commands on a schema dump"):
        target.execute("query-version")
    with pytest.raises(NotRunnable):
        target.version()
    # the 4.1 client needs the schema only; the 4.0 one needs the version
    drivers = registry.get("qemu-4.1").build().drivers
    found = registry.get("qemu-4.1").detect(target, drivers)
    assert sorted(found.dynamic) == sorted(FILE_POSIX)
    with pytest.raises(NotRunnable):
        registry.get("qemu-4.0").detect(target, drivers)
