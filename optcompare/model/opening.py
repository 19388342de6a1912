"""Opening a protocol node on an image: the one place modes meet labels."""

from __future__ import annotations

from optcompare.model.drivers import Driver
from optcompare.model.messages import Wording
from optcompare.model.modes import Fd, Mode, OpenOutcome

# The outcomes without an error, made once: every open of the model and every cell of
# a truth table ends in one of these (an OpenOutcome is immutable).
_READ_ONLY = OpenOutcome(ro=True, fd=Fd.RO)
_READ_ONLY_DENIED = OpenOutcome(ro=True, fd=Fd.RO, denial=True)
_READ_ONLY_FD = OpenOutcome(ro=False, fd=Fd.RO)
_READ_WRITE = OpenOutcome(ro=False, fd=Fd.RW)


def open_node(mode: Mode, driver: Driver, writable: bool, path: str, error: str | None = None
              ) -> OpenOutcome:
    """What QEMU makes of opening ``driver`` in ``mode`` on an image.

    ``writable`` is the image's label (or the server's answer) at this
    moment; ``error`` is the resolution error for ``Mode.ERROR``.
    """
    can_write = driver.writes and (writable or not driver.refuses)
    if mode is Mode.ERROR:
        return OpenOutcome(ro=False, fd=Fd.CLOSED, error=error or "rejected")
    if mode is Mode.HARD_RO:
        return _READ_ONLY
    if mode in (Mode.DYNAMIC_RO, Mode.STICKY_RO):
        return _READ_ONLY_FD
    if can_write:
        return _READ_WRITE
    if mode is Mode.FALLBACK_RO:
        return _READ_ONLY_DENIED if driver.local else _READ_ONLY
    return OpenOutcome(ro=False, fd=Fd.CLOSED, error=driver.refusal_for(path), denial=driver.local)


def upgrade(driver: Driver, writable: bool, path: str, wording: Wording) -> OpenOutcome:
    """A dynamic node reopened read/write because a writer attached."""
    if driver.writes and (writable or not driver.refuses):
        return _READ_WRITE
    return OpenOutcome(ro=False, fd=Fd.RO, error=wording.upgrade_failed(path), denial=driver.local)
