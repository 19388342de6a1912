"""An iSCSI target for the ``iscsi`` driver: Debian's tgt (``tgtd``), on 127.0.0.1.

Two targets, each with one LUN on a file in the server's temp dir: one
writable, one with ``readonly=1`` (write protected). tgtd keeps its
control socket in ``/run/tgtd`` (fixed at build time); each run uses its
own control port number there, and removes its socket files after; they
are recorded in its temp dir first, so that after a SIGKILL the next run's
sweep removes them (:func:`optcompare.backends.qemu.process.record_outside`).
``tgtd -f`` ignores SIGTERM: the targets are deleted with ``--force`` and
the daemon is told to stop (``--mode system``) before its group is killed.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from optcompare.backends.qemu import process, tables
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools, find_qemu
from optcompare.backends.qemu.server import LOOPBACK, Server, need
from optcompare.backends.qemu.tables import DriverCell
from optcompare.errors import BackendError
from optcompare.scenario.backend import NotApplicable

__all__ = ["IPC_DIR", "PACKAGE", "IscsiServer", "measure_table"]

PACKAGE = "tgt"
IPC_DIR = Path("/run/tgtd")
IQN = "iqn.2019-03.org.qemu.optcompare:{}"
LUN_SIZE = 1 << 20
TARGETS = {True: 1, False: 2}
"""Target id of the writable and of the write-protected LUN."""


class IscsiServer(Server):
    kind = "iscsi"
    program = "tgtd"

    def __init__(self, identity: process.Identity) -> None:
        self.binary = need("tgtd", PACKAGE)
        self.admin = need("tgtadm", PACKAGE)
        super().__init__(identity)
        self.control = 1 + self.port % 30000  # tgtd takes a small number; ours, as the port is
        self._targets: list[int] = []
        self._socket_files: list[Path] = []

    def _ipc_dir(self) -> None:
        """tgtd's control socket dir, made for our user if it is missing."""
        if not IPC_DIR.exists():
            if os.geteuid() != 0:
                raise NotApplicable(f"tgtd needs {IPC_DIR} (created only when run as root)")
            with contextlib.suppress(FileExistsError):
                IPC_DIR.mkdir(mode=0o755)
                os.chown(IPC_DIR, self.identity.uid, self.identity.gid)
        stat = IPC_DIR.stat()
        if stat.st_uid != self.identity.uid:
            raise NotApplicable(f"{IPC_DIR} belongs to uid {stat.st_uid}: tgtd cannot run "
                                f"there as uid {self.identity.uid}")

    def start(self) -> None:
        self._ipc_dir()
        socket = IPC_DIR / f"socket.{self.control}"
        self._socket_files = [socket, socket.with_name(socket.name + ".lock")]
        process.record_outside(self.tmpdir, self._socket_files)
        self.launch([str(self.binary), "-f", "-C", str(self.control),
                     "--iscsi", f"portal={LOOPBACK}:{self.port}"])
        for writable, tid in TARGETS.items():
            lun = self.tmpdir / f"lun-{tid}.raw"
            with open(lun, "wb") as image:
                image.truncate(LUN_SIZE)
            self.chown(lun)
            self._admin("new", "target", "--tid", str(tid), "-T", IQN.format(tid))
            self._targets.append(tid)
            # By name: tgtd runs in our dir, and tgtadm's request splits a path at a comma.
            self._admin("new", "logicalunit", "--tid", str(tid), "--lun", "1",
                        "-b", lun.name)
            if not writable:
                self._admin("update", "logicalunit", "--tid", str(tid), "--lun", "1",
                            "--params", "readonly=1")
            self._admin("bind", "target", "--tid", str(tid), "-I", "ALL")

    def _admin(self, op: str, mode: str, *args: str) -> Any:
        return self.run([str(self.admin), "-C", str(self.control), "--lld", "iscsi",
                         "--op", op, "--mode", mode, *args], f"tgtadm --op {op} --mode {mode}")

    def target(self, writable: bool) -> dict[str, Any]:
        """The ``iscsi`` node's options for the writable or the write-protected LUN."""
        tid = TARGETS[writable]
        return {"transport": "tcp", "portal": f"{LOOPBACK}:{self.port}",
                "target": IQN.format(tid), "lun": 1}

    def stop(self) -> None:
        try:
            for tid in self._targets:
                with contextlib.suppress(BackendError):
                    self._admin("delete", "target", "--tid", str(tid), "--force")
            if self._proc is not None and self._proc.poll() is None:
                with contextlib.suppress(BackendError):
                    self.run([str(self.admin), "-C", str(self.control), "--op", "delete",
                              "--mode", "system"], "tgtadm --op delete --mode system")
            if self._proc is not None:
                process.kill_group(self._proc, grace=1.0)
        finally:
            for leftover in self._socket_files:
                leftover.unlink(missing_ok=True)


def measure_table(tools: QemuTools | None = None) -> list[DriverCell]:
    """The iscsi driver's truth table against a live tgtd."""
    found = tools if tools is not None else find_qemu()
    with QemuDaemon(found) as client, IscsiServer(client.identity) as server:
        server.start()
        return tables.measure_table(client, "iscsi", server.target)
