"""QEMU's iotest 232, both halves, measured live.

iotest 232 opens a ``file`` node with every combination of ``read-only``
and ``auto-read-only`` on a writable and on a read-only image, and prints
whether the node came out read-only or failed. Here each combination of
the ``-blockdev`` half is a ``blockdev-add`` on a live
``qemu-storage-daemon``, and each of the ``-drive`` half a ``-drive
driver=file,file=...,if=none`` (HMP ``drive_add``) on a live
``qemu-system-x86_64 -M none``; we also record how the image file is
really open (``/proc``), which the iotest does not show.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optcompare.backends.qemu.daemon import FdMode, QemuDaemon, QmpCommandError
from optcompare.frozen import frozen
from optcompare.model.options import IOTEST_232_OPTION_SETS as OPTION_SETS
from optcompare.model.options import format_options as options_label

if TYPE_CHECKING:
    from optcompare.backends.qemu.emulator import QemuEmulator

__all__ = ["OPTION_SETS", "Cell", "measure_iotest232", "measure_iotest232_drive",
           "options_label"]

@frozen
class Cell:
    """One ``blockdev-add driver=file`` of the table.

    ``ro`` is the node's ``ro`` flag from ``query-named-block-nodes`` and
    ``fd`` how the daemon has the image open; both are None when the add
    failed, and then ``error`` is QEMU's exact message and
    ``error_template`` the same with the image path replaced by ``<path>``.
    """

    options: dict[str, bool] = field(hash=False)
    writable: bool
    ro: bool | None
    fd: FdMode | None
    error: str | None = None
    error_template: str | None = None
    frontend: str = "blockdev"

    @property
    def label(self) -> str:
        return options_label(self.options)


def measure_iotest232(daemon: QemuDaemon) -> list[Cell]:
    """Every option set on a writable (0644) and a read-only (0444) image.

    Each cell uses a fresh raw image and its own node, removed afterwards.
    """
    cells: list[Cell] = []
    for i, options in enumerate(OPTION_SETS):
        for writable in (True, False):
            tag = f"t232-{i}-{'rw' if writable else 'ro'}"
            path = daemon.create_image(f"{tag}.raw", fmt="raw")
            daemon.set_label(path, writable)
            node = f"node-{tag}"
            args: dict[str, Any] = {"driver": "file", "node-name": node, "filename": str(path)}
            args.update(options)
            try:
                cells.append(_measure_cell(daemon, node, args, options, writable))
            finally:
                path.unlink(missing_ok=True)
    return cells


def _measure_cell(
    daemon: QemuDaemon, node: str, args: dict[str, Any], options: dict[str, bool], writable: bool
) -> Cell:
    path = str(args["filename"])
    try:
        daemon.execute("blockdev-add", args)
    except QmpCommandError as err:
        template = err.desc.replace(path, "<path>")
        return Cell(dict(options), writable, None, None, err.desc, template)
    try:
        ro = bool(daemon.named_nodes()[node]["ro"])
        fd = daemon.fd_mode(path)
    finally:
        daemon.execute("blockdev-del", {"node-name": node})
    return Cell(dict(options), writable, ro, fd)


def measure_iotest232_drive(emulator: QemuEmulator) -> list[Cell]:
    """The ``-drive`` half: every option set on a writable and a read-only image."""
    cells: list[Cell] = []
    for i, options in enumerate(OPTION_SETS):
        for writable in (True, False):
            tag = f"d232-{i}-{'rw' if writable else 'ro'}"
            path = emulator.create_image(f"{tag}.raw", fmt="raw")
            emulator.set_label(path, writable)
            try:
                cells.append(_measure_drive_cell(emulator, tag, path, options, writable))
            finally:
                path.unlink(missing_ok=True)
    return cells


def _measure_drive_cell(emulator: QemuEmulator, drive: str, path: Path,
                        options: dict[str, bool], writable: bool) -> Cell:
    spec: dict[str, str | bool] = {"driver": "file", "file": str(path), "if": "none",
                                   "id": drive, **options}
    try:
        emulator.drive_add_options(spec)
    except QmpCommandError as err:
        template = err.desc.replace(str(path), "<path>")
        return Cell(dict(options), writable, None, None, err.desc, template, "drive")
    try:
        node = emulator.implicit_nodes(path)["file"]
        ro = bool(emulator.named_nodes()[node]["ro"])
        fd = emulator.fd_mode(path)
    finally:
        emulator.drive_del(drive)
    return Cell(dict(options), writable, ro, fd, frontend="drive")
