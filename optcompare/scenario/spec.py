"""Scenario files, format v1 (DESIGN section 4): the parsed, validated form."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from optcompare.frozen import frozen

FRONTENDS = ("blockdev", "drive", "auto")
NATIVE = "native"
"""The ``client`` of a scenario written for each build's own libvirt."""
LEGACY = "legacy"
"""The ``client`` that never probes and always uses ``-drive``."""
PLATFORMS = ("posix", "windows")
FD_MODES = ("ro", "rw", "closed")
NODES = ("protocol", "format")


@frozen
class StepKind:
    """Which keys a step takes: required and optional, with their types."""

    required: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    optional: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    needs_image: tuple[str, ...] = ()
    """Keys whose value must name an image of ``setup.images``."""


STEP_KINDS: dict[str, StepKind] = {
    "start": StepKind(),
    "relabel": StepKind({"image": str, "writable": bool}, needs_image=("image",)),
    "block-commit": StepKind({"top": str, "base": str}, needs_image=("top", "base")),
    "block-stream": StepKind({"top": str}, {"base": str}, needs_image=("top", "base")),
    "snapshot": StepKind({"image": str}),
    "guest-write": StepKind(),
    "blockdev-add": StepKind({"image": str}, {"options": dict}, needs_image=("image",)),
    "attach-writer": StepKind({"image": str}, needs_image=("image",)),
    "detach-writer": StepKind({"image": str}, needs_image=("image",)),
    "probe": StepKind({"query": str}),
    "assert": StepKind(
        {"image": str},
        {"node": str, "fd": str, "ro": bool, "denials": int, "mode": str, "property": str,
         "holds": bool},
        needs_image=("image",),
    ),
}
COMMON_KEYS = ("do", "expect", "error")


@frozen
class Image:
    """An image of a scenario's chain and its label at start."""

    name: str
    writable: bool


@frozen
class Setup:
    """How a scenario starts: driver, platform, frontend, client and the chain."""

    frontend: str = "blockdev"
    driver: str = "file"
    platform: str = "posix"
    client: str = NATIVE
    readonly: bool = False
    images: tuple[Image, ...] = ()


@frozen(init=False)
class Step:
    """One step of a scenario: what it does, with what, and what it expects."""

    index: int
    do: str
    args: dict[str, Any]
    expect: str | bool | None = None
    error: str | None = None
    line: int | None = None

    def __init__(self, index: int, do: str, args: dict[str, Any],
                 expect: str | bool | None = None, error: str | None = None,
                 line: int | None = None) -> None:
        # Written, not generated: a frozen dataclass's own __init__ sets each field
        # through object.__setattr__, and the search names thousands of steps.
        fields = self.__dict__
        fields["index"], fields["do"], fields["args"] = index, do, args
        fields["expect"], fields["error"], fields["line"] = expect, error, line

    def describe(self) -> str:
        # Kept on the (frozen) step: every record of a replay names its step.
        text: str | None = self.__dict__.get("_described")
        if text is None:
            parts = [f"{k}={_show(v)}" for k, v in self.args.items()]
            text = self.__dict__["_described"] = self.do + (" " + " ".join(parts)
                                                            if parts else "")
        return text


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{k}={_show(v)}" for k, v in value.items())
    return str(value)


@frozen
class Scenario:
    """A workflow from a scenario file: its setup and its steps."""

    name: str
    summary: str
    source: str
    setup: Setup
    steps: tuple[Step, ...]
    path: str
    digest: str
    """sha256 of the file's bytes, for provenance."""

    def image(self, name: str) -> Image:
        return next(i for i in self.setup.images if i.name == name)
