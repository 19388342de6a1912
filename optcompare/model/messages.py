"""QEMU's exact error messages, by the release whose wording they follow."""

from __future__ import annotations

from enum import StrEnum

from optcompare.frozen import frozen

PATH = "<path>"


def permission_denied(path: str) -> str:
    return f"Could not open '{path}': Permission denied"


def unexpected_parameter(name: str) -> str:
    """The QAPI visitor's word for an unknown member (blockdev-add, -blockdev)."""
    return f"Parameter '{name}' is unexpected"


def invalid_parameter(value: str) -> str:
    """An enum value the QAPI visitor does not know (``driver=iser``)."""
    return f"Invalid parameter '{value}'"


def invalid_parameter_type(name: str, expected: str) -> str:
    """A member of the wrong JSON type (a string for a boolean, ``expected: boolean``)."""
    return f"Invalid parameter type for '{name}', expected: {expected}"


def drive_unknown_option(driver: str, name: str, format_driver: bool) -> str:
    """-drive with an option the driver does not take (block.c:2776 @v3.0.0, 3107 @v4.1.0)."""
    if format_driver:
        return f"Block format '{driver}' does not support the option '{name}'"
    return f"Block protocol '{driver}' doesn't support the option '{name}'"


def reopen_unsupported(driver: str, node: str) -> str:
    """A reopen of a node whose driver has no ``bdrv_reopen_prepare`` (block.c)."""
    return (f"Block format '{driver}' used by node '{node}' does not support reopening "
            "files")


def device_not_found(device: str) -> str:
    """A job's ``device`` that names no drive nor node, class DeviceNotFound (blockdev.c
    qmp_block_commit @v4.1.0; the same in 7.2): after a start that failed part way, the
    disk's active layer was never added."""
    return f"Device '{device}' not found"


def not_in_chain(node: str) -> str:
    """A commit's top (or base) node that is not below the device (or the top)
    (blockdev.c qmp_block_commit @v4.1.0; the same in 7.2)."""
    return f"'{node}' is not in this backing file chain"


def not_a_backing_image(base: str, device: str) -> str:
    """A stream's base-node that is the device itself or not below it (blockdev.c
    qmp_block_stream @v4.1.0; the same in 7.2)."""
    return f"Node '{base}' is not a backing image of '{device}'"


def export_not_found(export: str) -> str:
    """block-export-del (7.2), nbd-server-remove (blockdev-nbd.c:217 @v4.1.0) of an
    export id that is not there."""
    return f"Export '{export}' is not found"


def command_not_found(name: str) -> str:
    return f"The command {name} has not been found"


NODE_READ_ONLY = "Block node is read-only"
IMAGE_READ_ONLY = "Image is read-only"
# A guest write through a descriptor opened read-only (host_cdrom's quirk): it
# fails at I/O time, a BLOCK_IO_ERROR; qemu-io's words (qemu-io-cmds.c:1106 @v4.1.0).
BAD_DESCRIPTOR = "write failed: Bad file descriptor"


@frozen
class Wording:
    """Messages whose text changed between releases.

    ``era`` is the release whose wording is used: a policy speaks its own
    release's (empty: the policy fills in its release), the real daemon on
    this machine like 7.2 (5.2+). The drivers' refusals follow the same era
    (``Driver.refusal_in``).
    """

    era: str = ""

    def _since(self, major: int, minor: int) -> bool:
        found = tuple(int(p) for p in self.era.rstrip("+").split(".")[:2])
        return found >= (major, minor)

    @property
    def modern(self) -> bool:
        return self._since(5, 2)

    @property
    def quotes_node_names(self) -> bool:
        """6.0+: Connor Kuehl's "block: Clarify error messages pertaining to 'node-name'"
        and its blockdev.c twin (March 2021) quote the names and spell ``node-name``."""
        return self._since(6, 0)

    def node_not_found(self, device: str, node: str) -> str:
        """bdrv_lookup_bs(device, node_name) found neither; ``device`` is "" where the
        caller passes NULL (block.c:4009 @v3.0.0, 4161 @v3.1.0, 4786 @v4.0.0, 4966
        @v4.1.0; the same words until 6.0)."""
        if self.quotes_node_names:
            return f"Cannot find device='{device}' nor node-name='{node}'"
        return f"Cannot find device={device} nor node_name={node}"

    def duplicate_node(self, node: str) -> str:
        """A node added under a name another node has (bdrv_assign_node_name(): block.c
        @v3.0.0 to @v4.1.0 name no node; the same 6.0 patch names it)."""
        if self.quotes_node_names:
            return f"Duplicate nodes with node-name='{node}'"
        return "Duplicate node name"

    def reopen_node_not_found(self, node: str) -> str:
        """(x-)blockdev-reopen of a node that is not there (blockdev.c:4288 @v4.0.0,
        4316 @v4.1.0)."""
        if self.quotes_node_names:
            return f"Failed to find node with node-name='{node}'"
        return f"Cannot find node named '{node}'"

    def upgrade_failed(self, path: str) -> str:
        """A dynamic node could not be reopened read/write for a writer."""
        if self.modern:
            return permission_denied(path)
        return "Could not reopen file: Permission denied"

    def implicit_reopen_failed(self, path: str) -> str:
        """A job reopened an implicit (-drive) node whose image is unwritable."""
        return self.upgrade_failed(path)

    def permission_conflict(self, node: str, parent: str, role: str, perm: str,
                            holder: str, holder_role: str) -> str:
        """A second writer on a node whose parent does not share write.

        2019 (block.c:1952 @v4.0.0, 2031 @v4.1.0) names the parent that forbids
        it; 5.2+ names both sides.
        """
        if self.modern:
            return (f"Permission conflict on node '{node}': permissions '{perm}' are both "
                    f"required by {parent} (uses node '{node}' as '{role}' child) and unshared "
                    f"by {holder} (uses node '{node}' as '{holder_role}' child).")
        return (f"Conflicts with use by {holder} as '{holder_role}', which does not allow "
                f"'{perm}' on {node}")


class Situation(StrEnum):
    """When QEMU says one of the messages the model uses."""

    OPEN_DENIED = "open-denied"
    WRITER_ON_READ_ONLY_NODE = "writer-on-read-only-node"
    UPGRADE_FAILED = "upgrade-failed"
    IMPLICIT_REOPEN_FAILED = "implicit-reopen-failed"
    UNKNOWN_MEMBER = "unknown-member"
    UNKNOWN_DRIVER = "unknown-driver"
    DRIVE_UNKNOWN_OPTION = "drive-unknown-option"
    UNKNOWN_COMMAND = "unknown-command"
    PERMISSION_CONFLICT = "permission-conflict"
    GUEST_WRITE_BAD_DESCRIPTOR = "guest-write-bad-descriptor"
    WRITABLE_EXPORT_OF_READ_ONLY_NODE = "writable-export-of-read-only-node"
    REOPEN_UNSUPPORTED = "reopen-unsupported"
    NODE_NOT_FOUND = "node-not-found"
    DUPLICATE_NODE = "duplicate-node"
    REOPEN_NODE_NOT_FOUND = "reopen-node-not-found"


@frozen
class Message:
    """One message in one era's words, and where the source (or a measurement) has it."""

    situation: Situation
    text: str | None
    """None: QEMU says nothing (the 2019 writable export of a read-only node)."""
    source: str


EXPORT_READ_ONLY_NODE = "Cannot export read-only node as writable"


def catalogue(wording: Wording) -> tuple[Message, ...]:
    """The messages the model uses, as ``wording``'s era says them."""
    modern, clarified = wording.modern, wording.quotes_node_names
    s = Situation
    return (
        Message(s.OPEN_DENIED, permission_denied(PATH), "block/file-posix.c:550 @v4.1.0"),
        Message(s.WRITER_ON_READ_ONLY_NODE, NODE_READ_ONLY, "block.c:1828 @v4.1.0"),
        Message(s.UPGRADE_FAILED, wording.upgrade_failed(PATH),
                "QEMU 7.2, measured (reference section 4)" if modern
                else "block/file-posix.c:923 @v4.0.0 (raw_reconfigure_getfd)"),
        Message(s.IMPLICIT_REOPEN_FAILED, wording.implicit_reopen_failed(PATH),
                "QEMU 7.2, measured (reference section 10)" if modern
                else "block/file-posix.c:923 @v4.0.0"),
        Message(s.UNKNOWN_MEMBER, unexpected_parameter("<option>"),
                "qapi/qobject-input-visitor.c:251 @v4.0.0"),
        Message(s.UNKNOWN_DRIVER, invalid_parameter("<driver>"),
                "qapi/qapi-visit-core.c:368 @v4.0.0 (QERR_INVALID_PARAMETER)"),
        Message(s.DRIVE_UNKNOWN_OPTION, drive_unknown_option("<driver>", "<option>", False),
                "block.c:2776 @v3.0.0, 3107 @v4.1.0"),
        Message(s.UNKNOWN_COMMAND, command_not_found("<command>"),
                "qapi/qmp-dispatch.c:103 @v4.0.0"),
        Message(s.PERMISSION_CONFLICT,
                wording.permission_conflict("<node>", "<parent>", "<role>", "<perm>",
                                            "<holder>", "<holder-role>"),
                "QEMU 7.2, measured" if modern
                else "block.c:1952 @v4.0.0, 2031 @v4.1.0"),
        Message(s.GUEST_WRITE_BAD_DESCRIPTOR, BAD_DESCRIPTOR, "qemu-io-cmds.c:1106 @v4.1.0"),
        Message(s.WRITABLE_EXPORT_OF_READ_ONLY_NODE,
                EXPORT_READ_ONLY_NODE if modern else None,
                "QEMU 7.2, measured" if modern
                else "blockdev-nbd.c:173 @v3.1.0, 187 @v4.0.0: exported read-only, no error"),
        Message(s.REOPEN_UNSUPPORTED, reopen_unsupported("<driver>", "<node>"),
                "block.c bdrv_reopen_prepare() @v4.1.0 (a driver without "
                ".bdrv_reopen_prepare: nbd until 4.2)"),
        Message(s.NODE_NOT_FOUND, wording.node_not_found("<device>", "<node>"),
                "QEMU 7.2, measured; block.c bdrv_lookup_bs() from 6.0" if clarified
                else "block.c:4966 @v4.1.0 (bdrv_lookup_bs)"),
        Message(s.DUPLICATE_NODE, wording.duplicate_node("<node>"),
                "QEMU 7.2, measured; block.c bdrv_assign_node_name() from 6.0" if clarified
                else "block.c bdrv_assign_node_name() @v4.1.0"),
        Message(s.REOPEN_NODE_NOT_FOUND, wording.reopen_node_not_found("<node>"),
                "QEMU 7.2, measured; blockdev.c from 6.0" if clarified
                else "blockdev.c:4288 @v4.0.0, 4316 @v4.1.0 (qmp_x_blockdev_reopen)"),
    )
