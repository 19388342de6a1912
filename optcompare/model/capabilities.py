"""What a release has besides block drivers that the shipped libvirt asks about.

libvirt uses ``-blockdev`` only when QEMU also has scsi-disk's ``device_id``
property and the ``savevm-monitor-nodes`` feature of ``human-monitor-command``
(libvirt src/qemu/qemu_capabilities.c:5186-5191, libvirt 6.6). Each fact
carries the release that first has it and where that is seen.
"""

from __future__ import annotations

from optcompare.frozen import frozen


@frozen
class Capability:
    """A property or schema feature a release first has at ``since``."""

    name: str
    since: str
    source: str

    def in_release(self, release: str) -> bool:
        return _rank(release) >= _rank(self.since)


def _rank(release: str) -> tuple[int, int]:
    major, minor = release.split(".")[:2]
    return int(major), int(minor)


SCSI_DISK_DEVICE_ID = Capability(
    "device_id", "4.0",
    "commit 7471a649fc; hw/scsi/scsi-disk.c:2939 @v4.0.0",
)
"""A property of the scsi-disk device (``device-list-properties``)."""

SAVEVM_MONITOR_NODES = Capability(
    "savevm-monitor-nodes", "4.2",
    "absent from qapi/*.json @v4.1.0; present in the 4.2.0 query-qmp-schema reply",
)
"""A feature of the ``human-monitor-command`` command in ``query-qmp-schema``."""

DEVICE_PROPERTIES: dict[str, tuple[Capability, ...]] = {"scsi-disk": (SCSI_DISK_DEVICE_ID,)}
COMMAND_FEATURES: dict[str, tuple[Capability, ...]] = {
    "human-monitor-command": (SAVEVM_MONITOR_NODES,),
}

def device_properties(release: str, typename: str) -> tuple[str, ...]:
    """The modelled properties of device ``typename`` in ``release``."""
    return tuple(c.name for c in DEVICE_PROPERTIES.get(typename, ()) if c.in_release(release))


def command_features(release: str, command: str) -> tuple[str, ...]:
    """The QAPI features of ``command`` in ``release``'s schema."""
    return tuple(c.name for c in COMMAND_FEATURES.get(command, ()) if c.in_release(release))
