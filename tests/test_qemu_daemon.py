"""The real-QEMU harness: qemu-storage-daemon lifecycle, /proc fd modes, iotest 232.

Needs qemu-storage-daemon and qemu-img (Debian: qemu-system-common,
qemu-utils). Without them these tests skip, or fail when CI is set (see
tests/qemu_required.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import alive  # tests/ is on sys.path (rootdir-less tests)
from qemu_required import in_ci, require_qemu

from optcompare.backends.qemu import daemon as qemu_daemon
from optcompare.backends.qemu.daemon import (
    DaemonDied,
    QemuDaemon,
    QmpCommandError,
    find_qemu,
)
from optcompare.backends.qemu.iotest232 import OPTION_SETS, measure_iotest232, options_label
from optcompare.errors import BackendError

pytestmark = pytest.mark.qemu

PERMISSION_DENIED = "Could not open '<path>': Permission denied"

# Every daemon started in this module: (pid, temp dir).
_STARTED: list[tuple[int, Path]] = []


def _track(d: QemuDaemon) -> QemuDaemon:
    _STARTED.append((d.pid, d.tmpdir))
    return d


def _daemons_matching(pattern: str) -> list[str]:
    """Running qemu-storage-daemon command lines containing ``pattern``."""
    pgrep = shutil.which("pgrep")
    if pgrep is not None:
        out = subprocess.run(
            [pgrep, "-a", "-f", f"qemu-storage-daemon.*{pattern}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return [line for line in out.splitlines() if line.strip()]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "qemu-storage-daemon" in cmd and pattern in cmd:
                found.append(f"{entry.name} {cmd}")
    return found


@pytest.fixture(scope="module", autouse=True)
def _no_leftover_daemons() -> Iterator[None]:
    yield
    leftovers = [line for _, tmp in _STARTED for line in _daemons_matching(str(tmp))]
    leftovers += [str(pid) for pid, _ in _STARTED if alive(pid)]
    leftovers += [str(tmp) for _, tmp in _STARTED if tmp.exists()]
    assert not leftovers, f"left behind by this module: {leftovers}"


@pytest.fixture
def qsd() -> Iterator[QemuDaemon]:
    tools = require_qemu()
    with QemuDaemon(tools) as d:
        yield _track(d)


def _assert_gone(pid: int, tmp: Path) -> None:
    assert not alive(pid), f"daemon {pid} still running"
    assert not tmp.exists(), f"{tmp} not removed"
    assert not _daemons_matching(str(tmp))


# --------------------------------------------------------------- the gate


def test_require_qemu_fails_in_ci_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> qemu_daemon.QemuTools:
        raise BackendError("qemu-storage-daemon not found")

    monkeypatch.setattr(qemu_daemon, "find_qemu", missing)
    monkeypatch.setenv("CI", "true")
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_qemu()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_qemu()


def test_find_qemu_message_names_debian_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackendError) as exc:
        find_qemu()
    msg = str(exc.value)
    assert "\n" not in msg
    assert "qemu-utils" in msg and "qemu-system-common" in msg


# ------------------------------------------------------------ the daemon


def test_starts_and_answers_query_version(qsd: QemuDaemon) -> None:
    version = qsd.execute("query-version")
    assert version["qemu"]["major"] >= 5
    assert qsd.start_seconds is not None and qsd.start_seconds < 5
    if os.geteuid() == 0:
        status = Path(f"/proc/{qsd.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == ["65534"] * 4
        assert qsd.tmpdir.stat().st_uid == 65534
    assert os.getpgid(qsd.pid) == qsd.pid


def test_unknown_command_is_command_not_found(qsd: QemuDaemon) -> None:
    with pytest.raises(QmpCommandError) as exc:
        qsd.execute("query-qemu-features")
    assert exc.value.error_class == "CommandNotFound"
    assert exc.value.desc == "The command query-qemu-features has not been found"
    # the session is still usable afterwards
    assert qsd.execute("query-version")["qemu"]["major"] >= 5


def test_dynamic_auto_read_only_fd_transitions(qsd: QemuDaemon) -> None:
    img = qsd.create_image("disk.qcow2")
    assert img.stat().st_uid == qsd.uid
    qsd.set_label(img, writable=False)
    qsd.execute(
        "blockdev-add",
        {"driver": "file", "node-name": "proto", "filename": str(img), "auto-read-only": True},
    )
    assert qsd.fd_mode(img) == "ro"
    assert qsd.named_nodes()["proto"] == {"ro": False, "file": str(img), "drv": "file"}

    writer = {"driver": "qcow2", "node-name": "fmt", "file": "proto"}
    with pytest.raises(QmpCommandError) as exc:
        qsd.execute("blockdev-add", writer)
    assert exc.value.error_class == "GenericError"
    assert exc.value.desc == PERMISSION_DENIED.replace("<path>", str(img))
    assert qsd.fd_mode(img) == "ro"
    assert "fmt" not in qsd.named_nodes()

    qsd.set_label(img, writable=True)
    qsd.execute("blockdev-add", writer)
    assert qsd.fd_mode(img) == "rw"
    assert qsd.named_nodes()["proto"]["ro"] is False

    qsd.execute("blockdev-del", {"node-name": "fmt"})
    assert qsd.fd_mode(img) == "ro"
    qsd.execute("blockdev-del", {"node-name": "proto"})
    assert qsd.fd_mode(img) == "closed"


# qemu-block-facts.md section 8: (ro flag, fd mode) or None for
# "Could not open '<path>': Permission denied"; writable image, then 0444.
RO = (True, "ro")
RW = (False, "rw")
DYNAMIC = (False, "ro")
EXPECTED_232: list[tuple[str, tuple[bool, str] | None, tuple[bool, str] | None]] = [
    ("read-only=on,auto-read-only=off", RO, RO),
    ("read-only=on,auto-read-only=on", RO, RO),
    ("read-only=on", RO, RO),
    ("read-only=off,auto-read-only=off", RW, None),
    ("read-only=off,auto-read-only=on", DYNAMIC, DYNAMIC),
    ("read-only=off", RW, None),
    ("auto-read-only=off", RW, None),
    ("auto-read-only=on", DYNAMIC, DYNAMIC),
    ("(none)", RW, None),
]


def test_option_sets_are_iotest232s() -> None:
    assert [options_label(o) for o in OPTION_SETS] == [row[0] for row in EXPECTED_232]


def test_iotest232_blockdev_half_matches_facts(qsd: QemuDaemon) -> None:
    cells = measure_iotest232(qsd)
    got: dict[tuple[str, bool], Any] = {}
    for cell in cells:
        if cell.error is None:
            assert cell.error_template is None
            got[cell.label, cell.writable] = (cell.ro, cell.fd)
        else:
            assert cell.ro is None and cell.fd is None
            assert cell.error_template == PERMISSION_DENIED
            assert cell.error.startswith("Could not open '/") and str(qsd.tmpdir) in cell.error
            got[cell.label, cell.writable] = None
    want = {}
    for label, writable_image, readonly_image in EXPECTED_232:
        want[label, True] = writable_image
        want[label, False] = readonly_image
    assert got == want
    assert [(c.label, c.writable) for c in cells] == [
        (label, w) for label, _, _ in EXPECTED_232 for w in (True, False)
    ]
    assert qsd.named_nodes() == {}


def _chain(d: QemuDaemon, names: list[str]) -> dict[str, Path]:
    """libvirt-style -blockdev chain: protocol nodes auto-read-only=on,
    backing format nodes read-only=on (images 0444), top format node rw."""
    paths: dict[str, Path] = {}
    prev: str | None = None
    for n in names:
        paths[n] = d.create_image(f"{n}.qcow2", backing=f"{prev}.qcow2" if prev else None)
        prev = n
    prev = None
    for i, n in enumerate(names):
        is_backing = i < len(names) - 1
        d.set_label(paths[n], writable=not is_backing)
        d.execute(
            "blockdev-add",
            {
                "driver": "file",
                "node-name": f"{n}-proto",
                "filename": str(paths[n]),
                "auto-read-only": True,
            },
        )
        d.execute(
            "blockdev-add",
            {
                "driver": "qcow2",
                "node-name": f"{n}-fmt",
                "file": f"{n}-proto",
                "backing": f"{prev}-fmt" if prev else None,
                "read-only": is_backing,
            },
        )
        prev = n
    return paths


def test_block_commit_into_dynamic_base(qsd: QemuDaemon) -> None:
    paths = _chain(qsd, ["base", "mid", "top"])
    base = paths["base"]
    commit = {
        "job-id": "c1",
        "device": "top-fmt",
        "top-node": "mid-fmt",
        "base-node": "base-fmt",
        "auto-finalize": False,
        "auto-dismiss": False,
    }
    assert qsd.fd_mode(base) == "ro"
    # no relabel: QEMU's own reopen of the base fails, no job is created
    with pytest.raises(QmpCommandError) as exc:
        qsd.execute("block-commit", commit)
    assert exc.value.desc == PERMISSION_DENIED.replace("<path>", str(base))
    assert qsd.execute("query-jobs") == []
    assert qsd.fd_mode(base) == "ro"

    qsd.set_label(base, writable=True)
    qsd.execute("block-commit", commit)
    assert qsd.wait_job("c1", {"pending"}).reached
    assert qsd.fd_mode(base) == "rw"
    assert qsd.named_nodes()["base-fmt"]["ro"] is False
    qsd.execute("job-finalize", {"id": "c1"})
    result = qsd.wait_job("c1", {"concluded"})
    assert result == ("concluded", None, True)
    qsd.execute("job-dismiss", {"id": "c1"})
    assert qsd.wait_job("c1", {"null"}).status == "null"
    # the base format node was read-only=on: QEMU reopens it read-only again
    assert qsd.fd_mode(base) == "ro"
    assert qsd.named_nodes()["base-fmt"]["ro"] is True


def test_wait_job_unknown_job(qsd: QemuDaemon) -> None:
    with pytest.raises(BackendError, match="no job"):
        qsd.wait_job("nope", {"concluded"}, timeout=1)


# ---------------------------------------------------------------- cleanup


def test_cleanup_after_normal_exit() -> None:
    tools = require_qemu()
    with QemuDaemon(tools) as d:
        pid, tmp = _track(d).pid, d.tmpdir
        d.create_image("x.qcow2")
        assert alive(pid) and tmp.is_dir()
    _assert_gone(pid, tmp)
    with pytest.raises(BackendError):
        d.execute("query-version")


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_cleanup_after_exception(exc_type: type[BaseException]) -> None:
    tools = require_qemu()
    with pytest.raises(exc_type), QemuDaemon(tools) as d:
        pid, tmp = _track(d).pid, d.tmpdir
        d.execute("query-version")
        raise exc_type("boom")
    _assert_gone(pid, tmp)


def test_cleanup_after_interrupt_during_a_wait() -> None:
    """A Ctrl-C that lands inside the event loop (here from SIGALRM)."""
    tools = require_qemu()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), QemuDaemon(tools) as d:
            pid, tmp = _track(d).pid, d.tmpdir
            _chain(d, ["base", "top"])
            d.set_label(tmp / "base.qcow2", writable=True)
            d.execute("block-commit", {"job-id": "c", "device": "top-fmt", "base-node": "base-fmt"})
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            d.wait_job("c", {"concluded"}, timeout=5)  # an active commit waits in "ready"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    _assert_gone(pid, tmp)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGABRT])
def test_daemon_killed_midway(sig: signal.Signals) -> None:
    tools = require_qemu()
    with pytest.raises(DaemonDied) as exc, QemuDaemon(tools) as d:
        pid, tmp = _track(d).pid, d.tmpdir
        d.execute("query-version")
        os.kill(pid, sig)
        t0 = time.monotonic()
        try:
            d.execute("query-version")
        finally:
            assert time.monotonic() - t0 < 3
    assert exc.value.signal == sig
    assert isinstance(exc.value, BackendError)
    _assert_gone(pid, tmp)


def test_every_call_raises_daemon_died_after_death(qsd: QemuDaemon) -> None:
    img = qsd.create_image("d.qcow2")
    os.kill(qsd.pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(DaemonDied):
        qsd.execute("query-version")
    with pytest.raises(DaemonDied):
        qsd.fd_mode(img)
    with pytest.raises(DaemonDied):
        qsd.named_nodes()
    with pytest.raises(DaemonDied):
        qsd.wait_job("x", {"concluded"})
    assert time.monotonic() - t0 < 3


DEAF_FIRST = r"""
import json, os, socket, sys
path = sys.argv[1]
server = socket.socket(socket.AF_UNIX)
server.bind(path + ".tmp")
server.listen(4)
os.rename(path + ".tmp", path)  # the client sees the socket only once it listens
greeting = {"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7},
                                "package": ""}, "capabilities": []}}
first = not os.path.exists("pids")  # the daemon's temp dir is the cwd
with open("pids", "a") as pids:
    pids.write(f"{os.getpid()}\n")
if first:  # the first process greets, then never answers qmp_capabilities
    deaf, _ = server.accept()
    deaf.sendall(json.dumps(greeting).encode() + b"\r\n")
    while True:  # and stays deaf on every later connection too
        server.accept()[0].sendall(json.dumps(greeting).encode() + b"\r\n")
while True:
    conn, _ = server.accept()
    try:
        conn.sendall(json.dumps(greeting).encode() + b"\r\n")
        buffer = ""
        while chunk := conn.recv(4096).decode():  # QMP needs no newline after a request
            buffer = (buffer + chunk).lstrip()
            try:
                request, end = json.JSONDecoder().raw_decode(buffer)
            except ValueError:
                continue
            buffer = buffer[end:]
            reply = {"return": {"qemu": {"major": 7, "minor": 2, "micro": 0}, "package": ""}
                     if request["execute"] == "query-version" else {}}
            if "id" in request:
                reply["id"] = request["id"]
            conn.sendall(json.dumps(reply).encode() + b"\r\n")
    except OSError as err:  # a client gone: serve the next
        print("connection lost:", err, file=sys.stderr)
"""


class _DeafFirstMonitor(QemuDaemon):
    """A stand-in monitor whose first process greets and then says nothing."""

    def command(self, sock: Path) -> list[str]:
        import sys

        return [sys.executable, "-c", DEAF_FIRST, str(sock)]


def test_a_daemon_that_greets_and_never_negotiates_is_replaced() -> None:
    # Seen on qemu-storage-daemon 7.2 in full runs: the greeting came, the reply to
    # qmp_capabilities never did (or was not a reply); once, connected to again, the
    # same daemon died (SIGSEGV) on its first blockdev-add. A new process is started.
    monitor = _DeafFirstMonitor(require_qemu(), start_timeout=10.0)
    monitor._prefix = []  # the stand-in is a Python script: run it as ourselves
    monitor.connect_attempt = 0.5
    with monitor:
        _track(monitor)
        assert monitor.execute("query-version")["qemu"]["major"] == 7
        assert 0.5 <= monitor.start_seconds < 5
        deaf, serving = map(int, (monitor.tmpdir / "pids").read_text().split())
        assert serving == monitor.pid
        with pytest.raises(ProcessLookupError):
            os.kill(deaf, 0)  # the deaf one is gone, not left beside the new one


def _reports(loop: asyncio.AbstractEventLoop) -> list[dict[str, object]]:
    """What reaches the loop's default handler (what would be printed)."""
    seen: list[dict[str, object]] = []
    loop.default_exception_handler = seen.append  # type: ignore[method-assign]
    return seen


def test_a_pending_task_whose_coroutine_ran_out_is_not_reported() -> None:
    """A signal that lands after a task's coroutine returned and before the task
    noted it leaves the task pending with nothing left to do: 'Task was destroyed
    but it is pending!' would end the tool's output (1 run in about 25 of the
    SIGTERM lifetime test)."""
    loop = asyncio.new_event_loop()
    try:
        async def done() -> None:
            return None

        finished = loop.create_task(done())
        finished.get_coro().close()  # what close() does to a task the interrupt left
        still = loop.create_task(done())
        seen = _reports(loop)
        message = "Task was destroyed but it is pending!"
        qemu_daemon._quiet_about_interrupts(loop, {"message": message, "task": finished})
        assert seen == []
        qemu_daemon._quiet_about_interrupts(loop, {"message": message, "task": still})
        assert [c["task"] for c in seen] == [still]  # one with work left is news
        still.get_coro().close()
    finally:
        loop.close()


def test_after_an_interrupt_the_loop_reports_nothing_more() -> None:
    """An interrupt raised inside qemu.qmp's sender task left its connect task to fail
    an assertion later ('Task exception was never retrieved', with a traceback)."""
    daemon = QemuDaemon(require_qemu())
    daemon._loop = loop = asyncio.new_event_loop()
    loop.set_exception_handler(daemon._report)
    try:
        seen = _reports(loop)
        echo = {"message": "Task exception was never retrieved",
                "exception": AssertionError()}
        daemon._report(loop, echo)
        assert seen == [echo]  # before an interrupt, reported

        async def interrupted() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            daemon._run_bare(interrupted())
        assert daemon._interrupted
        daemon._report(loop, echo)
        assert seen == [echo]
    finally:
        loop.close()
