"""A network driver's truth table, measured live: iotest 232's option sets on a real server.

Each option set is a ``blockdev-add`` of the driver's protocol node on a
client ``qemu-storage-daemon``, against a target the server offers
writable and one it offers read-only (an nbd export with and without
``writable``, ...). Measured: the node's ``ro`` flag, or QEMU's error. The
descriptor mode is not: the client holds a socket, not the image.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from optcompare.backends.qemu.daemon import QemuDaemon, QmpCommandError
from optcompare.frozen import frozen
from optcompare.model.options import IOTEST_232_OPTION_SETS as OPTION_SETS
from optcompare.model.options import format_options

__all__ = ["DriverCell", "Target", "measure_table"]

#: The node's driver-specific arguments for a target the server offers
#: writable (True) or read-only (False).
Target = Callable[[bool], Mapping[str, Any]]


@frozen
class DriverCell:
    driver: str
    options: dict[str, bool] = field(hash=False)
    writable: bool
    ro: bool | None
    error: str | None = None

    @property
    def label(self) -> str:
        return format_options(self.options)


def measure_table(client: QemuDaemon, driver: str, target: Target,
                  reduce: Callable[[str], str] = str) -> list[DriverCell]:
    """Every option set on both targets; ``reduce`` rewrites QEMU's error text
    (a server path to ``<path>``)."""
    cells: list[DriverCell] = []
    for i, options in enumerate(OPTION_SETS):
        for writable in (True, False):
            node = f"{driver}-{i}-{'rw' if writable else 'ro'}"
            arguments = {"driver": driver, "node-name": node, **target(writable), **options}
            try:
                client.execute("blockdev-add", arguments)
            except QmpCommandError as err:
                cells.append(DriverCell(driver, dict(options), writable, None, reduce(err.desc)))
                continue
            try:
                ro = bool(client.named_nodes()[node]["ro"])
            finally:
                client.execute("blockdev-del", {"node-name": node})
            cells.append(DriverCell(driver, dict(options), writable, ro))
    return cells
