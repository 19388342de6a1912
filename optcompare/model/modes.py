"""Open modes (the thread's terms) and what an open does to one image."""

from __future__ import annotations

from enum import StrEnum

from optcompare.frozen import frozen


class Mode(StrEnum):
    """How a protocol node treats its image, after the options are resolved."""

    HARD_RW = "hard-rw"
    HARD_RO = "hard-ro"
    DYNAMIC_RO = "dynamic-ro"
    FALLBACK_RO = "fallback-ro"
    # host_cdrom from 4.0 on: opened read-only, never upgraded, and the node
    # is not marked read-only, so a writer attaches and its writes fail.
    STICKY_RO = "sticky-ro"
    ERROR = "error"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Mode.HARD_RW: "open read/write",
    Mode.HARD_RO: "open read-only",
    Mode.DYNAMIC_RO: "open read-only, reopen read/write while a writer is attached",
    Mode.FALLBACK_RO: "try read/write, fall back to read-only once at open",
    Mode.STICKY_RO: "open read-only, never upgraded, node not marked read-only",
    Mode.ERROR: "the combination is rejected",
}


class Behaviour(StrEnum):
    """What a driver does with read-only=off,auto-read-only=on (its class)."""

    HARD = "hard"
    FALLBACK = "fallback"
    DYNAMIC = "dynamic"
    STICKY = "sticky"
    # 3.0's read-only formats (and rbd at a snapshot): read-only=off is turned
    # into read-only by the driver itself, with a deprecation warning, whatever
    # auto-read-only says (there is none yet).
    SELF_READ_ONLY = "self-read-only"

    @property
    def mode(self) -> Mode:
        return {
            Behaviour.HARD: Mode.HARD_RW,
            Behaviour.FALLBACK: Mode.FALLBACK_RO,
            Behaviour.DYNAMIC: Mode.DYNAMIC_RO,
            Behaviour.STICKY: Mode.STICKY_RO,
            Behaviour.SELF_READ_ONLY: Mode.FALLBACK_RO,
        }[self]


class Fd(StrEnum):
    """The access mode of the descriptor QEMU holds on an image."""

    RO = "ro"
    RW = "rw"
    CLOSED = "closed"


@frozen
class OpenOutcome:
    """The result of opening one protocol node on an image.

    ``ro`` is the node's reported read-only flag; ``denial`` says whether the
    open made an access denial (a refused attempt to open for writing).
    """

    ro: bool
    fd: Fd
    error: str | None = None
    denial: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None
