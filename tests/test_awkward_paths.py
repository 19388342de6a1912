"""The real backends in a TMPDIR whose path holds a space and a comma.

A comma ends a value in QEMU's option strings (``--chardev path=...``,
``drive_add``) and in tgtadm's request; a space ends an HMP argument and an
sshd_config argument. Each of those once failed here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from qemu_required import require_emulator, require_program, require_qemu
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture

from optcompare.analysis.conformance import compare_driver_cells
from optcompare.backends.qemu import http, iscsi, nbd, ssh
from optcompare.backends.qemu.backend import released_policy
from optcompare.backends.qemu.daemon import QemuDaemon, opt_value
from optcompare.backends.qemu.emulator import QemuEmulator
from optcompare.backends.qemu.tables import DriverCell
from optcompare.model.drivers import Platform

pytestmark = pytest.mark.qemu

AWKWARD = "temp dir, with a comma"


@pytest.fixture
def awkward_tmp(no_leftovers: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """Temp dirs go under ``<no_leftovers' root>/temp dir, with a comma`` (0755:
    the unprivileged daemon must reach it), and none is left there afterwards."""
    base = no_leftovers / AWKWARD
    base.mkdir()
    base.chmod(0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    yield base
    assert list(base.iterdir()) == [], "a temp dir was left behind"


def test_a_comma_in_an_option_value_is_written_twice() -> None:
    assert opt_value("/tmp/a,b,,c") == "/tmp/a,,b,,,,c"
    assert opt_value("plain") == "plain"


def test_the_daemon_starts_and_opens_images_there(awkward_tmp: Path) -> None:
    tools = require_qemu()
    with QemuDaemon(tools) as daemon:
        assert AWKWARD in str(daemon.tmpdir)
        image = daemon.create_image("x.qcow2")
        daemon.execute("blockdev-add", {"driver": "file", "node-name": "f",
                                        "filename": str(image)})
        assert daemon.named_nodes()["f"]["file"] == str(image)


def test_the_emulator_adds_a_drive_there_and_the_guest_writes(awkward_tmp: Path) -> None:
    require_emulator()
    with QemuEmulator() as vm:
        assert AWKWARD in str(vm.tmpdir)
        base = vm.create_image("base.qcow2")
        top = vm.create_image("top.qcow2", backing="base.qcow2")
        vm.drive_add("d0", top, read_only=False)
        assert sorted(vm.implicit_nodes(top)) == sorted(vm.implicit_nodes(base)) == [
            "file", "qcow2"]
        vm.guest_write("d0")  # no error


def _servers() -> dict[str, tuple[str, str, Callable[[], list[DriverCell]]]]:
    return {
        "nbd": ("qemu-storage-daemon", "qemu-system-common", nbd.measure_table),
        "http": ("lighttpd", http.PACKAGE, http.measure_table),
        "iscsi": ("tgtd", iscsi.PACKAGE, iscsi.measure_table),
        "ssh": ("sshd", "openssh-server", ssh.measure_table),
    }


@pytest.mark.parametrize("driver", sorted(_servers()))
def test_each_network_server_serves_from_there(awkward_tmp: Path, driver: str) -> None:
    require_qemu()
    program, package, measure = _servers()[driver]
    require_program(program, package)
    cells = measure()
    assert len(cells) == 18
    compared = compare_driver_cells(released_policy().build(Platform.POSIX), cells)
    assert all(c.agree for c in compared), [c.differences for c in compared if not c.agree]
