"""The model backend: the policy's semantics, run in memory.

Format nodes (qcow2) sit over protocol nodes. A read/write format node is a
writer of its protocol node from the moment it is opened; so are exports
and jobs. Protocol nodes opened by ``-drive`` are implicit: a job's reopen of
their parent reopens them too. ``-blockdev`` nodes are explicit and keep
their own mode, which is where dynamic, fallback and hard part ways.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from optcompare.model import messages
from optcompare.model.drivers import Driver
from optcompare.model.modes import Fd, Mode, OpenOutcome
from optcompare.model.opening import open_node, upgrade
from optcompare.model.options import AUTO_READ_ONLY, READ_ONLY, Written
from optcompare.policies.base import Build, Frontend, Resolution
from optcompare.scenario.backend import NotApplicable, Observation, StepError

FORMAT_WRITER = "format"
EXPORT_WRITER = "export"


@dataclass
class ImageState:
    """An image on disk: its label, its backing file and its denials so far."""

    name: str
    label: bool
    backing: str | None
    denials: int = 0

    @property
    def path(self) -> str:
        return f"{self.name}.qcow2"


@dataclass
class ProtocolNode:
    """An image's protocol node: how it was opened and who writes through it."""

    image: str
    mode: Mode
    fd: Fd
    ro: bool
    implicit: bool
    writers: set[str] = field(default_factory=set)
    read_only_export: bool = False
    """A writable export that 2019's nbd-server-add made read-only without a word."""


@dataclass
class FormatNode:
    """An image's qcow2 node over its protocol node."""

    image: str
    read_only: bool
    backing: str | None
    implicit: bool


_T = TypeVar("_T", ImageState, ProtocolNode, FormatNode)


def _copied(item: _T) -> _T:
    copied: _T = object.__new__(type(item))
    copied.__dict__.update(item.__dict__)
    return copied


_Seen = tuple[bool, Fd, bool | None, Mode | None, int, bool | None, int]
"""An image's looks: label, descriptor, read-only flag, mode, denials, the format node's
read-only flag and the protocol node's writers (an Observation's fields)."""
_OBSERVATIONS: dict[_Seen, Observation] = {}


def _observation(seen: _Seen) -> Observation:
    """The one Observation of these looks: explore takes hundreds of thousands, of a
    few hundred kinds, and an Observation is immutable, so one of each kind serves."""
    found = _OBSERVATIONS.get(seen)
    if found is None:
        label, fd, ro, mode, denials, format_ro, writers = seen
        found = _OBSERVATIONS[seen] = Observation(
            label, fd, ro, None if mode is None else mode.value, denials, format_ro, writers)
    return found


_Key = tuple[Hashable, str | None]
_Looks = tuple[Observation | None, _Key | None]
"""An image's protocol-node observation and its key, each None until asked."""

_RESOLUTIONS: weakref.WeakKeyDictionary[Build, dict[Hashable, Resolution]] = (
    weakref.WeakKeyDictionary())


def _resolutions(build: Build) -> dict[Hashable, Resolution]:
    """What is known of ``build.resolve`` (see :func:`_resolution`)."""
    known = _RESOLUTIONS.get(build)
    if known is None:
        known = _RESOLUTIONS[build] = {}
    return known


def _resolved(known: dict[Hashable, Resolution], build: Build, options: Written,
              driver: str, frontend: Frontend) -> Resolution:
    key = (driver, frontend, tuple(options.items()), tuple(map(type, options.values())))
    found = known.get(key)
    if found is None:
        found = known[key] = build.resolve(options, driver, frontend)
    return found


def _resolution(build: Build, options: Written, driver: str, frontend: Frontend
                ) -> Resolution:
    """``build.resolve``, once per build, driver, frontend and options (their types
    too): a build's hooks are pure, and a search's witness of the build (a build of
    its own) is asked the first time, which is all it notes."""
    return _resolved(_resolutions(build), build, options, driver, frontend)


class ModelBackend:
    """Runs steps on the model of one build.

    A copy (explore forks one per step) shares its images and nodes with the
    original until either side changes one: every change goes through
    :meth:`_own_image`, :meth:`_own_node` or :meth:`_own_format`, which copy
    what is shared and forget the image's cached observation.
    """

    name = "model"

    def __init__(self, build: Build, driver: str = "file") -> None:
        self.build = build
        try:
            # Asked of the one driver (a search compares builds by what it asked).
            self.driver: Driver = build.driver(driver)
        except KeyError:
            raise NotApplicable(f"{build.name} has no driver {driver!r}") from None
        self._resolved = _resolutions(build)
        """The build's resolutions (:func:`_resolution`), looked up once: a copy keeps
        the build."""
        self.images: dict[str, ImageState] = {}
        self.protocol: dict[str, ProtocolNode] = {}
        self.format: dict[str, FormatNode] = {}
        self._owned: dict[int, object] = {}
        """The images and nodes no copy shares (free to change in place), by id; held
        here, so that no id is reused while it is listed."""
        self._looks: dict[str, _Looks] = {}
        """What :meth:`observe` (of the protocol node) and :meth:`key` said of each
        unchanged image, in one entry: a change forgets both with one look-up."""
        self.drive: str | None = None
        """The drive's id (the top image at start) once the client asked ``-drive`` for
        the disk, whether or not it opened."""
        self._overlay: tuple[str, bool] | None = None
        """A drive's snapshot overlay and its read-only flag, waiting for the snapshot
        command that opens it."""
        self.changes = 0
        """How many changes of an image or a node it has seen (a copy counts on from the
        original's): the same before and after a step, the step changed none."""

    # -- copy on write -------------------------------------------------------
    def _forget(self, name: str) -> None:
        self.changes += 1
        self._looks.pop(name, None)

    def _own_image(self, name: str) -> ImageState:
        self._forget(name)
        state = self.images[name]
        if id(state) not in self._owned:
            state = self.images[name] = _copied(state)
            self._owned[id(state)] = state
        return state

    def _own_node(self, name: str) -> ProtocolNode:
        self._forget(name)
        node = self.protocol[name]
        if id(node) not in self._owned:
            node = self.protocol[name] = _copied(node)
            node.writers = set(node.writers)
            self._owned[id(node)] = node
        return node

    def _own_format(self, name: str) -> FormatNode:
        self._forget(name)
        fmt = self.format[name]
        if id(fmt) not in self._owned:
            fmt = self.format[name] = _copied(fmt)
            self._owned[id(fmt)] = fmt
        return fmt

    def _new(self, name: str, item: ImageState | ProtocolNode | FormatNode) -> None:
        self._forget(name)
        self._owned[id(item)] = item

    # -- images and labels -------------------------------------------------
    def create(self, images: Sequence[tuple[str, bool]], backing: str | None = None) -> None:
        for name, writable in images:
            if name in self.images:
                raise StepError(f"Image '{name}' already exists")
            self.images[name] = state = ImageState(name, writable, backing)
            self._new(name, state)
            backing = name

    def relabel(self, image: str, writable: bool) -> None:
        self._own_image(image).label = writable

    def _denied(self, image: str, outcome: OpenOutcome) -> None:
        if outcome.denial:
            self._own_image(image).denials += 1

    # -- opening ------------------------------------------------------------
    def _open(self, image: str, options: Written, frontend: Frontend,
              implicit: bool) -> None:
        if image in self.protocol:
            raise StepError(self.build.policy.wording.duplicate_node(f"{image}-storage"))
        resolution = _resolved(self._resolved, self.build, options, self.driver.name, frontend)
        state = self.images[image]
        outcome = open_node(resolution.mode, self.driver, state.label, state.path,
                            resolution.error)
        self._denied(image, outcome)
        if outcome.error is not None:
            raise StepError(outcome.error)
        self.protocol[image] = node = ProtocolNode(image, resolution.mode, outcome.fd,
                                                   outcome.ro, implicit)
        self._new(image, node)

    def add_protocol(self, image: str, options: Written) -> None:
        self._open(image, options, Frontend.BLOCKDEV, implicit=False)

    def add_format(self, image: str, read_only: bool, backing: str | None) -> None:
        if image not in self.protocol:
            # blockdev-add's file reference: bdrv_open_inherit() looks it up as
            # bdrv_lookup_bs(reference, reference) (block.c:2927 @v4.1.0).
            storage = f"{image}-storage"
            raise StepError(self.build.policy.wording.node_not_found(storage, storage))
        self._add_format_node(image, read_only, backing, implicit=False)

    def _add_format_node(self, image: str, read_only: bool, backing: str | None,
                         implicit: bool) -> None:
        """The qcow2 node over the image's open protocol node; a read/write one writes."""
        if not read_only:
            self._attach(image, FORMAT_WRITER)
        self.format[image] = fmt = FormatNode(image, read_only, backing, implicit=implicit)
        self._new(image, fmt)

    def open_drive(self, chain: Sequence[str], read_only: bool) -> None:
        *backing_files, top = chain
        if self.drive is not None and not backing_files:
            # A snapshot's overlay: libvirt without -blockdev lets blockdev-snapshot-sync
            # open it (mode=existing), with no drive of its own.
            self._overlay = (top, read_only)
            return
        self.drive = top
        # block.c bdrv_open_inherit(): the top image (its file child, then the format)
        # opens first, its backing file only after (bdrv_open_backing_file), one level at
        # a time; when any open fails, every node of the drive is closed again.
        backing_options = ({READ_ONLY: True, AUTO_READ_ONLY: False}
                           if self.build.policy.auto_option == AUTO_READ_ONLY
                           else {READ_ONLY: True})
        opened: list[str] = []
        try:
            self._open(top, {READ_ONLY: read_only}, Frontend.DRIVE, implicit=True)
            opened.append(top)
            if not read_only:
                self._attach(top, FORMAT_WRITER)
            for name in reversed(backing_files):
                # Implicit backing files: read-only=on,auto-read-only=off, inherited.
                self._open(name, backing_options, Frontend.BLOCKDEV, implicit=True)
                opened.append(name)
        except StepError:
            for name in opened:
                self.protocol.pop(name)
                self._forget(name)
            raise
        below = None
        for name in backing_files:
            self.format[name] = fmt = FormatNode(name, True, below, implicit=True)
            self._new(name, fmt)
            below = name
        self.format[top] = fmt = FormatNode(top, read_only, below, implicit=True)
        self._new(top, fmt)

    # -- writers ------------------------------------------------------------
    def _attach(self, image: str, writer: str) -> None:
        node = self._own_node(image)
        state = self.images[image]
        if node.ro:
            if writer == EXPORT_WRITER and self.build.policy.wording.modern:
                raise StepError(messages.EXPORT_READ_ONLY_NODE)
            raise StepError(messages.NODE_READ_ONLY)
        if node.mode is Mode.DYNAMIC_RO and node.fd is Fd.RO:
            outcome = upgrade(self.driver, state.label, state.path, self.build.policy.wording)
            self._denied(image, outcome)
            if outcome.error is not None:
                raise StepError(outcome.error)
            node.fd = Fd.RW
        node.writers.add(writer)

    def _detach(self, image: str, writer: str) -> None:
        node = self._own_node(image)
        node.writers.discard(writer)
        if node.mode is Mode.DYNAMIC_RO and not node.writers and self.build.policy.downgrades:
            node.fd = Fd.RO

    def attach_writer(self, image: str) -> None:
        wording = self.build.policy.wording
        if image not in self.protocol:
            # 2019's nbd-server-add looks its device up as a device too
            # (blockdev-nbd.c:172 @v4.1.0); block-export-add (5.2+) by node-name only.
            storage = f"{image}-storage"
            raise StepError(wording.node_not_found("" if wording.modern else storage, storage))
        node = self.protocol[image]
        if node.ro and not wording.modern:
            # blockdev-nbd.c:173 @v3.1.0, 187 @v4.0.0: writable=false, no error.
            self._own_node(image).read_only_export = True
            return
        if not node.ro and image in self.format:
            # qcow2 never shares write access on its file child.
            raise StepError(self.build.policy.wording.permission_conflict(
                f"{image}-storage", "an unnamed block device", "root", "write",
                f"node '{image}'", "file"))
        self._attach(image, EXPORT_WRITER)

    def detach_writer(self, image: str) -> None:
        # The export goes by its id: no node is looked up.
        node = self.protocol.get(image)
        if node is not None and node.read_only_export:
            self._own_node(image).read_only_export = False
            return
        if node is None or EXPORT_WRITER not in node.writers:
            raise StepError(messages.export_not_found(f"{image}-export"))
        self._detach(image, EXPORT_WRITER)

    # -- reopening ------------------------------------------------------------
    def _reopen_format(self, image: str, read_only: bool) -> None:
        """A job (or QEMU at a job's end) reopens a format node."""
        fmt = self.format[image]
        if fmt.read_only == read_only:
            return
        fmt = self._own_format(image)
        if fmt.implicit:
            # The implicit protocol child is reopened with its parent.
            node = self._own_node(image)
            state = self.images[image]
            if read_only:
                node.mode, node.fd, node.ro = Mode.HARD_RO, Fd.RO, True
                node.writers.discard(FORMAT_WRITER)
            else:
                outcome = open_node(Mode.HARD_RW, self.driver, state.label, state.path)
                self._denied(image, outcome)
                if outcome.error is not None:
                    raise StepError(self.build.policy.wording.implicit_reopen_failed(state.path))
                node.mode, node.fd, node.ro = Mode.HARD_RW, Fd.RW, False
                node.writers.add(FORMAT_WRITER)
        elif read_only:
            self._detach(image, FORMAT_WRITER)
        else:
            self._attach(image, FORMAT_WRITER)
        fmt.read_only = read_only

    @functools.cached_property
    def _reopens(self) -> bool:
        """Whether the driver's nodes can be reopened in the build's release (asked once:
        a copy keeps the build and the driver)."""
        return self.driver.reopens_in(self.build.policy.wording.era)

    def reopen(self, image: str, options: Written) -> None:
        if not self.build.policy.has_reopen:
            raise NotApplicable(f"{self.build.name} has no blockdev-reopen")
        if image not in self.protocol:
            raise StepError(self.build.policy.wording.reopen_node_not_found(
                f"{image}-storage"))
        if not self._reopens:
            raise StepError(messages.reopen_unsupported(self.driver.name, f"{image}-storage"))
        node = self._own_node(image)
        state = self.images[image]
        resolution = _resolved(self._resolved, self.build, options, self.driver.name,
                               Frontend.BLOCKDEV)
        opened = resolution.mode
        if opened is Mode.STICKY_RO and node.writers:
            # host_cdrom has no permission hook but a reopen hook that takes the
            # mode from the current writers (file-posix.c:3476-3515 @v4.0.0).
            opened = Mode.HARD_RW
        outcome = open_node(opened, self.driver, state.label, state.path, resolution.error)
        self._denied(image, outcome)
        if outcome.error is not None:
            raise StepError(outcome.error)
        if outcome.ro and node.writers:
            raise StepError(messages.NODE_READ_ONLY)
        node.mode, node.fd, node.ro = resolution.mode, outcome.fd, outcome.ro
        if node.mode is Mode.DYNAMIC_RO and node.writers:
            self._attach(image, FORMAT_WRITER)

    # -- jobs ---------------------------------------------------------------
    def _overlay_of(self, image: str) -> str | None:
        for fmt in self.format.values():
            if fmt.backing == image:
                return fmt.image
        return None

    def _with_reopened(self, images: Sequence[str]) -> list[tuple[str, bool]]:
        """Reopen format nodes read/write, all or none; return what to restore."""
        done: list[tuple[str, bool]] = []
        try:
            for image in images:
                before = self.format[image].read_only
                self._reopen_format(image, False)
                done.append((image, before))
        except StepError:
            for image, before in reversed(done):
                self._reopen_format(image, before)
            raise
        return done

    def _need_format(self, image: str, *, as_device: bool) -> None:
        """The command looks ``image`` up with bdrv_lookup_bs(); ``as_device``: as a
        device too (block-stream's device, blockdev-snapshot's node and overlay), else
        by node-name only (block-commit's top-node and base-node)."""
        if image not in self.format:
            raise StepError(self.build.policy.wording.node_not_found(
                image if as_device else "", image))

    def _chain_of(self, image: str) -> list[str]:
        """``image`` and the format nodes below it, top down."""
        chain = [image]
        below = self.format[image].backing
        while below is not None and below in self.format:
            chain.append(below)
            below = self.format[below].backing
        return chain

    def _commit_chain(self, device: str, top: str, base: str) -> list[str]:
        """The device's chain, checked as qmp_block_commit checks its arguments: the
        device first, then ``top`` in its chain, then ``base`` in ``top``'s (blockdev.c
        @v4.1.0, the same texts in 7.2)."""
        if device not in self.format:
            raise StepError(messages.device_not_found(device))
        self._need_format(top, as_device=False)
        chain = self._chain_of(device)
        if top not in chain:
            raise StepError(messages.not_in_chain(top))
        self._need_format(base, as_device=False)
        if base not in chain[chain.index(top):]:
            raise StepError(messages.not_in_chain(base))
        return chain

    def commit(self, device: str, top: str, base: str) -> None:
        chain = self._commit_chain(device, top, base)
        at = chain.index(top)
        # QEMU commits actively (a mirror job) when top is the device itself.
        overlay = chain[at - 1] if at > 0 else None
        targets = [base] if overlay is None else [base, overlay]
        restore = self._with_reopened(targets)
        if overlay is None:
            # The mirror job is ready; the client pivots: base is the active layer,
            # reopened with the read-only flag of the node it replaces (QEMU's
            # mirror_exit_common), so a read-only disk stays read-only.
            if self.format[top].read_only:
                self._reopen_format(base, True)
            return
        self._own_format(overlay).backing = base
        for image, before in restore:
            self._reopen_format(image, before)

    def stream(self, top: str, base: str | None) -> None:
        """Checked as qmp_block_stream checks its arguments (blockdev.c:3192-3225 @v4.1.0,
        the same texts in 7.2): the device, then base-node by node-name only, then base
        in the device's chain below it."""
        self._need_format(top, as_device=True)
        if base is not None:
            self._need_format(base, as_device=False)
            if base == top or base not in self._chain_of(top):
                raise StepError(messages.not_a_backing_image(base, top))
        restore = self._with_reopened([top])
        self._own_format(top).backing = base
        for image, before in restore:
            self._reopen_format(image, before)

    def snapshot(self, new: str, old: str) -> None:
        overlay, self._overlay = self._overlay, None
        if overlay is not None and overlay[0] == new:
            self._snapshot_drive(new, old, overlay[1])
        else:
            # external_snapshot_prepare() looks up the node, then opens the overlay by
            # reference (blockdev.c:1569, 1650 @v4.1.0).
            self._need_format(old, as_device=True)
            self._need_format(new, as_device=True)
        self._own_format(new).backing = old
        self._reopen_format(old, True)

    def _snapshot_drive(self, new: str, old: str, read_only: bool) -> None:
        """blockdev-snapshot-sync of the drive (libvirt's: device, mode=existing): QEMU
        looks the drive up as a device only, then opens the overlay without its backing
        chain (blockdev.c:1569, 1650 @v4.1.0); a drive that never opened opens nothing."""
        assert self.drive is not None  # an overlay waits only once a drive was asked for
        if old not in self.format:
            raise StepError(self.build.policy.wording.node_not_found(self.drive, ""))
        self._open(new, {READ_ONLY: read_only}, Frontend.DRIVE, implicit=True)
        self._add_format_node(new, read_only, None, implicit=True)

    def guest_write(self, image: str) -> None:
        fmt = self.format.get(image)
        if fmt is None:
            # HMP qemu-io: a name that is no drive is looked up as a node only
            # (monitor/hmp-cmds.c:2511 @v4.1.0).
            raise StepError(self.build.policy.wording.node_not_found("", image))
        if fmt.read_only:
            raise StepError(messages.NODE_READ_ONLY)
        node = self.protocol[image]
        state = self.images[image]
        if node.fd is not Fd.RW:
            raise StepError(messages.BAD_DESCRIPTOR)
        if not state.label and self.driver.local:
            # SELinux revalidates every write against the current label.
            self._own_image(image).denials += 1
            raise StepError(messages.permission_denied(state.path))

    def delete(self, image: str) -> None:
        parent = self._overlay_of(image)
        if parent is not None and image in self.format:
            raise StepError(f"Node '{image}' is busy: node is used as backing hd of '{parent}'")
        # The format node goes first (blockdev-del of the image's node), then the
        # protocol node, which QEMU refuses to delete while an export holds it.
        node = self.protocol.get(image)
        fmt = self.format.pop(image, None)
        self._forget(image)
        if fmt is not None and not fmt.read_only and node is not None:
            self._detach(image, FORMAT_WRITER)
            node = self.protocol[image]
        if node is not None and (EXPORT_WRITER in node.writers or node.read_only_export):
            raise StepError(f"Node {image}-storage is in use")
        self.protocol.pop(image, None)
        self._forget(image)

    # -- looking --------------------------------------------------------------
    def observe(self, image: str, node: str = "protocol") -> Observation:
        if node == "protocol":
            looks = self._looks.get(image)
            if looks is not None and (known := looks[0]) is not None:
                return known
            seen = self._observe(image, node)
            self._looks[image] = (seen, None if looks is None else looks[1])
            return seen
        return self._observe(image, node)

    def _observe(self, image: str, node: str) -> Observation:
        state = self.images[image]
        proto = self.protocol.get(image)
        fmt = self.format.get(image)
        format_ro = None if fmt is None else fmt.read_only
        if proto is None:
            return _observation((state.label, Fd.CLOSED, format_ro if node == "format" else None,
                                 None, state.denials, format_ro, 0))
        return _observation((state.label, proto.fd,
                             format_ro if node == "format" else proto.ro, proto.mode,
                             state.denials, format_ro, len(proto.writers)))

    def key(self, image: str) -> _Key:
        """The image and its nodes as a value (explore's states), and the image its
        format node is backed by: label; mode, descriptor, flags and writers of the
        protocol node; the format node's flags."""
        looks = self._looks.get(image)
        if looks is not None and (found := looks[1]) is not None:
            return found
        proto = self.protocol.get(image)
        fmt = self.format.get(image)
        found = (
            (self.images[image].label,
             None if proto is None else (proto.mode, proto.fd, proto.ro, proto.implicit,
                                         tuple(sorted(proto.writers)),
                                         proto.read_only_export),
             None if fmt is None else (fmt.read_only, fmt.implicit)),
            None if fmt is None else fmt.backing,
        )
        self._looks[image] = (None if looks is None else looks[0], found)
        return found

    def writers(self, image: str) -> int:
        """How many writers hold write permission on the image's protocol node."""
        node = self.protocol.get(image)
        return len(node.writers) if node is not None else 0

    def copy(self) -> ModelBackend:
        """An independent copy (explore branches on it); both share every image and node
        until one of them changes it."""
        other = object.__new__(ModelBackend)
        other.__dict__.update(self.__dict__)
        other.images, other.protocol, other.format = (
            dict(self.images), dict(self.protocol), dict(self.format))
        other._looks = dict(self._looks)
        other._owned = {}
        self._owned = {}
        return other

    def has(self, query: str) -> bool:
        from optcompare.schema.target import BuildTarget

        return BuildTarget(self.build).has(query)

    def close(self) -> None:
        return None
