"""An NBD server for the ``nbd`` driver: a second ``qemu-storage-daemon`` that exports images.

It is its own process (the client QEMU connects to it as to a remote
server), on a unix socket in its own temp dir, unprivileged and bound to
die with us like every component (:mod:`optcompare.backends.qemu.process`).
Readiness: QMP answers and ``nbd-server-start`` has bound the socket.

An image's label is what the export allows: a writable export or a
read-only one. A relabel *re-exports* the image under a new export name;
connections made before keep what they were given at the handshake, as a
descriptor keeps the mode it was opened with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optcompare.backends.qemu import tables
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools
from optcompare.backends.qemu.tables import DriverCell

__all__ = ["NbdServer", "measure_table"]


class NbdServer:
    """``with NbdServer(tools) as server: server.export(path, writable=False)``."""

    def __init__(self, tools: QemuTools | None = None) -> None:
        self.daemon = QemuDaemon(tools)
        self._generation: dict[str, int] = {}
        self._exports: dict[str, str] = {}
        """Current export name of each image path."""

    def __enter__(self) -> NbdServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.daemon.start()
        try:
            self.daemon.execute("nbd-server-start",
                                {"addr": {"type": "unix", "data": {"path": str(self.socket)}}})
        except BaseException:
            self.daemon.close()
            raise

    def close(self) -> None:
        self.daemon.close()

    @property
    def socket(self) -> Path:
        return self.daemon.path("nbd.sock")

    def server(self) -> dict[str, Any]:
        """The ``server`` option of a client's nbd node."""
        return {"type": "unix", "path": str(self.socket)}

    def export(self, path: Path, *, writable: bool) -> str:
        """Export ``path`` (raw bytes, whatever its format); the export's name.

        A second call for the same path adds a new export with the new
        writability; the old one stays for the connections that use it.
        """
        key = str(path)
        generation = self._generation.get(key, 0) + 1
        self._generation[key] = generation
        name = f"{path.stem}-{generation}"
        self.daemon.execute("blockdev-add", {
            "driver": "file", "node-name": f"{name}-file", "filename": key,
            "read-only": not writable,
        })
        self.daemon.execute("block-export-add", {
            "type": "nbd", "id": name, "node-name": f"{name}-file", "name": name,
            "writable": writable,
        })
        self._exports[key] = name
        return name

    def current(self, path: Path) -> str:
        """The name of the latest export of ``path``."""
        return self._exports[str(path)]


def measure_table(tools: QemuTools | None = None) -> list[DriverCell]:
    """The nbd driver's truth table on a live server: a writable and a read-only export."""
    with NbdServer(tools) as server, QemuDaemon(tools) as client:
        image = server.daemon.create_image("export.raw", fmt="raw")
        names = {True: server.export(image, writable=True),
                 False: server.export(image, writable=False)}
        return tables.measure_table(
            client, "nbd", lambda writable: {"server": server.server(),
                                             "export": names[writable]})
