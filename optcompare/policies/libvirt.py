"""libvirt as it shipped (5.10 and later): a client of its own, not a policy.

The per-policy clients (``Policy.detect``) are what an ideal libvirt written
for each option would do. The libvirt that shipped did less: one schema
query for ``file``, and one decision for the whole binary. Scenarios name it
with ``client = "libvirt"``; the skew matrix and the visibility analysis run
it beside the ideal clients. Each rule below carries its source in libvirt
(``file:line``, libvirt 6.6) or QEMU.
"""

from __future__ import annotations

from collections.abc import Mapping

from optcompare.frozen import frozen
from optcompare.model import capabilities
from optcompare.model.drivers import Driver
from optcompare.model.options import AUTO_READ_ONLY, Value
from optcompare.policies.base import Detection, Policy, SignalKind, Target

FILE_CAPABILITY = "+file dynamic-auto-read-only"
"""What :attr:`Detection.missing` names when the one probe does not hold."""

NAME = "libvirt"
"""The ``client`` value of a scenario that runs the shipped libvirt."""


@frozen
class Rule:
    """One thing the shipped libvirt does, and where its source says so."""

    rule: str
    source: str


FILE_PROBE = "blockdev-add/arg-type/+file/$dynamic-auto-read-only"
PROBE_RULE = Rule(
    f"one schema query, {FILE_PROBE}, sets one capability "
    "(blockdev-file-dynamic-auto-read-only); no other driver is asked about",
    "libvirt src/qemu/qemu_capabilities.c:1518, 554",
)

SAVEVM_QUERY = f"human-monitor-command/${capabilities.SAVEVM_MONITOR_NODES.name}"
DEVICE_ID_DEVICE = "scsi-disk"
GATE_RULE = Rule(
    "-blockdev for the whole binary and every disk only when that capability, scsi-disk's "
    f"{capabilities.SCSI_DISK_DEVICE_ID.name} and {capabilities.SAVEVM_MONITOR_NODES.name} are "
    "all present; -drive otherwise",
    "libvirt src/qemu/qemu_capabilities.c:5186-5191; src/qemu/qemu_command.c:2333",
)

NODE_RULE = Rule(
    "every storage node, backing or top, of every protocol gets auto-read-only=true and no "
    "read-only; a format node gets read-only = the disk's readonly",
    "libvirt src/qemu/qemu_block.c:1083-1090, 1207-1210",
)

PROTOCOLS = (
    "file", "host_device", "host_cdrom", "vvfat", "nvme", "nbd", "rbd", "gluster", "iscsi",
    "http", "https", "ftp", "ftps", "ssh", "nfs",
)
"""The catalogue's drivers libvirt opens as storage (protocol) nodes."""
PROTOCOL_RULE = Rule(
    "storage nodes: file, block (host_device), cdrom (host_cdrom), dir (vvfat), nvme and the "
    "network protocols; the +file answer is taken for all of them",
    "libvirt src/qemu/qemu_block.c, qemuBlockStorageSourceGetBackendProps",
)

RULES = (PROBE_RULE, GATE_RULE, NODE_RULE, PROTOCOL_RULE)


class ShippedLibvirt(Policy):
    """The client hooks of :class:`Policy`, as the shipped libvirt fills them."""

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        file_dynamic = target.has(FILE_PROBE)
        missing: list[str] = []
        if not file_dynamic:
            missing.append(FILE_CAPABILITY)
        properties = target.device_properties(DEVICE_ID_DEVICE)
        if capabilities.SCSI_DISK_DEVICE_ID.name not in properties:
            missing.append(f"{DEVICE_ID_DEVICE} {capabilities.SCSI_DISK_DEVICE_ID.name}")
        if not target.has(SAVEVM_QUERY):
            missing.append(capabilities.SAVEVM_MONITOR_NODES.name)
        dynamic = frozenset(d for d in drivers if d in PROTOCOLS) if file_dynamic else frozenset()
        return Detection(dynamic, SignalKind.SCHEMA, FILE_PROBE, blockdev=not missing,
                         missing=tuple(missing))

    def storage_options(self, backing: bool, readonly: bool) -> dict[str, Value]:
        return {AUTO_READ_ONLY: True}


CLIENT = ShippedLibvirt(
    name=NAME,
    title="libvirt as shipped: one +file probe, one frontend for the whole binary",
    source=f"{PROBE_RULE.source}; {GATE_RULE.source}; {NODE_RULE.source}",
    release="4.1",
    version="4.1.0",
    signal=SignalKind.SCHEMA,
    cacheable=True,
)
"""Only its client hooks are used; its build fields are never built."""
