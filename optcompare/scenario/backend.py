"""What a backend does for the runner: QEMU-level operations on images.

The runner and the client strategy decide *what* to do (which options,
which relabels); a backend does it, on the model or on a real QEMU, and
reports what it sees. A QEMU error is a :class:`StepError` carrying QEMU's
message; an operation the backend cannot express is :class:`NotApplicable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from optcompare.frozen import frozen
from optcompare.model.modes import Fd
from optcompare.model.options import Written


class StepError(Exception):
    """QEMU refused or failed an operation; ``message`` is QEMU's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotApplicable(Exception):
    """The build (or the backend) lacks what a step needs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@frozen
class Observation:
    """One image as a backend sees it after a step."""

    label: bool
    """The image's label allows writes."""
    fd: Fd
    ro: bool | None
    """The protocol node's read-only flag (None: no node)."""
    mode: str | None
    """The protocol node's open mode, where the backend can know it."""
    denials: int | None
    """Access denials logged for the image (None: not measurable)."""
    format_ro: bool | None = None
    writers: int | None = None
    """Writers holding write permission on the protocol node (None: not known)."""


class Backend(Protocol):
    name: str

    def create(self, images: Sequence[tuple[str, bool]], backing: str | None = None) -> None:
        """Create images (name, label allows writes), each backed by the one before;
        the first by ``backing``."""

    def relabel(self, image: str, writable: bool) -> None: ...

    def add_protocol(self, image: str, options: Written) -> None:
        """``blockdev-add`` of the image's protocol node with exactly these options."""

    def add_format(self, image: str, read_only: bool, backing: str | None) -> None:
        """``blockdev-add`` of a qcow2 node over the image's protocol node."""

    def open_drive(self, chain: Sequence[str], read_only: bool) -> None:
        """``-drive`` of the active layer: every node implicit, backing files read-only."""

    def commit(self, device: str, top: str, base: str) -> None:
        """A block-commit job from start to dismissal. ``device`` is the disk's active
        layer as the client knows it (libvirt names the disk, not a node); when ``top``
        is that layer the commit is active and the client pivots to ``base``."""

    def stream(self, top: str, base: str | None) -> None:
        """A block-stream job from start to dismissal."""

    def snapshot(self, new: str, old: str) -> None:
        """``blockdev-snapshot``: ``new`` (already added) becomes the active layer over ``old``."""

    def reopen(self, image: str, options: Written) -> None:
        """An explicit reopen of the image's protocol node."""

    def attach_writer(self, image: str) -> None: ...

    def detach_writer(self, image: str) -> None: ...

    def guest_write(self, image: str) -> None:
        """The guest writes to its disk, whose active layer is ``image``."""

    def delete(self, image: str) -> None:
        """``blockdev-del`` of the image's nodes (a node dropped by a job)."""

    def observe(self, image: str, node: str = "protocol") -> Observation: ...

    def has(self, query: str) -> bool:
        """Evaluate a libvirt schema path query on this QEMU's schema."""

    def close(self) -> None: ...
