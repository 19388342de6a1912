"""A real ``qemu-system-x86_64 -M none``: the ``-drive`` frontend and guest writes.

The same QMP process as :class:`~optcompare.backends.qemu.daemon.QemuDaemon`
(unprivileged, bound to die with us, its own temp dir), with no machine, no
accelerator work and no devices. A drive is added the way ``-drive`` adds
it (HMP ``drive_add``, QEMU's ``drive_new``): every node implicit, with a
generated name (``#blockNNN``), found by its file and driver. A guest
write is HMP ``qemu-io DEVICE "write ..."``: the write goes through the
drive's BlockBackend as a guest's would.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools, QmpCommandError, opt_value
from optcompare.errors import BackendError

__all__ = ["DEBIAN_PACKAGE", "PROGRAM", "QemuEmulator", "find_emulator"]

PROGRAM = "qemu-system-x86_64"
DEBIAN_PACKAGE = "qemu-system-x86"
GUEST_WRITE = "write -P 0xab 0 512"


def find_emulator() -> Path:
    """The emulator's binary, or a one-line :class:`BackendError` naming the package."""
    found = shutil.which(PROGRAM)
    if found is None:
        raise BackendError(f"{PROGRAM} not found: install the Debian package {DEBIAN_PACKAGE}")
    return Path(found)


class QemuEmulator(QemuDaemon):
    """``with QemuEmulator() as vm: vm.drive_add("disk", path, read_only=False)``."""

    kind = "vm"
    program = PROGRAM

    def __init__(self, tools: QemuTools | None = None, binary: Path | None = None,
                 *, start_timeout: float = 30.0) -> None:
        super().__init__(tools, start_timeout=start_timeout)
        self.binary = binary if binary is not None else find_emulator()

    def command(self, sock: Path) -> list[str]:
        return [str(self.binary), "-M", "none", "-accel", "tcg", "-nodefaults",
                "-display", "none", "-qmp", f"unix:{opt_value(str(sock))},server=on,wait=off"]

    def hmp(self, line: str) -> str:
        """An HMP command through QMP; its reply text, stripped."""
        return str(self.execute("human-monitor-command", {"command-line": line})).strip()

    def _hmp_checked(self, line: str, command: str, ok: str = "") -> None:
        reply = self.hmp(line)
        if reply != ok:
            text = reply.splitlines()[-1].strip() if reply else reply
            raise QmpCommandError("GenericError", text.removeprefix("Error: "), command)

    def drive_add(self, drive: str, path: Path, *, read_only: bool, fmt: str = "qcow2") -> None:
        """``-drive if=none,id=DRIVE,file=PATH,format=FMT,read-only=on|off``.

        Raises :class:`QmpCommandError` with QEMU's text when QEMU refuses it.
        """
        self.drive_add_options({"if": "none", "id": drive, "file": str(path), "format": fmt,
                                "read-only": read_only})

    def drive_add_options(self, options: Mapping[str, str | bool]) -> None:
        """``-drive`` with exactly these options (booleans as on/off).

        Values may hold commas and spaces (a path in an awkward TMPDIR): the
        option string is QemuOpts-escaped, then quoted as one HMP argument."""
        parts = []
        for key, value in options.items():
            text = ("on" if value else "off") if isinstance(value, bool) else value
            if any(c in key for c in ',="\\ '):
                raise BackendError(f"not a -drive option name: {key!r}")
            parts.append(f"{key}={opt_value(text)}")
        line = ",".join(parts).replace("\\", "\\\\").replace('"', '\\"')
        self._hmp_checked(f'drive_add 0 "{line}"', "drive_add", ok="OK")

    def drive_del(self, drive: str) -> None:
        self._hmp_checked(f"drive_del {drive}", "drive_del")

    def guest_write(self, device: str) -> None:
        """The guest writes one sector through ``device`` (a drive id or a node name)."""
        self._hmp_checked(f'qemu-io {device} "{GUEST_WRITE}"', "qemu-io")

    def implicit_nodes(self, path: Path) -> dict[str, str]:
        """The nodes open on ``path``, by driver: ``{"qcow2": "#block123", "file": ...}``."""
        target = str(path)
        found: dict[str, str] = {}
        for node in self.execute("query-named-block-nodes", {"flat": True}):
            if node["file"] == target:
                found.setdefault(str(node["drv"]), str(node["node-name"]))
        return found
