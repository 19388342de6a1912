"""Atomic output: an interrupted write leaves the previous file intact.

``write_atomic`` writes a temporary file next to the target and renames it
over the target. Whatever stops it (a failing rename, a full disk midway, a
Ctrl-C, a process killed outright), a reader finds the old file or the new
one, never a mix; and on anything the process survives, no temporary file is
left behind. A command that fails on bad input does not touch its ``-o``
file at all.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optcompare.atomic import write_atomic
from optcompare.cli import app

OLD = "previous content\n" * 100
NEW = "new content\n" * 100_000
runner = CliRunner()


def previous(tmp_path: Path, name: str = "out.txt") -> Path:
    target = tmp_path / name
    target.write_text(OLD, encoding="utf-8")
    return target


def assert_untouched(target: Path, stamp: int | None = None) -> None:
    assert target.read_text(encoding="utf-8") == OLD
    if stamp is not None:
        assert target.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "temp file left"


def test_a_write_that_completes_replaces_the_file(tmp_path: Path) -> None:
    target = previous(tmp_path)
    write_atomic(target, NEW)
    assert target.read_text(encoding="utf-8") == NEW
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failing_rename_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = previous(tmp_path)

    def refuse(src: Any, dst: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr("optcompare.atomic.os.replace", refuse)
    with pytest.raises(OSError):
        write_atomic(target, NEW)
    assert_untouched(target)


class _HalfWriter:
    """A file handle whose disk fills up halfway through the content."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def write(self, text: str) -> int:
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


def test_a_disk_full_midway_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = previous(tmp_path)
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> _HalfWriter:
        return _HalfWriter(real_fdopen(fd, *args, **kwargs))

    monkeypatch.setattr("optcompare.atomic.os.fdopen", fdopen)
    with pytest.raises(OSError) as info:
        write_atomic(target, NEW)
    assert info.value.errno == errno.ENOSPC
    assert_untouched(target)


def test_ctrl_c_during_the_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = previous(tmp_path)

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("optcompare.atomic.os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, NEW)
    assert_untouched(target)


def test_the_cli_reports_a_failed_write_in_one_line_and_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = previous(tmp_path, "table.json")
    stamp = target.stat().st_mtime_ns

    def refuse(src: Any, dst: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("optcompare.atomic.os.replace", refuse)
    result = runner.invoke(app, ["table", "option-3", "-d", "file", "-f", "json",
                                 "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"optcompare: error: {target}: cannot write: No space left on device"
    ]
    assert_untouched(target, stamp)


# -- a real process, interrupted while its output is half done -------------------------------

# Runs the real CLI; its fsync (called once the temporary file holds the whole
# output, before the rename) announces itself and then hangs, so that the test
# can interrupt the process at exactly that point.
CHILD = """
import os, sys, time
from pathlib import Path

marker = Path(sys.argv[1])

def hang(fd):
    marker.write_text("writing")
    time.sleep(60)

os.fsync = hang
sys.argv = ["optcompare", "run", "-f", "json", "-o", sys.argv[2]]
from optcompare.cli import main
main()
"""


def interrupt_midway(tmp_path: Path, sig: signal.Signals) -> tuple[Path, int, str]:
    out = tmp_path / "out"
    out.mkdir()
    target = previous(out, "results.json")
    marker = tmp_path / "marker"
    env = {**os.environ, "OPTCOMPARE_NO_PLUGINS": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(marker), str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.02)
        temporary = [p for p in out.iterdir() if p != target]
        assert len(temporary) == 1 and temporary[0].stat().st_size > 0, "no write under way"
        child.send_signal(sig)
        _stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return target, child.returncode, stderr


def test_ctrl_c_to_a_running_command_keeps_the_previous_file(tmp_path: Path) -> None:
    target, code, stderr = interrupt_midway(tmp_path, signal.SIGINT)
    assert code == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["optcompare: interrupted"]
    assert_untouched(target)


def test_a_killed_command_leaves_the_previous_file_intact(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: the temporary file may stay (hidden, ``.tmp``),
    but the target is the previous file, whole."""
    target, code, _stderr = interrupt_midway(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert target.read_text(encoding="utf-8") == OLD
    for left in target.parent.iterdir():
        if left != target:
            assert left.name.startswith(f".{target.name}.") and left.name.endswith(".tmp")


# -- bad input: the -o file is not touched ----------------------------------------------------

BAD_SCENARIO = '[scenario]\nname = "x"\nsummary = 3\n'


@pytest.mark.parametrize(
    "args",
    [
        ["table", "no-such-policy"],
        ["table", "option-3", "--driver", "no-such-driver"],
        ["table", "--frontend", "sideways"],
        ["table", "--platform", "amiga"],
        ["run", "no-such-scenario"],
        ["run", "--policy", "no-such-policy"],
        ["run", "{bad}"],
        ["probe", "--schema", "{bad}", "query-version"],
        ["probe", "--policy", "qemu-4.1", "a//b"],
        ["schema", "no-such-policy"],
        ["visibility", "no-such-policy"],
        ["compat", "no-such-policy"],
        ["report", "--policy", "no-such-policy"],
    ],
    ids=lambda args: " ".join(args),
)
def test_a_command_failing_on_bad_input_leaves_its_output_file_untouched(
    tmp_path: Path, args: list[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    target = previous(out, "result")
    stamp = target.stat().st_mtime_ns
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_SCENARIO, encoding="utf-8")
    argv = [a.replace("{bad}", str(bad)) for a in args] + ["-o", str(target)]
    result = runner.invoke(app, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("optcompare: error: "), result.stderr
    assert_untouched(target, stamp)


def test_an_output_path_that_is_a_directory_is_one_error_and_nothing_left(
    tmp_path: Path,
) -> None:
    target = tmp_path / "results"
    target.mkdir()
    (target / "keep").write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["table", "option-3", "-d", "file", "-o", str(target)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"optcompare: error: {target}: cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert [p.name for p in target.iterdir()] == ["keep"]


# -- what -o does to what is already there (as a shell redirection would) --------------------

TABLE = ["table", "option-3", "-d", "file", "-f", "markdown"]


def table_text() -> str:
    result = runner.invoke(app, TABLE)
    assert result.exit_code == 0
    return result.stdout


def leftovers(*directories: Path) -> list[str]:
    return [p.name for d in directories for p in d.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_a_replaced_file_keeps_its_permission_bits(tmp_path: Path, mode: int) -> None:
    target = previous(tmp_path)
    target.chmod(mode)
    write_atomic(target, NEW)
    assert target.read_text(encoding="utf-8") == NEW
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_replaced_file_keeps_its_owner(tmp_path: Path) -> None:
    target = previous(tmp_path)
    os.chown(target, 65534, 65534)
    write_atomic(target, NEW)
    assert (target.stat().st_uid, target.stat().st_gid) == (65534, 65534)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_file_gets_0666_less_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        result = runner.invoke(app, [*TABLE, "-o", str(tmp_path / "new.md")])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == mode


def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    target = previous(real, "table.md")
    target.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to(Path("real") / "table.md")
    result = runner.invoke(app, [*TABLE, "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "table.md")
    assert target.read_text(encoding="utf-8") == table_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path, real) == []


def test_a_hard_link_keeps_the_old_content_as_the_readme_says(tmp_path: Path) -> None:
    # Atomic replace is kept (issue 13): the named path gets a new file; a shell
    # redirection would have rewritten the shared inode in place.
    target = previous(tmp_path, "table.md")
    other = tmp_path / "other-link.md"
    os.link(target, other)
    old = other.read_text(encoding="utf-8")
    result = runner.invoke(app, [*TABLE, "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert target.read_text(encoding="utf-8") == table_text()
    assert other.read_text(encoding="utf-8") == old != table_text()
    assert target.stat().st_nlink == 1 and other.stat().st_nlink == 1


def test_a_fifo_is_written_directly(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")),
                              daemon=True)
    reader.start()
    result = runner.invoke(app, [*TABLE, "-o", str(fifo)])
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert received == [table_text()]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def device(tmp_path: Path, name: str, minor: int) -> Path:
    """A copy of /dev/null (minor 3) or /dev/full (minor 7) in ``tmp_path``: a test
    that went wrong replaces the copy, never the system's node."""
    node = tmp_path / name
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return node


def test_a_device_is_written_directly(tmp_path: Path) -> None:
    null = device(tmp_path, "null", 3)
    result = runner.invoke(app, [*TABLE, "-o", str(null)])
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_full_device_is_one_line_and_exit_2(tmp_path: Path) -> None:
    full = device(tmp_path, "full", 7)
    result = runner.invoke(app, [*TABLE, "-o", str(full)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"optcompare: error: {full}: cannot write: No space left on device"
    ]
    assert stat.S_ISCHR(full.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]


def test_dash_is_stdout_and_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*TABLE, "-o", "-"])
    assert result.exit_code == 0
    assert result.stdout == table_text()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "unbuffered"])
def test_a_full_stdout_is_one_line_and_exit_2(tmp_path: Path, unbuffered: str) -> None:
    """Buffered, what the failed write left behind is flushed again at exit: that
    second failure must not show (a traceback, exit 120)."""
    full = device(tmp_path, "full", 7)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    with full.open("w") as stdout:
        proc = subprocess.run([sys.executable, "-m", "optcompare", *TABLE, "-o", "-"],
                              cwd=tmp_path, stdout=stdout, stderr=subprocess.PIPE, text=True,
                              timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["optcompare: error: stdout: cannot write: No space left "
                                        "on device"]


def test_an_empty_output_name_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "optcompare", *TABLE, "-o", ""], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "'-o'" in lines[0] and "an empty file name" in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_one_line_and_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "table.md"
    result = runner.invoke(app, [*TABLE, "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"optcompare: error: {target}: cannot write: no directory '{tmp_path / 'no' / 'such'}'"
    ]
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target, code, stderr = interrupt_midway(tmp_path, signal.SIGTERM)
    assert code in (-signal.SIGTERM, 128 + signal.SIGTERM), (code, stderr)
    assert "Traceback" not in stderr
    assert_untouched(target)


def test_sighup_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target, code, stderr = interrupt_midway(tmp_path, signal.SIGHUP)
    assert code in (-signal.SIGHUP, 128 + signal.SIGHUP), (code, stderr)
    assert_untouched(target)
