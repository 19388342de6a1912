"""An SFTP server for the ``ssh`` driver: Debian's OpenSSH ``sshd``, with an ``ssh-agent``.

The server runs as the unprivileged user on a free 127.0.0.1 port and
serves SFTP only (``internal-sftp``); it accepts one key, which an agent of
that user holds: QEMU's ssh driver authenticates through the agent only
(``SSH_AUTH_SOCK`` in the client's environment). The host key is not
checked (``host-key-check: none``): both ends are ours. The targets are
two files in the server's temp dir, 0644 and 0444: the remote file's mode
is what the driver cannot write past.
"""

from __future__ import annotations

import pwd
import shutil
from pathlib import Path
from typing import Any

from optcompare.backends.qemu import process, tables
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools, find_qemu
from optcompare.backends.qemu.server import LOOPBACK, Server, need
from optcompare.backends.qemu.tables import DriverCell
from optcompare.errors import BackendError

__all__ = ["PACKAGES", "SshServer", "measure_table"]

PACKAGES = "openssh-server (sshd) and openssh-client (ssh-agent, ssh-add, ssh-keygen)"
IMAGE_SIZE = 1 << 20


class SshServer(Server):
    kind = "ssh"
    program = "sshd"

    def __init__(self, identity: process.Identity) -> None:
        self.sshd = need("sshd", "openssh-server")
        self.keygen, self.agent, self.add = (need(name, "openssh-client")
                                             for name in ("ssh-keygen", "ssh-agent", "ssh-add"))
        super().__init__(identity)
        self.user = pwd.getpwuid(identity.uid).pw_name
        self._agent: Any = None

    @property
    def agent_socket(self) -> Path:
        return self.tmpdir / "agent.sock"

    def environment(self) -> dict[str, str]:
        """What the client QEMU needs in its environment to authenticate."""
        return {"SSH_AUTH_SOCK": str(self.agent_socket)}

    def start(self) -> None:
        tmp = self.tmpdir
        for key in ("host", "user"):
            self.run([str(self.keygen), "-q", "-t", "ed25519", "-N", "", "-f",
                      str(tmp / f"{key}-key")], f"ssh-keygen {key}")
        shutil.copyfile(tmp / "user-key.pub", tmp / "authorized_keys")
        self.chown(tmp / "authorized_keys")
        for name, mode in (("rw.raw", 0o644), ("ro.raw", 0o444)):
            with open(tmp / name, "wb") as image:
                image.truncate(IMAGE_SIZE)
            self.chown(tmp / name).chmod(mode)
        config = self.write(tmp / "sshd_config", "\n".join((
            f"ListenAddress {LOOPBACK}", f"Port {self.port}",
            f"HostKey {_quoted(tmp / 'host-key')}", "PidFile none",
            f"AuthorizedKeysFile {_quoted(tmp / 'authorized_keys')}",
            "StrictModes no",
            "UsePAM yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "Subsystem sftp internal-sftp", "ForceCommand internal-sftp",
            "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no", "",
        )))
        self.launch([str(self.sshd), "-D", "-e", "-f", str(config)])
        self._agent = process.spawn([*self.identity.prefix, str(self.agent), "-D", "-a",
                                     str(self.agent_socket)], cwd=tmp)
        process.wait_for(self.agent_socket, self._agent, 5.0, "ssh-agent")
        self.run([str(self.add), "-q", str(tmp / "user-key")], "ssh-add",
                 env=self.environment())

    def target(self, writable: bool) -> dict[str, Any]:
        path = self.tmpdir / ("rw.raw" if writable else "ro.raw")
        return {"server": {"host": LOOPBACK, "port": str(self.port)}, "path": str(path),
                "user": self.user, "host-key-check": {"mode": "none"}}

    def reduce(self, text: str) -> str:
        """QEMU's text with a target's path as ``<path>`` (the model's placeholder)."""
        for name in ("rw.raw", "ro.raw"):
            text = text.replace(str(self.tmpdir / name), "<path>")
        return text

    def stop(self) -> None:
        try:
            if self._agent is not None:
                process.kill_group(self._agent, grace=0.5)
        finally:
            super().stop()


def _quoted(path: Path) -> str:
    """A path as one sshd_config argument, spaces and all."""
    if '"' in str(path):
        raise BackendError(f"sshd_config cannot name a path with a double quote: {path}")
    return f'"{path}"'


def measure_table(tools: QemuTools | None = None) -> list[DriverCell]:
    """The ssh driver's truth table against a live sshd."""
    found = tools if tools is not None else find_qemu()
    identity = process.identity(found.setpriv)
    with SshServer(identity) as server:
        server.start()
        with QemuDaemon(found, env=server.environment()) as client:
            if client.identity != identity:
                raise BackendError("the client QEMU must run as the server's user")
            return tables.measure_table(client, "ssh", server.target, server.reduce)
