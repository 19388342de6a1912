"""QEMU's exact error messages, by the release whose wording they follow."""

from __future__ import annotations

from dataclasses import dataclass

PATH = "<path>"


def permission_denied(path: str) -> str:
    return f"Could not open '{path}': Permission denied"


def unexpected_parameter(name: str) -> str:
    return f"Parameter '{name}' is unexpected"


def command_not_found(name: str) -> str:
    return f"The command {name} has not been found"


NODE_READ_ONLY = "Block node is read-only"
IMAGE_READ_ONLY = "Image is read-only"
# A write through a descriptor that was opened read-only (host_cdrom's quirk).
BAD_DESCRIPTOR = "Could not write: Bad file descriptor"


@dataclass(frozen=True)
class Wording:
    """Messages whose text changed between releases.

    ``era`` is the release whose wording is used: the 2019 policies speak like
    4.0, the real daemon on this machine like 7.2 (5.2+).
    """

    era: str = "4.0"

    @property
    def modern(self) -> bool:
        major, minor = (int(p) for p in self.era.split(".")[:2])
        return (major, minor) >= (5, 2)

    def upgrade_failed(self, path: str) -> str:
        """A dynamic node could not be reopened read/write for a writer."""
        if self.modern:
            return permission_denied(path)
        return "Could not reopen file: Permission denied"

    def implicit_reopen_failed(self, path: str) -> str:
        """A job reopened an implicit (-drive) node whose image is unwritable."""
        return self.upgrade_failed(path)
