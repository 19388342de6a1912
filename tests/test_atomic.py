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
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.render.formats import write_atomic

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

    monkeypatch.setattr("optcompare.render.formats.os.replace", refuse)
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

    monkeypatch.setattr("optcompare.render.formats.os.fdopen", fdopen)
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

    monkeypatch.setattr("optcompare.render.formats.os.fsync", interrupted)
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

    monkeypatch.setattr("optcompare.render.formats.os.replace", refuse)
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
