"""The -drive emulator (qemu-system-x86_64 -M none): implicit nodes, guest writes.

QEMU 7.2's answers, as measured on Debian (see the README's conformance
section); these fail, not skip, in CI without qemu-system-x86.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qemu_required import require_emulator
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture

from optcompare.backends.qemu import process
from optcompare.backends.qemu.backend import QemuFactory, needs_emulator, released_policy
from optcompare.backends.qemu.daemon import QmpCommandError
from optcompare.backends.qemu.emulator import QemuEmulator
from optcompare.backends.qemu.iotest232 import measure_iotest232_drive
from optcompare.model.drivers import Platform
from optcompare.scenario import load

pytestmark = pytest.mark.qemu

DENIED = "Could not open '{}': Permission denied"


def chain(vm: QemuEmulator, top_writable: bool = True) -> tuple[Path, Path]:
    base = vm.create_image("base.qcow2")
    top = vm.create_image("top.qcow2", backing="base.qcow2")
    vm.set_label(base, False)
    vm.set_label(top, top_writable)
    return base, top


def test_drive_opens_implicit_nodes_backing_read_only(no_leftovers: Path) -> None:  # noqa: F811
    require_emulator()
    with QemuEmulator() as vm:
        base, top = chain(vm)
        vm.drive_add("d0", top, read_only=False)
        nodes = vm.named_nodes()
        on_top, on_base = vm.implicit_nodes(top), vm.implicit_nodes(base)
        assert sorted(on_top) == sorted(on_base) == ["file", "qcow2"]
        assert all(name.startswith("#block") for name in [*on_top.values(), *on_base.values()])
        assert [nodes[n]["ro"] for n in on_top.values()] == [False, False]
        assert [nodes[n]["ro"] for n in on_base.values()] == [True, True]
        assert vm.fd_mode(base) == "ro" and vm.fd_mode(top) == "rw"
        tmp = vm.tmpdir
        assert tmp.name.startswith(f"{process.DIR_PREFIX}vm-")
    assert not tmp.exists()


def test_guest_writes_through_the_drive(no_leftovers: Path) -> None:  # noqa: F811
    require_emulator()
    with QemuEmulator() as vm:
        _base, top = chain(vm)
        vm.drive_add("ro", top, read_only=True)
        with pytest.raises(QmpCommandError) as refused:
            vm.guest_write("ro")
        assert refused.value.desc == "Block node is read-only"
        vm.drive_del("ro")
        vm.drive_add("rw", top, read_only=False)
        vm.guest_write("rw")  # no error
        with pytest.raises(QmpCommandError) as missing:
            vm.guest_write("nowhere")
        assert missing.value.desc == "Cannot find device='' nor node-name='nowhere'"


def test_commit_without_relabel_is_denied_then_works(no_leftovers: Path) -> None:  # noqa: F811
    require_emulator()
    with QemuEmulator() as vm:
        base, top = chain(vm)
        vm.drive_add("d0", top, read_only=False)
        args = {"job-id": "j1", "device": "d0", "top-node": vm.implicit_nodes(top)["qcow2"],
                "base-node": vm.implicit_nodes(base)["qcow2"], "auto-dismiss": False}
        with pytest.raises(QmpCommandError) as denied:
            vm.execute("block-commit", args)
        assert denied.value.desc == DENIED.format(base)


def test_drive_half_of_iotest_232_matches_the_expected_output(
    no_leftovers: Path,  # noqa: F811
) -> None:
    require_emulator()
    with QemuEmulator() as vm:
        cells = measure_iotest232_drive(vm)
    assert len(cells) == 18 and {c.frontend for c in cells} == {"drive"}
    errors = {(c.label, c.writable) for c in cells if c.error is not None}
    assert errors == {("read-only=off,auto-read-only=off", False), ("auto-read-only=off", False)}
    assert all(c.error_template == DENIED.format("<path>") for c in cells if c.error)
    read_only = {(c.label, c.writable) for c in cells if c.ro}
    assert {label for label, _ in read_only} == {
        "read-only=on,auto-read-only=off", "read-only=on,auto-read-only=on", "read-only=on"}


def test_each_scenario_gets_the_process_it_needs() -> None:
    by_name = {s.name: s for s in load.select([])}
    assert not needs_emulator(by_name["blockdev-commit-selinux"])
    assert needs_emulator(by_name["drive-commit-selinux"])
    assert needs_emulator(by_name["libvirt-option-1-auto"])  # auto may pick -drive
    assert needs_emulator(by_name["readonly-disk-guest-write"])  # -blockdev, guest write
    factory = QemuFactory().for_scenario(by_name["readonly-disk-drive"])
    assert factory.emulator
    require_emulator()
    backend = factory(released_policy().build(Platform.POSIX), "file")
    try:
        assert isinstance(backend.daemon, QemuEmulator)
    finally:
        backend.close()
