"""The qemu backend: scenario steps on a real qemu-storage-daemon.

The thread's core workflow on the real daemon (the base image's descriptor
O_RDONLY at start, O_RDWR during the commit, O_RDONLY after), the commit
without the relabel, the active commit, and backend failures (a daemon
killed midway, QEMU 7.2's own crash) that must not stop a run or leave a
daemon or a temp dir behind.

Needs qemu-storage-daemon and qemu-img; without them these tests skip, or
fail when CI is set (tests/qemu_required.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from qemu_required import require_qemu  # tests/ is on sys.path

from optcompare.backends.qemu import backend as qb
from optcompare.backends.qemu.backend import (
    BackendFailure,
    QemuBackend,
    is_released,
    qemu_backend,
    released_policy,
    run_scenarios,
)
from optcompare.backends.qemu.daemon import QemuDaemon, QemuTools
from optcompare.errors import BackendError
from optcompare.model.drivers import Platform
from optcompare.model.modes import Behaviour, Fd
from optcompare.policies import qemu_4_1, registry
from optcompare.policies.base import Build
from optcompare.scenario import load, runner
from optcompare.scenario.backend import NotApplicable, StepError
from optcompare.scenario.runner import Outcome, ScenarioResult
from optcompare.scenario.spec import Scenario

RELEASED = released_policy()
DENIED = "Could not open 'base.qcow2': Permission denied"


# -- no daemon, no temp dir left behind ---------------------------------------------


def our_daemons() -> list[str]:
    """qemu-storage-daemon processes that are children of this test process."""
    pgrep = shutil.which("pgrep")
    if pgrep is not None:
        out = subprocess.run([pgrep, "-a", "-P", str(os.getpid()), "-f", "qemu-storage-daemon"],
                             capture_output=True, text=True, check=False).stdout
        return [line for line in out.splitlines() if line.strip()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.M)
        if ppid and int(ppid.group(1)) == os.getpid() and "qemu-storage-daemon" in cmd:
            found.append(f"{entry.name} {cmd}")
    return found


@pytest.fixture
def no_leftovers(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """Daemon temp dirs go under a fresh dir that must hold none afterwards,
    and no daemon started by this process may still run."""
    tmp_path_factory.getbasetemp()  # pytest's own temp root is fixed before we move tempdir
    root = Path(tempfile.mkdtemp(prefix="optcompare-test-"))
    root.chmod(0o755)  # the unprivileged daemon must reach its socket
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    try:
        assert not our_daemons()
        yield root
        assert not our_daemons(), "a qemu-storage-daemon was left running"
        assert not list(root.glob("optcompare-qsd-*")), "a daemon temp dir was left behind"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def scenario(name: str) -> Scenario:
    return load.select([name])[0]


def write_scenario(directory: Path, name: str, text: str) -> Scenario:
    path = directory / f"{name}.toml"
    path.write_text(text)
    return load.load(path)


Factory = Any


def hooked(tools: QemuTools, hook: qb.JobHook) -> Factory:
    def factory(build: Build, driver: str) -> QemuBackend:
        return qemu_backend(build, driver, tools=tools, job_hook=hook)

    return factory


# -- what the backend refuses (no QEMU needed) ----------------------------------------


def test_factory_refuses_what_the_daemon_cannot_run() -> None:
    with pytest.raises(NotApplicable, match="windows"):
        qemu_backend(RELEASED.build(Platform.WINDOWS), "file")
    with pytest.raises(NotApplicable, match="'nbd'"):
        qemu_backend(RELEASED.build(), "nbd")
    for name in ("qemu-3.1", "qemu-4.0", "option-1", "option-2", "option-3"):
        with pytest.raises(NotApplicable, match="released semantics only"):
            qemu_backend(registry.get(name).build(), "file")
    later = qemu_4_1.POLICY.later("file", Behaviour.FALLBACK)
    with pytest.raises(NotApplicable, match="released semantics only"):
        qemu_backend(later.build(), "file")
    assert is_released(qemu_4_1.POLICY) and is_released(RELEASED)


def test_drive_and_guest_writes_are_not_applicable() -> None:
    engine = QemuBackend(cast(QemuDaemon, object()), RELEASED.build())
    with pytest.raises(NotApplicable, match="-drive"):
        engine.open_drive(["base", "top"], False)
    with pytest.raises(NotApplicable, match="guest"):
        engine.guest_write("top")


# -- the thread's core workflow on the real daemon ----------------------------------


def test_core_commit_base_fd_ro_then_rw_during_the_commit_then_ro(no_leftovers: Path) -> None:
    tools = require_qemu()
    during: list[tuple[str, Fd, bool | None]] = []

    def hook(engine: QemuBackend, job: str, status: str) -> None:
        seen = engine.observe("base")
        during.append((status, seen.fd, seen.format_ro))

    result = runner.run(scenario("blockdev-commit-selinux"), RELEASED,
                        backend=hooked(tools, hook))
    assert result.outcome is Outcome.MEETS, result.reason
    start, relabel, commit = result.trace[:3]
    assert start.step == "start"
    assert start.state["base"].fd is Fd.RO  # O_RDONLY at start (label denies writes)
    assert start.state["base"].ro is False  # dynamic: the node is not read-only
    assert start.state["base"].format_ro is True
    assert relabel.state["base"].fd is Fd.RO  # a relabel alone opens nothing
    # inside the job, held before finalizing: QEMU reopened the base read/write
    assert during == [("pending", Fd.RW, False)]
    assert commit.result == "ok"
    assert commit.state["base"].fd is Fd.RO  # O_RDONLY again after the job
    assert commit.state["base"].format_ro is True
    assert commit.state["mid"].fd is Fd.CLOSED
    assert commit.state["base"].denials == 0


def test_commit_fails_without_the_relabel_and_succeeds_after_it(no_leftovers: Path) -> None:
    tools = require_qemu()
    with QemuDaemon(tools) as daemon:
        engine = QemuBackend(daemon, RELEASED.build())
        engine.create([("base", False), ("mid", False), ("top", True)])
        below = None
        for image, backing in (("base", True), ("mid", True), ("top", False)):
            engine.add_protocol(image, {"auto-read-only": True})
            engine.add_format(image, backing, below)
            below = image
        with pytest.raises(StepError) as failure:
            engine.commit("top", "mid", "base")
        # QEMU says "Could not open '<temp dir>/base.qcow2': Permission denied"
        assert failure.value.message == DENIED
        assert daemon.execute("query-jobs") == []
        seen = engine.observe("base")
        assert (seen.fd, seen.denials, seen.label) == (Fd.RO, 1, False)

        engine.relabel("base", True)
        engine.commit("top", "mid", "base")
        assert engine.observe("base").fd is Fd.RO
        assert engine.observe("base").denials == 1
        engine.delete("mid")
        assert engine.observe("mid").fd is Fd.CLOSED
        assert daemon.named_nodes()["top"]["ro"] is False


def test_a_commit_that_qemu_runs_active_is_not_awaited_as_a_plain_one(
        no_leftovers: Path) -> None:
    """Under -drive a job names the drive, whatever the client takes for the disk's
    active layer. A client whose idea of it is stale (``base``) asks for a plain commit
    of ``top``; QEMU finds ``top`` to be the drive's active layer and starts a mirror
    job, which gets ready and would wait for a pivot. The backend cancels it and fails
    at once, not after its job timeout."""
    tools = require_qemu()
    from optcompare.backends.qemu.emulator import QemuEmulator

    with QemuEmulator(tools) as vm:
        engine = QemuBackend(vm, RELEASED.build(), job_timeout=30.0)
        engine.create([("base", True), ("top", True)])
        engine.open_drive(["base", "top"], read_only=False)
        started = time.monotonic()
        with pytest.raises(BackendError, match="active commit, ready"):
            engine.commit("base", "top", "base")
        assert time.monotonic() - started < 10
        assert vm.execute("query-jobs") == []
        assert engine.failed_during == "block-commit top into base"


def test_commit_without_relabel_scenario_gives_qemus_text(no_leftovers: Path) -> None:
    tools = require_qemu()
    result = runner.run(scenario("blockdev-commit-without-relabel"), RELEASED,
                        backend=hooked(tools, lambda *_: None))
    assert result.outcome is Outcome.MEETS, result.reason
    commit = result.trace[2]
    assert (commit.result, commit.message) == ("error", DENIED)
    assert commit.state["base"].fd is Fd.RO
    assert commit.state["base"].denials == 1


def test_active_commit_leaves_the_base_read_write_on_model_and_daemon(
    no_leftovers: Path,
) -> None:
    tools = require_qemu()
    statuses: list[str] = []
    fds: list[Fd] = []

    def hook(engine: QemuBackend, job: str, status: str) -> None:
        statuses.append(status)
        fds.append(engine.observe("base").fd)

    chosen = scenario("blockdev-active-commit")
    on_model = runner.run(chosen, RELEASED)
    on_qemu = runner.run(chosen, RELEASED, backend=hooked(tools, hook))
    assert statuses == ["ready", "pending"]  # ready -> block-job-complete -> pending
    assert fds == [Fd.RW, Fd.RW]
    for result in (on_model, on_qemu):
        assert result.outcome is Outcome.MEETS, (result.backend, result.reason)
        after = result.trace[2]
        assert after.step == "block-commit top=top base=base"
        assert after.state["base"].fd is Fd.RW
        assert after.state["base"].format_ro is False
        assert after.state["top"].fd is Fd.CLOSED


def test_snapshot_reopens_the_old_active_layer_read_only(no_leftovers: Path) -> None:
    tools = require_qemu()
    result = runner.run(scenario("snapshot-then-commit"), RELEASED,
                        backend=hooked(tools, lambda *_: None))
    assert result.outcome is Outcome.MEETS, result.reason
    snap = result.trace[1].state
    assert (snap["top"].fd, snap["top"].format_ro, snap["top"].label) == (Fd.RO, True, False)
    assert (snap["snap"].fd, snap["snap"].format_ro) == (Fd.RW, False)


def test_has_asks_the_daemons_own_schema(no_leftovers: Path) -> None:
    tools = require_qemu()
    with QemuDaemon(tools) as daemon:
        engine = QemuBackend(daemon, RELEASED.build())
        assert engine.has("blockdev-add/arg-type/+file/$dynamic-auto-read-only")
        assert engine.has("blockdev-add/arg-type/+host_cdrom/$dynamic-auto-read-only")
        assert not engine.has("blockdev-add/arg-type/+nbd/$dynamic-auto-read-only")
        assert not engine.has("query-qemu-features")


# -- backend failures -------------------------------------------------------------------


def test_daemon_killed_midway_is_a_backend_failure_and_the_run_goes_on(
    no_leftovers: Path,
) -> None:
    tools = require_qemu()
    killed: list[int] = []

    def kill_once(engine: QemuBackend, job: str, status: str) -> None:
        if not killed:
            killed.append(engine.daemon.pid)
            os.kill(engine.daemon.pid, signal.SIGKILL)

    chosen = [scenario("blockdev-commit-selinux"), scenario("blockdev-active-commit")]
    results = run_scenarios(chosen, factory=hooked(tools, kill_once))
    failure, after = results
    assert isinstance(failure, BackendFailure)
    assert failure.scenario == "blockdev-commit-selinux"
    assert failure.signal == signal.SIGKILL
    assert failure.reason == ("backend failure: daemon died with signal 9 (SIGKILL) "
                              "during block-commit mid into base")
    assert failure.to_data()["outcome"] == "backend-failure"
    assert isinstance(after, ScenarioResult) and after.outcome is Outcome.MEETS
    assert killed


CRASH = """
[scenario]
name = "commit-overlay-left-read-only"
summary = "commit mid into base while the overlay of mid stays labelled read-only"
source = "qemu-block-facts section 5: on 7.2 a missing relabel there crashes the daemon"

[setup]
frontend = "blockdev"
[[setup.images]]
name = "base"
[[setup.images]]
name = "mid"
[[setup.images]]
name = "upper"
[[setup.images]]
name = "top"

[[steps]]
do = "start"
[[steps]]
do = "relabel"
image = "base"
writable = true
[[steps]]
do = "block-commit"
top = "mid"
base = "base"
"""


class _ForgetsTheOverlay(QemuBackend):
    """A client that does not relabel the overlay of ``top`` (``upper``) writable."""

    def relabel(self, image: str, writable: bool) -> None:
        if image == "upper" and writable:
            return
        super().relabel(image, writable)


def _qemu_major_minor(tools: QemuTools) -> tuple[int, int]:
    out = subprocess.run([str(tools.storage_daemon), "--version"], capture_output=True,
                         text=True, check=False).stdout
    found = re.search(r"version (\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def test_qemu_7_2_crash_is_a_backend_failure_with_its_signal(
    no_leftovers: Path, tmp_path: Path
) -> None:
    tools = require_qemu()
    if _qemu_major_minor(tools) != (7, 2):
        pytest.skip("the crash is QEMU 7.2's")

    def factory(build: Build, driver: str) -> QemuBackend:
        daemon = QemuDaemon(tools)
        daemon.start()
        return _ForgetsTheOverlay(daemon, build, driver, owns_daemon=True)

    crash = write_scenario(tmp_path, "crash", CRASH)
    results = run_scenarios([crash, scenario("cmdline-3-1-backing")], factory=factory)
    failure, after = results
    assert isinstance(failure, BackendFailure)
    assert failure.signal == signal.SIGSEGV
    assert failure.reason.startswith("backend failure: daemon died with signal 11 (SIGSEGV)")
    assert failure.operation == "block-commit mid into base"
    assert isinstance(after, ScenarioResult) and after.outcome is Outcome.MEETS


def test_interrupt_midway_leaves_no_daemon_and_no_temp_dir(no_leftovers: Path) -> None:
    tools = require_qemu()

    def interrupt(engine: QemuBackend, job: str, status: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_scenarios([scenario("blockdev-commit-selinux")], factory=hooked(tools, interrupt))
    # the no_leftovers fixture checks pgrep and the temp dirs
