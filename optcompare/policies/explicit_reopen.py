"""The built-in policy ``explicit-reopen``: Peter Krempa's "hands-on approach".

In the 2019 thread Peter answered Markus' three options on behalf of
libvirt: "I don't really mind also doing a hands-on approach where we'd
need to tell qemu to reopen given nodes." This module builds that option:

- QEMU keeps 3.1's ``auto-read-only`` semantics (fallback read-only on
  file-posix; nothing is dynamic), but has ``x-blockdev-reopen`` (in the
  schema from 4.0; ``blockdev-reopen`` from 6.1).
- libvirt opens backing storage nodes ``read-only=on`` (so an image
  labelled read-only at start causes no access denial), and around a block
  job it relabels the base, reopens its protocol node ``read-only=off``,
  and reopens it ``read-only=on`` again once the job is dismissed
  (optcompare's scenario runner does this for every policy with
  ``explicit_reopen=True``).
- libvirt's probe looks for the reopen command in ``query-qmp-schema``. It
  claims no dynamic driver: the approach does not need one.

It began as the example plugin (``examples/``), which now only renames it
for a later release.
"""

from __future__ import annotations

from collections.abc import Mapping

from optcompare.frozen import frozen
from optcompare.model.drivers import Driver
from optcompare.model.options import READ_ONLY, Value
from optcompare.policies.base import Detection, Frontend, Policy, Role, SignalKind, Target

__all__ = ["POLICY", "REOPEN_COMMANDS", "ExplicitReopen", "ReopenDetection", "make"]

REOPEN_COMMANDS = ("blockdev-reopen", "x-blockdev-reopen")
"""What the client looks for, newest name first (6.1 dropped the ``x-``)."""


@frozen
class ReopenDetection(Detection):
    """A probe result that also says which reopen command the client found."""

    reopen: str | None = None


class ExplicitReopen(Policy):
    """3.1's semantics plus a reopen command that libvirt drives itself."""

    def storage_options(self, backing: bool, readonly: bool) -> dict[str, Value]:
        """Backing (and read-only) storage nodes: ``read-only=on``, nothing to fall back."""
        if backing or readonly:
            return {READ_ONLY: True}
        return super().storage_options(backing, readonly)

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        """Look for the reopen command in the schema; claim no dynamic driver."""
        for command in REOPEN_COMMANDS:
            if target.has(command):
                return ReopenDetection(
                    frozenset(), SignalKind.SCHEMA, f"{command} in query-qmp-schema",
                    reopen=command,
                )
        return ReopenDetection(
            frozenset(), SignalKind.SCHEMA,
            f"no {' or '.join(REOPEN_COMMANDS)} in query-qmp-schema",
        )

    def pick_frontend(self, detection: Detection, driver: str) -> Frontend:
        """``frontend = "auto"``: -blockdev only when a reopen command was found.

        The runner picks -blockdev iff the driver is in ``detection.dynamic``;
        this hook is what a runner that asks the client would call instead.
        """
        if isinstance(detection, ReopenDetection) and detection.reopen is not None:
            return Frontend.BLOCKDEV
        return Frontend.DRIVE


def make(version: str = "4.0.0") -> ExplicitReopen:
    """The policy on a build reporting ``version`` (``x-blockdev-reopen`` from 4.0)."""
    return ExplicitReopen(
        role=Role.PROPOSAL,
        name="explicit-reopen",
        title="hands-on: 3.1 semantics, libvirt reopens given nodes (x-blockdev-reopen)",
        source=(
            "Peter Krempa, 2019-03-31, reply to \"Let's review our options for 4.0\": "
            "\"a hands-on approach where we'd need to tell qemu to reopen given nodes\""
        ),
        release="3.1",
        version=version,
        has_reopen=True,
        signal=SignalKind.SCHEMA,
        cacheable=True,
        explicit_reopen=True,
    )


POLICY = make()
