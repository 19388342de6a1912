"""Network drivers on live servers: each server's lifetime and its driver's truth table.

QEMU 7.2's answers (Debian); these fail, not skip, in CI without the
servers (see tests/qemu_required.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_required import require_program, require_qemu
from test_qemu_backend import no_leftovers  # noqa: F401 - a fixture

from optcompare.analysis.conformance import compare_driver_cells
from optcompare.backends.qemu import http, iscsi, nbd, process, ssh
from optcompare.backends.qemu.backend import released_policy
from optcompare.backends.qemu.daemon import QemuDaemon, QmpCommandError
from optcompare.model.drivers import Platform
from optcompare.policies import registry

pytestmark = pytest.mark.qemu

NBD_REFUSAL = "Could not open image: Permission denied"


@pytest.fixture(params=[0o022, 0o077], ids=["umask-022", "umask-077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The servers read what we write for them under a strict umask too (077 made
    their config files 0600, owned by us, unreadable by the server's user)."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)
CURL_REFUSAL = "curl driver does not support writes"


def test_nbd_server_exports_and_goes_away(no_leftovers: Path) -> None:  # noqa: F811
    tools = require_qemu()
    with nbd.NbdServer(tools) as server, QemuDaemon(tools) as client:
        tmp = server.daemon.tmpdir
        image = server.daemon.create_image("x.raw", fmt="raw")
        read_only = server.export(image, writable=False)
        assert server.current(image) == read_only
        node = {"driver": "nbd", "node-name": "n", "server": server.server(),
                "export": read_only}
        with pytest.raises(QmpCommandError) as refused:
            client.execute("blockdev-add", {**node, "read-only": False})
        assert refused.value.desc == NBD_REFUSAL
        client.execute("blockdev-add", {**node, "auto-read-only": True})
        assert client.named_nodes()["n"]["ro"] is True
        with pytest.raises(QmpCommandError) as reopen:
            client.execute("blockdev-reopen", {"options": [{**node, "read-only": False}]})
        assert reopen.value.desc == "Can't reopen read-only NBD mount as read/write"
        writable = server.export(image, writable=True)  # a relabel: a new export
        assert writable != read_only and server.current(image) == writable
    assert not tmp.exists()


def test_nbd_truth_table_live_agrees_with_the_model_of_7_2(
    no_leftovers: Path,  # noqa: F811
) -> None:
    tools = require_qemu()
    cells = nbd.measure_table(tools)
    assert len(cells) == 18
    errors = {(c.label, c.writable) for c in cells if c.error}
    assert errors == {("read-only=off,auto-read-only=off", False), ("read-only=off", False),
                      ("auto-read-only=off", False), ("(none)", False)}
    assert {c.error for c in cells if c.error} == {NBD_REFUSAL}
    build = released_policy().build(Platform.POSIX)
    compared = compare_driver_cells(build, cells)
    assert all(c.agree for c in compared), [c.differences for c in compared if not c.agree]
    # The 2019 wording (4.0's "NBD export is read-only") would disagree on those 4 cells.
    old = compare_driver_cells(registry.get("qemu-4.1").build(Platform.POSIX), cells)
    assert sum(1 for c in old if not c.agree) == 4


def test_http_server_serves_byte_ranges_on_loopback_and_goes_away(umask: int) -> None:
    require_program("lighttpd", http.PACKAGE)
    import urllib.request

    me = process.identity(None) if process.os.geteuid() != 0 else \
        process.identity(Path(require_program("setpriv", "util-linux")))
    with http.HttpServer(me) as server:
        server.start()
        server.write(server.root / "x.raw", bytes(range(256)))
        request = urllib.request.Request(server.url("x.raw"), headers={"Range": "bytes=1-3"})
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 206 and reply.read() == bytes([1, 2, 3])
        tmp = server.tmpdir
    assert not tmp.exists()


def test_http_truth_table_live_agrees_with_the_model(
    no_leftovers: Path, umask: int,  # noqa: F811
) -> None:
    tools = require_qemu()
    require_program("lighttpd", http.PACKAGE)
    cells = http.measure_table(tools)
    assert len(cells) == 18
    assert {c.error for c in cells if c.error} == {CURL_REFUSAL}
    assert all(c.ro for c in cells if not c.error)  # curl never opens read/write
    assert sum(1 for c in cells if c.error) == 8  # read/write asked, auto-read-only off
    build = released_policy().build(Platform.POSIX)
    compared = compare_driver_cells(build, cells)
    assert all(c.agree for c in compared), [c.differences for c in compared if not c.agree]


def test_iscsi_truth_table_live_agrees_and_tgtd_leaves_nothing(
    no_leftovers: Path,  # noqa: F811
) -> None:
    tools = require_qemu()
    require_program("tgtd", iscsi.PACKAGE)
    before = set(iscsi.IPC_DIR.iterdir()) if iscsi.IPC_DIR.exists() else set()
    cells = iscsi.measure_table(tools)
    assert len(cells) == 18
    errors = {(c.label, c.writable) for c in cells if c.error}
    assert errors == {("read-only=off,auto-read-only=off", False), ("read-only=off", False),
                      ("auto-read-only=off", False), ("(none)", False)}
    assert {c.error for c in cells if c.error} == {"LUN is write protected"}
    fallback = [c for c in cells if c.label == "read-only=off,auto-read-only=on"]
    assert [(c.writable, c.ro) for c in fallback] == [(True, False), (False, True)]
    build = released_policy().build(Platform.POSIX)
    compared = compare_driver_cells(build, cells)
    assert all(c.agree for c in compared), [c.differences for c in compared if not c.agree]
    assert set(iscsi.IPC_DIR.iterdir()) == before, "tgtd's control socket was left"


def test_ssh_truth_table_live_agrees_with_the_model_of_7_2(
    no_leftovers: Path, umask: int,  # noqa: F811
) -> None:
    tools = require_qemu()
    require_program("sshd", "openssh-server")
    cells = ssh.measure_table(tools)
    assert len(cells) == 18
    refused = {c.label for c in cells if c.error}
    # A hard driver: every read/write open of the 0444 remote file fails,
    # auto-read-only=on or not.
    assert refused == {"read-only=off,auto-read-only=off", "read-only=off,auto-read-only=on",
                       "read-only=off", "auto-read-only=off", "auto-read-only=on", "(none)"}
    assert all(not c.writable for c in cells if c.error)
    assert {c.error for c in cells if c.error} == {
        "failed to open remote file '<path>': SFTP server: Permission denied "
        "(libssh error code: 1, sftp error code: 3)"}
    build = released_policy().build(Platform.POSIX)
    compared = compare_driver_cells(build, cells)
    assert all(c.agree for c in compared), [c.differences for c in compared if not c.agree]
