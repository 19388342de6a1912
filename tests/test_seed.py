"""Each sentence of the seed thread, as an assertion on the model."""

from __future__ import annotations

import pytest

from optcompare.model import messages
from optcompare.model.modes import Mode
from optcompare.policies import registry
from optcompare.policies.base import Build, Frontend
from optcompare.policies.option_3 import EIGHT_CASES

RO, ARO, DRO = "read-only", "auto-read-only", "dynamic-read-only"

FILE_POSIX = ("file", "host_device")
SOME_OTHER = ("gluster", "iscsi", "nbd", "rbd", "http", "bochs", "vvfat")
REMAINING = ("ssh", "nfs", "nvme", "null-co", "qcow2", "raw", "vmdk")


def build(name: str) -> Build:
    return registry.get(name).build()


def mode(b: Build, driver: str, **written: bool) -> Mode:
    options = {k.replace("_", "-"): v for k, v in written.items()}
    return b.resolve(options, driver).mode


ALL = FILE_POSIX + SOME_OTHER + REMAINING


# The thread's table is about file-posix; 3.0's read-only formats and rbd at
# a snapshot switched themselves to read-only (bochs.c:119, cloop.c:81,
# dmg.c:427, vvfat.c:1271, rbd.c:726 @v3.0.0).
SELF_READ_ONLY_30 = ("bochs", "cloop", "dmg", "vvfat", "rbd")


# "Behavior before 3.1"
@pytest.mark.parametrize("driver", ALL)
def test_before_3_1(driver: str) -> None:
    b = build("qemu-3.0")
    assert b.options(driver) == (RO,)
    assert b.resolve({RO: True}, driver).mode is Mode.HARD_RO  # read-only=on: hard read-only
    # read-only=off: hard read-write, but for the drivers that switch themselves
    expected = Mode.FALLBACK_RO if driver in SELF_READ_ONLY_30 else Mode.HARD_RW
    assert b.resolve({RO: False}, driver).mode is expected
    unknown = b.resolve({RO: False, ARO: True}, driver)
    assert unknown.mode is Mode.ERROR
    assert unknown.error == "Parameter 'auto-read-only' is unexpected"


# "Behavior in 3.1: new parameter auto-read-only, default off."
@pytest.mark.parametrize("driver", ALL)
def test_3_1_shared_lines(driver: str) -> None:
    b = build("qemu-3.1")
    assert b.resolve({}, driver).effective == {RO: False, ARO: False}  # default off
    assert b.resolve({RO: True}, driver).mode is Mode.HARD_RO
    # read-only=on,auto-read-only=on: hard read-only (auto-read-only=on silently ignored)
    assert b.resolve({RO: True, ARO: True}, driver).mode is Mode.HARD_RO
    assert b.resolve({RO: False}, driver).mode is Mode.HARD_RW


def test_3_1_read_only_off_auto_on_depends_on_the_driver() -> None:
    b = build("qemu-3.1")
    for driver in (*FILE_POSIX, "host_cdrom"):  # file-posix.c's drivers: fallback
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.FALLBACK_RO
    for driver in SOME_OTHER:  # some other drivers: fallback read-only
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.FALLBACK_RO
    for driver in REMAINING:  # remaining drivers: hard read/write
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.HARD_RW


# "Behavior in 4.0 so far"
@pytest.mark.parametrize("driver", ALL)
def test_4_0_no_change_lines(driver: str) -> None:
    old, new = build("qemu-3.1"), build("qemu-4.0")
    for written in ({RO: True}, {RO: True, ARO: True}, {RO: False}):
        assert new.resolve(written, driver) == old.resolve(written, driver)


def test_4_0_read_only_off_auto_on() -> None:
    b = build("qemu-4.0")
    for driver in FILE_POSIX:  # file-posix.c's drivers: dynamic read-only
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.DYNAMIC_RO
    # host_cdrom is one of file-posix.c's drivers but never upgrades (reference, 3)
    assert b.resolve({RO: False, ARO: True}, "host_cdrom").mode is Mode.STICKY_RO
    for driver in SOME_OTHER:  # fallback read-only (no change)
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.FALLBACK_RO
    for driver in REMAINING:  # hard read/write (no change)
        assert b.resolve({RO: False, ARO: True}, driver).mode is Mode.HARD_RW


def test_4_1_moves_vmdk_from_hard_to_fallback() -> None:
    assert mode(build("qemu-4.0"), "vmdk", read_only=False, auto_read_only=True) is Mode.HARD_RW
    assert mode(build("qemu-4.1"), "vmdk", read_only=False, auto_read_only=True) is (
        Mode.FALLBACK_RO
    )


# Option 3: "three bools -> eight cases", every "Shorthand for" line.
SHORTHANDS = [
    ({RO: True}, (True, False, False), Mode.HARD_RO),
    ({RO: True, ARO: True}, (True, True, True), Mode.HARD_RO),
    ({RO: False}, (False, False, False), Mode.HARD_RW),
    ({RO: False, ARO: True}, (False, True, True), Mode.DYNAMIC_RO),
    ({RO: True, DRO: True}, (True, False, True), Mode.ERROR),
    ({RO: True, ARO: True, DRO: False}, (True, True, False), Mode.ERROR),
]


@pytest.mark.parametrize(("written", "effective", "expected"), SHORTHANDS)
@pytest.mark.parametrize("driver", FILE_POSIX)
def test_option_3_shorthand_lines(
    driver: str, written: dict[str, bool], effective: tuple[bool, bool, bool], expected: Mode
) -> None:
    res = build("option-3").resolve(written, driver)
    assert (res.effective[RO], res.effective[ARO], res.effective[DRO]) == effective
    assert res.mode is expected


@pytest.mark.parametrize(
    "written",
    [{RO: False, ARO: True, DRO: False}, {RO: False, ARO: False, DRO: True}],
)
def test_option_3_error_and_not_applicable(written: dict[str, bool]) -> None:
    b = build("option-3")
    for driver in FILE_POSIX:  # file-posix.c's drivers: error
        res = b.resolve(written, driver)
        assert res.mode is Mode.ERROR
        assert res.error is not None
        assert "dynamic-read-only" in res.error
    for driver in SOME_OTHER + REMAINING + ("host_cdrom",):  # all other drivers: N/A
        res = b.resolve(written, driver)
        assert res.error == messages.unexpected_parameter(DRO)


def test_option_3_eight_cases_are_the_semantics() -> None:
    b = build("option-3")
    seen = {}
    for (ro, aro, dro), verdict in EIGHT_CASES.items():
        res = b.resolve({RO: ro, ARO: aro, DRO: dro}, "file")
        seen[(ro, aro, dro)] = res.mode
        assert (res.mode is Mode.ERROR) == (verdict is not None)
    assert len(seen) == 8
    # "read-only=off,auto-read-only=on" on other drivers: no change from 4.0.
    for driver in SOME_OTHER + REMAINING:
        assert b.resolve({RO: False, ARO: True}, driver) == build("qemu-4.0").resolve(
            {RO: False, ARO: True}, driver
        )


def test_option_3_keeps_the_promise_by_default_and_not_in_the_shared_variant() -> None:
    from optcompare.policies import option_3

    assert DRO not in build("option-3").options("host_cdrom")
    shared = option_3.make(shared_struct=True).build()
    assert DRO in shared.options("host_cdrom")
    assert shared.resolve({RO: False, ARO: True}, "host_cdrom").mode is Mode.STICKY_RO


def test_option_1_renames_without_alias() -> None:
    b = build("option-1")
    assert b.resolve({ARO: True}, "file").error == "Parameter 'auto-read-only' is unexpected"
    assert b.resolve({RO: False, "auto-read-only-v2": True}, "file").mode is Mode.DYNAMIC_RO


def test_drive_defaults_auto_read_only_on_from_3_1() -> None:
    assert build("qemu-3.0").resolve({}, "file", Frontend.DRIVE).effective == {RO: False}
    assert build("qemu-3.1").resolve({}, "file", Frontend.DRIVE).effective == {RO: False, ARO: True}
    assert build("qemu-3.1").resolve({}, "file", Frontend.BLOCKDEV).effective == {
        RO: False,
        ARO: False,
    }


def test_a_policy_that_overrides_drivers_is_honoured_by_its_builds() -> None:
    from dataclasses import dataclass

    from optcompare.model.drivers import Driver, Platform
    from optcompare.policies.base import Policy

    @dataclass(frozen=True)
    class OnlyFile(Policy):
        def drivers(self, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
            return {"file": super().drivers(platform)["file"]}

    policy = OnlyFile(name="only-file", title="t", source="s", release="4.1", version="4.1.0")
    assert list(policy.build().drivers) == ["file"]
    assert policy.build().options("file") == (RO, ARO)
