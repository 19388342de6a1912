"""Facts the source audit corrected (reference section 9), one test each.

Each states what QEMU's tagged source shows (file:line@tag in the comment)
and would fail on the model as it was before the audit.
"""

from __future__ import annotations

from optcompare.analysis import compat
from optcompare.backends.model import ModelBackend
from optcompare.model.drivers import catalogue
from optcompare.model.modes import Mode
from optcompare.policies import registry
from optcompare.policies.base import Build, Frontend
from optcompare.render.compat_views import summary
from optcompare.scenario import files, load
from optcompare.scenario.backend import StepError
from optcompare.schema.target import BuildTarget

SCENARIOS = load.load_all(files.builtin_files())
READ_ONLY_FORMATS_30 = ("bochs", "cloop", "dmg", "vvfat", "rbd")


def build(name: str) -> Build:
    return registry.get(name).build()


def refusal(policy: str, driver: str) -> str | None:
    return build(policy).driver(driver).refusal


# -- 3.0's read-only formats (bochs.c:119, cloop.c:81, dmg.c:427, vvfat.c:1271, rbd.c:726) ---

def test_3_0_read_only_formats_switch_themselves_to_read_only() -> None:
    b = build("qemu-3.0")
    for driver in READ_ONLY_FORMATS_30:
        assert b.resolve({"read-only": False}, driver).mode is Mode.FALLBACK_RO, driver
    assert b.driver("bochs").behaviour.value == "self-read-only"
    assert b.resolve({"read-only": False}, "file").mode is Mode.HARD_RW


def test_3_1_fails_them_without_auto_read_only_a_break_under_blockdev_only() -> None:
    r = compat.compare(registry.get("qemu-3.1"), [registry.get("qemu-3.0")], SCENARIOS)
    cmdline = [f for f in r.findings if f.kind == "cmdline"]
    breaks = [f for f in cmdline if f.level is compat.Level.BREAK]
    broken = {d for f in breaks for d in f.id.split("/")[6].split("+")}
    assert broken == set(READ_ONLY_FORMATS_30)
    assert all("/blockdev/" in f.id and f.change is compat.Change.FAILS_TO_OPEN for f in breaks)
    # the view says so, from the typed finding
    assert all(summary(f, r.policy).endswith("now fails to open") for f in breaks)
    # -drive defaults auto-read-only=on from 3.1: nothing changes for them there.
    changed_on_drive = [
        f for f in cmdline if "/drive/" in f.id and f.level is not compat.Level.INFO
        and set(f.id.split("/")[6].split("+")) & set(READ_ONLY_FORMATS_30)
    ]
    assert changed_on_drive == []


# -- refusal texts per era ------------------------------------------------------------

def test_3_0_refusal_texts_of_nbd_curl_iscsi() -> None:
    assert refusal("qemu-3.0", "nbd") == (  # nbd-client.c:995 @v3.0.0
        "request for write access conflicts with read-only export")
    assert refusal("qemu-3.0", "http") == "curl block device does not support writes"  # curl.c:686
    assert refusal("qemu-3.0", "iscsi") == (  # iscsi.c:1879 @v3.0.0
        "Cannot open a write protected LUN as read-write")
    assert refusal("qemu-3.1", "nbd") == "NBD export is read-only"
    assert refusal("qemu-4.1", "http") == "curl driver does not support writes"
    assert refusal("qemu-4.1", "iscsi") == "LUN is write protected"


def test_gluster_uses_the_generic_open_error_and_7_2_its_own() -> None:
    # gluster.c:857 passes no error; block.c:1254 @v3.1.0 writes the generic one.
    assert refusal("qemu-4.1", "gluster") == "Could not open '<path>': Permission denied"
    modern = registry.get("qemu-4.1").with_wording("7.2").build()
    assert modern.driver("gluster").refusal == "Could not open image: Permission denied"


def test_hard_drivers_have_their_own_refusals_and_null_co_none() -> None:
    assert refusal("qemu-4.1", "ssh") == "failed to open remote file '<path>'"  # ssh.c:812
    assert refusal("qemu-4.1", "nfs") == "Failed to open file : <reason>"  # nfs.c:530
    texts = {d.refusal for d in catalogue("4.1").values()}
    assert "Image is read-only" in texts  # bochs and friends: block.c:302 @v4.1.0
    assert refusal("qemu-4.1", "ssh") != "Image is read-only"
    null = ModelBackend(build("qemu-4.1"), "null-co")
    null.create([("img", False)])
    null.add_protocol("img", {"read-only": False})  # null-co never fails an open
    assert null.observe("img").fd.value == "rw"


def test_every_refusal_and_class_carries_its_source() -> None:
    for release in ("3.0", "3.1", "4.0", "4.1"):
        for driver in catalogue(release).values():
            assert driver.class_source, (release, driver.name)
            assert driver.refusals and all(r.source for r in driver.refusals), driver.name


def test_3_0_drive_names_the_unknown_option_in_block_c_s_words() -> None:
    b = build("qemu-3.0")
    drive = b.resolve({"read-only": False, "auto-read-only": True}, "file", Frontend.DRIVE)
    assert drive.error == "Block protocol 'file' doesn't support the option 'auto-read-only'"
    fmt = b.resolve({"auto-read-only": True}, "qcow2", Frontend.DRIVE)
    assert fmt.error == "Block format 'qcow2' does not support the option 'auto-read-only'"
    blockdev = b.resolve({"auto-read-only": True}, "file", Frontend.BLOCKDEV)
    assert blockdev.error == "Parameter 'auto-read-only' is unexpected"


def _second_writer(policy: Build) -> str:
    backend = ModelBackend(policy, "file")
    backend.create([("img", True)])
    backend.add_protocol("img", {"auto-read-only": True})
    backend.add_format("img", False, None)
    try:
        backend.attach_writer("img")
    except StepError as error:
        return error.message
    raise AssertionError("a second writer was accepted")


def test_permission_conflict_wording_2019_and_7_2() -> None:
    # block.c:1952 @v4.0.0
    assert _second_writer(build("qemu-4.1")) == (
        "Conflicts with use by node 'img' as 'file', which does not allow 'write' on "
        "img-storage")
    assert _second_writer(registry.get("qemu-4.1").with_wording("7.2").build()).startswith(
        "Permission conflict on node 'img-storage': permissions 'write' are both required")


# -- iser (block-core.json:2618 @v3.1.0) -----------------------------------------------

def test_iser_is_no_blockdev_driver_only_a_drive_url() -> None:
    b = build("qemu-4.1")
    assert b.resolve({}, "iser", Frontend.BLOCKDEV).error == "Invalid parameter 'iser'"
    assert b.resolve({}, "iser", Frontend.DRIVE).mode is Mode.FALLBACK_RO
    assert not BuildTarget(b).has("blockdev-add/arg-type/+iser")
    assert BuildTarget(b).has("blockdev-add/arg-type/+iscsi")


# -- behaviour ----------------------------------------------------------------------

def _read_only_node(policy: Build) -> ModelBackend:
    backend = ModelBackend(policy, "nbd")
    backend.create([("img", True)])
    backend.add_protocol("img", {"read-only": True})
    return backend


def test_a_writable_export_of_a_read_only_node_is_silently_read_only_in_2019() -> None:
    # blockdev-nbd.c:173 @v3.1.0, 187 @v4.0.0: writable quietly becomes false.
    backend = _read_only_node(build("qemu-4.1"))
    backend.attach_writer("img")
    assert backend.writers("img") == 0
    backend.detach_writer("img")
    modern = _read_only_node(registry.get("qemu-4.1").with_wording("7.2").build())
    try:
        modern.attach_writer("img")
    except StepError as error:
        assert error.message == "Cannot export read-only node as writable"
    else:
        raise AssertionError("7.2 refuses a writable export of a read-only node")


def _cdrom() -> ModelBackend:
    backend = ModelBackend(build("qemu-4.1"), "host_cdrom")
    backend.create([("cd", True)])
    backend.add_protocol("cd", {"auto-read-only": True})
    backend.add_format("cd", False, None)  # a writer attaches: no upgrade
    return backend


def test_host_cdrom_is_upgraded_by_a_reopen_never_by_a_writer() -> None:
    backend = _cdrom()
    assert backend.observe("cd").fd.value == "ro"
    try:
        backend.guest_write("cd")
    except StepError as error:  # at I/O time, in qemu-io's words (qemu-io-cmds.c:1106)
        assert error.message == "write failed: Bad file descriptor"
    else:
        raise AssertionError("a write through a read-only descriptor succeeded")
    # file-posix.c:3476-3515 @v4.0.0: the reopen hook takes the mode from the writers.
    backend.reopen("cd", {"auto-read-only": True})
    assert backend.observe("cd").fd.value == "rw"
    backend.guest_write("cd")


def test_host_cdrom_under_drive_is_upgraded_by_the_inherited_reopen() -> None:
    backend = ModelBackend(build("qemu-4.1"), "host_cdrom")
    backend.create([("base", True), ("top", True)])
    backend.open_drive(["base", "top"], read_only=False)
    assert backend.observe("top").fd.value == "ro"  # the -drive top: sticky, never upgraded
    backend.commit("top", "top", "base")  # the job reopens base read/write
    assert backend.observe("base").fd.value == "rw"
