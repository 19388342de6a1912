"""A web server for the curl driver (``http``): Debian's lighttpd, with byte ranges.

QEMU's curl driver reads with HTTP range requests, which Python's
``http.server`` does not answer; lighttpd's static file module does. The
server listens on 127.0.0.1 on a free port and serves a document root in
its temp dir. It never takes writes: both targets of the truth table are
the same URL.
"""

from __future__ import annotations

from pathlib import Path

from optcompare.backends.qemu import process, tables
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools, find_qemu
from optcompare.backends.qemu.server import LOOPBACK, Server, need
from optcompare.backends.qemu.tables import DriverCell

__all__ = ["PACKAGE", "HttpServer", "measure_table"]

PACKAGE = "lighttpd"


class HttpServer(Server):
    kind = "http"
    program = "lighttpd"

    def __init__(self, identity: process.Identity) -> None:
        self.binary = need("lighttpd", PACKAGE)
        super().__init__(identity)

    @property
    def root(self) -> Path:
        return self.tmpdir / "root"

    def start(self) -> None:
        self.root.mkdir()
        self.chown(self.root)
        config = self.write(
            self.tmpdir / "lighttpd.conf",
            f'server.document-root = "{self.root}"\n'
            f'server.bind = "{LOOPBACK}"\n'
            f"server.port = {self.port}\n"
            f'server.errorlog = "{self.tmpdir / "error.log"}"\n'
            "server.modules = ()\n"
        )
        self.launch([str(self.binary), "-D", "-f", str(config)])

    def url(self, name: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/{name}"


def measure_table(tools: QemuTools | None = None) -> list[DriverCell]:
    """The http driver's truth table against a live lighttpd."""
    found = tools if tools is not None else find_qemu()
    with QemuDaemon(found) as client, HttpServer(client.identity) as server:
        server.start()
        image = client.create_image("export.raw", fmt="raw")
        server.write(server.root / "export.raw", image.read_bytes())
        url = server.url("export.raw")
        return tables.measure_table(client, "http", lambda writable: {"url": url})
