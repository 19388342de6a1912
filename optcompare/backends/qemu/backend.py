"""The ``qemu`` backend: scenario steps on a real ``qemu-storage-daemon``.

It plays QEMU for the runner (:mod:`optcompare.scenario.runner`) the way
:class:`~optcompare.backends.model.ModelBackend` does on the model, so
that the two can be compared step by step (``optcompare conformance``).

- Images are real qcow2 files made with ``qemu-img`` in the daemon's temp
  dir, with the scenario's backing chain; a label is a file mode (0644
  allows writes, 0444 denies them: the daemon runs unprivileged).
- Node names: ``<image>-storage`` for the protocol (``file``) node,
  ``<image>`` for the qcow2 node over it.
- Writers come from ``block-export-add`` (nbd, writable) on the protocol
  node; jobs are ``block-commit`` / ``block-stream`` awaited through job
  events, with ``block-job-complete`` for an active commit and
  ``job-dismiss`` at the end. A commit names the disk as libvirt does
  (``device``: the drive's id, or the active layer's node), whether or not
  QEMU has it: after a start that failed part way, QEMU answers
  ``Device 'top' not found``.
- QEMU's errors become :class:`StepError` with QEMU's exact text, except
  that the temp dir prefix of paths is dropped (``'base.qcow2'``), so that
  messages compare with the model's.
- Observed: fd mode from ``/proc``, ``ro`` flags from
  ``query-named-block-nodes``. The open *mode* is not observable (None).
  Access denials are the failed opens for writing seen as QMP errors
  (``Permission denied``: an open, a dynamic upgrade, a reopen). A write
  that SELinux refuses through a descriptor opened read-write before a
  relabel cannot be shown with file modes (POSIX checks modes at open
  only), and a guest is not there to write anyway.
- ``-drive`` and guest writes run on the emulator
  (:class:`~optcompare.backends.qemu.emulator.QemuEmulator`,
  ``qemu-system-x86_64 -M none``): a scenario that opens its disk with
  ``-drive`` (or may: ``auto``) or writes as the guest gets one instead of
  the daemon (:func:`needs_emulator`). Its implicit nodes are found by file
  name and driver; the drive's id is the top image's name; dropped
  implicit nodes go away with their job (nothing to delete). A guest write
  is HMP ``qemu-io`` on the drive (or, with ``-blockdev``, on the qcow2
  node).

The real backend runs QEMU's released semantics only (``qemu-4.1``, as
QEMU 4.1 to 7.2 behave); :func:`qemu_backend` refuses other builds, other
drivers and Windows builds with a reason.

A daemon that dies during a step is a :class:`~optcompare.errors.BackendError`
(:class:`~optcompare.backends.qemu.daemon.DaemonDied`), never a step outcome;
:func:`run_scenarios` reports it as a :class:`BackendFailure` for that
scenario and goes on with the next one.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from optcompare.backends.qemu.daemon import (
    DaemonDied,
    QemuDaemon,
    QemuTools,
    QmpCommandError,
    QmpTimeout,
)
from optcompare.errors import BackendError
from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.model.messages import Wording, device_not_found
from optcompare.model.modes import Fd
from optcompare.model.options import Written
from optcompare.policies.base import Build, Policy
from optcompare.scenario.backend import Backend, NotApplicable, Observation, StepError
from optcompare.scenario.runner import ScenarioResult, StepRecord
from optcompare.scenario.spec import Scenario

if TYPE_CHECKING:
    from optcompare.backends.qemu.emulator import QemuEmulator

__all__ = [
    "BACKEND_NAME",
    "DAEMON_WORDING",
    "BackendFailure",
    "Failure",
    "JobHook",
    "Progress",
    "QemuBackend",
    "QemuFactory",
    "RunItem",
    "describe_failure",
    "is_released",
    "needs_emulator",
    "qemu_backend",
    "released_policy",
    "run_one",
    "run_scenarios",
]

BACKEND_NAME = "qemu"
PERMISSION_DENIED = "Permission denied"
SUPPORTED_DRIVER = "file"
DAEMON_WORDING = Wording("7.2")
"""The words of the QEMU this backend runs (Debian 12's 7.2), for the errors it says in
QEMU's stead."""

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Called when a job is held (tests observe the graph mid-job):
#: ``hook(backend, job_id, status)`` with status ``ready`` (an active commit,
#: before ``block-job-complete``) or ``pending`` (before ``job-finalize``).
JobHook = Callable[["QemuBackend", str, str], None]


def released_policy() -> Policy:
    """The model of the behaviour QEMU released (4.1 on), with 5.2+ error texts."""
    from optcompare.policies import qemu_4_1

    return qemu_4_1.POLICY.with_wording(DAEMON_WORDING.era)


def is_released(policy: Policy) -> bool:
    """``policy`` is qemu-4.1 as released (any wording era)."""
    from optcompare.policies import qemu_4_1

    return dataclasses.replace(policy, wording=Wording()) == dataclasses.replace(
        qemu_4_1.POLICY, wording=Wording()
    )


def _operation(
    what: str,
) -> Callable[[Callable[Concatenate[QemuBackend, _P], _R]],
              Callable[Concatenate[QemuBackend, _P], _R]]:
    """Name the operation a method runs; remember the first one the backend broke in.

    ``what`` is formatted with the method's arguments (``{0}``, ``{1}``...).
    """

    def decorate(method: Callable[Concatenate[QemuBackend, _P], _R]
                 ) -> Callable[Concatenate[QemuBackend, _P], _R]:
        def wrapper(self: QemuBackend, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            self.operation = what.format(*args)
            try:
                return method(self, *args, **kwargs)
            except BackendError:
                if self.failed_during is None:
                    self.failed_during = self.operation
                raise

        functools.update_wrapper(wrapper, method)
        return wrapper

    return decorate


def _looked_up_as_device(name: str) -> str:
    """bdrv_lookup_bs(name, name): block-stream's ``device``, blockdev-snapshot's ``node``."""
    return DAEMON_WORDING.node_not_found(name, name)


class QemuBackend:
    """The runner's :class:`~optcompare.scenario.backend.Backend` on a live daemon.

    ``owns_daemon``: :meth:`close` closes the daemon too (what
    :func:`qemu_backend` does). ``job_hook``: see :data:`JobHook`; when set,
    jobs run with ``auto-finalize`` off so that the hook sees them pending.
    """

    name = BACKEND_NAME

    def __init__(
        self,
        daemon: QemuDaemon,
        build: Build,
        driver: str = SUPPORTED_DRIVER,
        *,
        job_hook: JobHook | None = None,
        owns_daemon: bool = False,
        job_timeout: float = 10.0,
    ) -> None:
        self.daemon = daemon
        self.build = build
        self.driver = driver
        self.job_hook = job_hook
        self.owns_daemon = owns_daemon
        self.job_timeout = job_timeout
        #: the operation running (or last run)
        self.operation: str | None = None
        #: the operation during which the backend first broke (daemon died, timeout)
        self.failed_during: str | None = None
        self._paths: dict[str, Path] = {}
        self._protocol: set[str] = set()
        self._format: dict[str, str | None] = {}
        """qcow2 nodes and the image each one has as backing."""
        self._exports: set[str] = set()
        self._implicit: set[str] = set()
        """Images whose nodes ``-drive`` made (generated names)."""
        self._drive: str | None = None
        """The drive's id (its top image at start), once the client asked ``-drive`` for
        the disk, whether or not QEMU could open it: the client's name for its disk."""
        self._overlays: set[str] = set()
        """Snapshot overlays of a drive, opened by ``blockdev-snapshot-sync`` itself."""
        self._denials: Counter[str] = Counter()
        self._jobs = 0
        self._nbd_started = False
        self._schema: Any = None
        self._closed = False

    # -- plumbing -------------------------------------------------------------
    def path(self, image: str) -> Path:
        """The image's file (it may not exist yet)."""
        return self._paths.get(image) or self.daemon.path(f"{image}.qcow2")

    def reduce(self, text: str) -> str:
        """QEMU's text with the temp dir prefix of paths removed."""
        prefix = str(self.daemon.tmpdir)
        return text.replace(prefix + "/", "").replace(prefix, ".")

    def _named(self, text: str) -> str:
        """``text`` with the generated names of implicit nodes (``'#block083'``) given as
        the backend names nodes it adds (``'top-storage'``, ``'top'``): a generated name
        says nothing about the model."""
        if "'#block" not in text:
            return text
        emulator = self._emulator("-drive")
        for image in sorted(self._implicit):
            found = emulator.implicit_nodes(self.path(image))
            for driver, name in found.items():
                given = image if driver == "qcow2" else f"{image}-storage"
                text = text.replace(f"'{name}'", f"'{given}'")
        return text

    def _image_in(self, text: str) -> str | None:
        for image in self._paths:
            if f"'{image}.qcow2'" in text:
                return image
        return None

    def _failed(self, text: str, image: str | None) -> StepError:
        """A QEMU error as a step error; a refused open for writing is a denial."""
        message = self._named(self.reduce(text))
        if PERMISSION_DENIED in message:
            culprit = self._image_in(message) or image
            if culprit is not None:
                self._denials[culprit] += 1
        return StepError(message)

    def _qmp(self, command: str, arguments: dict[str, Any], image: str | None) -> Any:
        """A command whose QEMU error is the step's outcome."""
        try:
            return self.daemon.execute(command, arguments)
        except QmpCommandError as error:
            raise self._failed(error.desc, image) from None

    # -- images and labels ------------------------------------------------------
    @_operation("qemu-img create")
    def create(self, images: Sequence[tuple[str, bool]], backing: str | None = None) -> None:
        for name, writable in images:
            if name in self._paths:
                raise StepError(f"Image '{name}' already exists")
            below = f"{backing}.qcow2" if backing is not None else None
            path = self.daemon.create_image(f"{name}.qcow2", backing=below)
            self.daemon.set_label(path, writable)
            self._paths[name] = path
            backing = name

    def relabel(self, image: str, writable: bool) -> None:
        self.daemon.set_label(self.path(image), writable)

    # -- opening -----------------------------------------------------------------
    @_operation("blockdev-add {0}-storage")
    def add_protocol(self, image: str, options: Written) -> None:
        arguments: dict[str, Any] = {
            "driver": self.driver,
            "node-name": f"{image}-storage",
            "filename": str(self.path(image)),
            **options,
        }
        self._qmp("blockdev-add", arguments, image)
        self._protocol.add(image)

    @_operation("blockdev-add {0}")
    def add_format(self, image: str, read_only: bool, backing: str | None) -> None:
        arguments = {
            "driver": "qcow2",
            "node-name": image,
            "file": f"{image}-storage",
            "read-only": read_only,
            "backing": backing,
        }
        self._qmp("blockdev-add", arguments, image)
        self._format[image] = backing

    def _emulator(self, what: str) -> QemuEmulator:
        from optcompare.backends.qemu.emulator import QemuEmulator

        if not isinstance(self.daemon, QemuEmulator):
            raise NotApplicable(f"qemu-storage-daemon has no {what}")
        return self.daemon

    def _node(self, image: str, node: str = "format", *,
              missing: Callable[[str], str] | None = None) -> str:
        """The node name of the image's qcow2 (``format``) or ``protocol`` node.

        An implicit node that is gone is refused as QEMU would refuse the name the
        backend gives that node: ``missing(name)``, by default bdrv_lookup_bs(NULL, name).
        """
        given = image if node == "format" else f"{image}-storage"
        if image not in self._implicit:
            return given
        found = self._emulator("-drive").implicit_nodes(self.path(image))
        name = found.get("qcow2" if node == "format" else self.driver)
        if name is None:
            refusal = missing(given) if missing is not None else (
                DAEMON_WORDING.node_not_found("", given))
            raise StepError(refusal)
        return name

    @_operation("-drive {0}")
    def open_drive(self, chain: Sequence[str], read_only: bool) -> None:
        emulator = self._emulator("-drive (no implicit nodes to open)")
        *backing_files, top = chain
        if self._drive is not None and not backing_files:
            # An overlay for a snapshot of the drive: libvirt without -blockdev lets
            # blockdev-snapshot-sync open it (mode=existing), no drive of its own.
            self._overlays.add(top)
            return
        self._drive = top
        try:
            emulator.drive_add(top, self.path(top), read_only=read_only)
        except QmpCommandError as error:
            raise self._failed(error.desc, top) from None
        below = None
        for image in chain:
            self._implicit.add(image)
            self._protocol.add(image)
            self._format[image] = below
            below = image
        del backing_files

    # -- writers -------------------------------------------------------------------
    def _nbd_server(self) -> None:
        if self._nbd_started:
            return
        socket = str(self.daemon.path("nbd.sock"))
        self.daemon.execute(
            "nbd-server-start", {"addr": {"type": "unix", "data": {"path": socket}}}
        )
        self._nbd_started = True

    @_operation("block-export-add {0}-export")
    def attach_writer(self, image: str) -> None:
        self._nbd_server()
        arguments = {
            "type": "nbd",
            "id": f"{image}-export",
            "node-name": self._node(image, "protocol"),
            "writable": True,
        }
        self._qmp("block-export-add", arguments, image)
        self._exports.add(image)

    @_operation("block-export-del {0}-export")
    def detach_writer(self, image: str) -> None:
        export = f"{image}-export"
        self._qmp("block-export-del", {"id": export}, image)
        self._exports.discard(image)
        deadline = time.monotonic() + self.job_timeout
        while any(e.get("id") == export for e in self.daemon.execute("query-block-exports")):
            if time.monotonic() > deadline:
                raise QmpTimeout(f"export {export!r} still there after {self.job_timeout} s")
            time.sleep(0.005)

    # -- reopening ------------------------------------------------------------------
    @_operation("blockdev-reopen {0}-storage")
    def reopen(self, image: str, options: Written) -> None:
        node = {
            "driver": self.driver,
            "node-name": f"{image}-storage",
            "filename": str(self.path(image)),
            **options,
        }
        self._qmp("blockdev-reopen", {"options": [node]}, image)

    # -- jobs -------------------------------------------------------------------------
    def _root_of(self, image: str) -> str:
        """The active layer above ``image`` (the job's ``device``)."""
        node = image
        while True:
            above = next((f for f, below in self._format.items() if below == node), None)
            if above is None:
                return node
            node = above

    def _job_id(self, kind: str) -> str:
        self._jobs += 1  # never reuse an id: the daemon remembers statuses by id
        return f"{kind}-{self._jobs}"

    def _job_arguments(self, job: str) -> dict[str, Any]:
        return {"job-id": job, "auto-finalize": self.job_hook is None, "auto-dismiss": False}

    def _job_error(self, job: str) -> str | None:
        for event in reversed(self.daemon.events):
            data = event.get("data") or {}
            if data.get("device") == job and data.get("error"):
                return str(data["error"])
        return None

    def _await(self, job: str, *statuses: str) -> tuple[str, str | None]:
        """Wait until ``job`` is in one of ``statuses`` or concluded (or gone): its
        status, error.

        ``wait_job`` may answer from the events while its ``query-jobs``
        snapshot is older, so the settled status is read here again.
        """
        self.daemon.wait_job(job, set(statuses), timeout=self.job_timeout)
        deadline = time.monotonic() + self.job_timeout
        while True:
            jobs = self.daemon.execute("query-jobs")
            entry = next((j for j in jobs if j.get("id") == job), None)
            if entry is None:
                return "null", self._job_error(job)
            current = str(entry["status"])
            if current in statuses or current == "concluded":
                return current, entry.get("error") or self._job_error(job)
            if time.monotonic() > deadline:
                raise QmpTimeout(f"job {job!r} still {current!r} after {self.job_timeout} s")
            time.sleep(0.002)

    def _run_job(self, job: str, image: str, *, active: bool = False) -> None:
        """Await ``job`` to its end, pivot an active commit, dismiss it.

        A job that gets ready when no active commit was asked for is QEMU's active
        commit of a device the backend named wrongly: it is cancelled and the backend
        fails at once, instead of waiting for an end that needs a pivot.
        """
        hook = self.job_hook
        status, error = "", None
        if active:
            status, error = self._await(job, "ready")
            if status == "ready":
                if hook is not None:
                    hook(self, job, "ready")
                self._qmp("block-job-complete", {"device": job}, image)
        if status not in ("concluded", "null"):
            end = "pending" if hook is not None else "concluded"
            status, error = self._await(job, end) if active else self._await(job, end, "ready")
            if status == "ready":
                self._abandon(job)
                raise BackendError(f"job {job!r} is an active commit, ready for a pivot, "
                                   "but the step's commit is not active")
        if status == "pending":
            assert hook is not None
            hook(self, job, "pending")
            self._qmp("job-finalize", {"id": job}, image)
            status, error = self._await(job, "concluded")
        if status == "concluded":
            self.daemon.execute("job-dismiss", {"id": job})
        if error:
            raise self._failed(error, image)

    def _abandon(self, job: str) -> None:
        """Cancel a job that should not run (a ready mirror ends without a pivot), dismiss it."""
        self.daemon.execute("job-cancel", {"id": job})
        status, _ = self._await(job, "concluded")
        if status == "concluded":
            self.daemon.execute("job-dismiss", {"id": job})

    def _device(self, device: str) -> str:
        """The disk, as libvirt names it to a job: the drive's id under ``-drive``, else the
        node of its active layer, ``device``."""
        if self._drive is not None:
            return self._drive
        return self._node(device, missing=device_not_found)

    @_operation("block-commit {1} into {2}")
    def commit(self, device: str, top: str, base: str) -> None:
        job = self._job_id("commit")
        active = top == device
        overlay = None if active else self._overlay_of(top)
        arguments = {
            **self._job_arguments(job),
            "device": self._device(device),
            "top-node": self._node(top),
            "base-node": self._node(base),
        }
        self._qmp("block-commit", arguments, base)
        self._run_job(job, base, active=active)
        if overlay is not None:
            self._format[overlay] = base

    def _overlay_of(self, image: str) -> str | None:
        return next((f for f, below in self._format.items() if below == image), None)

    @_operation("block-stream into {0}")
    def stream(self, top: str, base: str | None) -> None:
        job = self._job_id("stream")
        arguments = {**self._job_arguments(job),
                     "device": self._node(top, missing=_looked_up_as_device)}
        if base is not None:
            arguments["base-node"] = self._node(base)
        self._qmp("block-stream", arguments, top)
        self._run_job(job, top)
        self._format[top] = base

    @_operation("blockdev-snapshot {0} over {1}")
    def snapshot(self, new: str, old: str) -> None:
        if new in self._overlays:
            # libvirt's snapshot of a -drive disk names the drive (device) only: QEMU
            # looks it up before it opens the overlay.
            self._overlays.discard(new)
            self._qmp("blockdev-snapshot-sync", {
                "device": self._drive, "snapshot-file": str(self.path(new)),
                "snapshot-node-name": new, "format": "qcow2", "mode": "existing"}, new)
            self._implicit.add(new)
            self._protocol.add(new)
        else:
            self._qmp("blockdev-snapshot", {"node": old, "overlay": new}, new)
        self._format[new] = old

    @_operation("qemu-io {0} write")
    def guest_write(self, image: str) -> None:
        emulator = self._emulator("guest: guest writes cannot be replayed")
        device = self._node(image)
        if image in self._implicit and self._root_of(image) == image:
            device = self._drive or image  # the guest writes through the drive
        try:
            emulator.guest_write(device)
        except QmpCommandError as error:
            raise self._failed(error.desc, image) from None

    @_operation("blockdev-del {0}")
    def delete(self, image: str) -> None:
        if image in self._implicit:  # QEMU drops an implicit node with its job
            self._implicit.discard(image)
            self._format.pop(image, None)
            self._protocol.discard(image)
            return
        if image in self._format:
            self._qmp("blockdev-del", {"node-name": image}, image)
            del self._format[image]
        if image in self._protocol:
            self._qmp("blockdev-del", {"node-name": f"{image}-storage"}, image)
            self._protocol.discard(image)

    # -- looking ------------------------------------------------------------------------
    @_operation("observe {0}")
    def observe(self, image: str, node: str = "protocol") -> Observation:
        nodes = self.daemon.named_nodes()
        path = self.path(image)
        try:
            label = bool(path.stat().st_mode & 0o200)
        except OSError:
            label = False
        fd = Fd(self.daemon.fd_mode(path))
        if image in self._implicit:
            by_driver = {n["drv"]: n for n in nodes.values() if n["file"] == str(path)}
            proto, fmt = by_driver.get(self.driver), by_driver.get("qcow2")
        else:
            proto, fmt = nodes.get(f"{image}-storage"), nodes.get(image)
        chosen = fmt if node == "format" else proto
        return Observation(
            label=label,
            fd=fd,
            ro=bool(chosen["ro"]) if chosen is not None else None,
            mode=None,
            denials=self._denials[image],
            format_ro=bool(fmt["ro"]) if fmt is not None else None,
        )

    @_operation("query-qmp-schema")
    def has(self, query: str) -> bool:
        from optcompare.schema.query import SchemaIndex, path_exists

        if self._schema is None:
            self._schema = SchemaIndex(self.daemon.execute("query-qmp-schema"))
        index: SchemaIndex = self._schema
        return path_exists(index, query)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.owns_daemon:
            self.daemon.close()


def needs_emulator(scenario: Scenario) -> bool:
    """The scenario opens its disk with ``-drive`` (or may: ``auto``) or writes as the guest."""
    return scenario.setup.frontend != "blockdev" or any(
        step.do == "guest-write" for step in scenario.steps)


def qemu_backend(
    build: Build,
    driver: str,
    *,
    tools: QemuTools | None = None,
    job_hook: JobHook | None = None,
    emulator: bool = False,
) -> QemuBackend:
    """A runner factory: a fresh daemon (``emulator``: a fresh
    ``qemu-system-x86_64 -M none``) per scenario, closed with the backend.

    Raises :class:`NotApplicable` for what a real qemu-storage-daemon here
    cannot run: a Windows build, a driver other than ``file``, a build other
    than the released behaviour.
    """
    if build.platform is not Platform.POSIX:
        raise NotApplicable(
            f"the real backend is a POSIX qemu-storage-daemon; {build.name} is a "
            f"{build.platform.value} build"
        )
    if driver != SUPPORTED_DRIVER:
        raise NotApplicable(
            f"the real backend uses local image files (driver 'file'), not {driver!r}"
        )
    if not is_released(build.policy):
        raise NotApplicable(
            f"the real backend runs QEMU's released semantics only (qemu-4.1, as QEMU "
            f"4.1 to 7.2 behave), not {build.name}"
        )
    daemon: QemuDaemon
    if emulator:
        from optcompare.backends.qemu.emulator import QemuEmulator, find_emulator

        try:
            binary = find_emulator()
        except BackendError as error:
            raise NotApplicable(str(error)) from None
        daemon = QemuEmulator(tools, binary)
    else:
        daemon = QemuDaemon(tools)
    daemon.start()
    return QemuBackend(daemon, build, driver, job_hook=job_hook, owns_daemon=True)


@frozen
class QemuFactory:
    """The real backend's factory; :func:`run_one` picks the daemon or the emulator
    for each scenario (:func:`needs_emulator`)."""

    tools: QemuTools | None = None
    job_hook: JobHook | None = None
    emulator: bool = False

    def __call__(self, build: Build, driver: str) -> QemuBackend:
        return qemu_backend(build, driver, tools=self.tools, job_hook=self.job_hook,
                            emulator=self.emulator)

    def for_scenario(self, scenario: Scenario) -> QemuFactory:
        return dataclasses.replace(self, emulator=needs_emulator(scenario))


# -- running scenarios ------------------------------------------------------------


@frozen
class Progress:
    """How far a run is: ``done`` of ``total`` items; ``current`` is starting."""

    done: int
    total: int
    current: str


class Failure(StrEnum):
    """What a run gives instead of an outcome when the backend itself broke."""

    BACKEND_FAILURE = "backend-failure"


@frozen
class BackendFailure:
    """The real backend broke during a scenario: not a result of the scenario.

    It has the attributes of a :class:`~optcompare.scenario.runner.ScenarioResult`
    (``outcome`` is ``backend-failure``, no trace), so that code that
    formats results handles it too.
    """

    scenario: str
    policy: str
    client: str
    reason: str
    """``backend failure: daemon died with signal 11 (SIGSEGV) during ...``."""
    signal: int | None = None
    operation: str | None = None
    """The backend operation that was running."""
    backend: str = BACKEND_NAME
    outcome: Failure = Failure.BACKEND_FAILURE
    frontend: str | None = None
    step: int | None = None
    step_text: str | None = None
    detection: None = None
    trace: tuple[StepRecord, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "client": self.client,
            "backend": self.backend,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "signal": self.signal,
            "operation": self.operation,
        }


RunItem = ScenarioResult | BackendFailure
BackendFactory = Callable[[Build, str], Backend]


def describe_failure(error: BackendError) -> tuple[str, int | None]:
    """``backend failure: ...`` for an error of the real backend, and its signal."""
    if isinstance(error, DaemonDied):
        if error.signal is not None:
            try:
                name = f" ({signal.Signals(error.signal).name})"
            except ValueError:
                name = ""
            return f"backend failure: daemon died with signal {error.signal}{name}", error.signal
        return f"backend failure: daemon exited with status {error.returncode}", None
    text = re.sub(r"\s+", " ", str(error)).strip()
    return f"backend failure: {text}", None


def run_one(
    scenario: Scenario,
    policy: Policy | None = None,
    *,
    client: str | None = None,
    factory: BackendFactory | None = None,
) -> RunItem:
    """One scenario on the real backend; a backend error is a :class:`BackendFailure`."""
    from optcompare.scenario import runner

    chosen = policy if policy is not None else released_policy()
    make: BackendFactory = factory if factory is not None else QemuFactory()
    if isinstance(make, QemuFactory):
        make = make.for_scenario(scenario)
    made: list[Backend] = []

    def tracked(build: Build, driver: str) -> Backend:
        engine = make(build, driver)
        made.append(engine)
        return engine

    try:
        return runner.run(scenario, chosen, client=client, backend=tracked)
    except BackendError as error:
        reason, number = describe_failure(error)
        engine = made[-1] if made else None
        operation = getattr(engine, "failed_during", None) or getattr(engine, "operation", None)
        if operation:
            reason += f" during {operation}"
        build = chosen.build(Platform(scenario.setup.platform))
        return BackendFailure(scenario.name, build.name, client or scenario.setup.client,
                              reason, number, operation)


def run_scenarios(
    scenarios: Sequence[Scenario],
    policies: Policy | Sequence[Policy] | None = None,
    *,
    client: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    factory: BackendFactory | None = None,
) -> list[RunItem]:
    """Every scenario on every policy (default: the released one) on the real backend.

    In the order ``[(s, p) for s in scenarios for p in policies]``, like the
    model's matrix. A policy other than the released behaviour gives
    not-applicable results; a backend failure does not stop the run.
    """
    if policies is None:
        chosen: list[Policy] = [released_policy()]
    elif isinstance(policies, Policy):
        chosen = [policies]
    else:
        chosen = list(policies)
    pairs = [(s, p) for s in scenarios for p in chosen]
    results: list[RunItem] = []
    for number, (scenario, policy) in enumerate(pairs):
        if progress is not None:
            label = scenario.name if len(chosen) == 1 else f"{scenario.name} on {policy.name}"
            progress(Progress(number, len(pairs), label))
        results.append(run_one(scenario, policy, client=client, factory=factory))
    if progress is not None:
        progress(Progress(len(pairs), len(pairs), ""))
    return results
