"""The console script's process: the collector off from the first import, and an end
that skips the heap's teardown but nothing a normal exit does for the user."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optcompare import cli, console

pytestmark = pytest.mark.usefixtures("collector_restored")


class Ended(Exception):
    def __init__(self, code: str | int | None) -> None:
        self.code = code


def _ended(code: str | int | None) -> None:
    raise Ended(code)


def test_the_command_line_runs_with_the_collector_off_and_its_code_is_the_exit_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    seen: list[bool] = []

    def command_line() -> None:
        seen.append(gc.isenabled())
        sys.exit(2)

    monkeypatch.setattr(cli, "main", command_line)
    monkeypatch.setattr(console, "end", _ended)
    with pytest.raises(Ended) as ended:
        console.main()
    assert seen == [False]
    assert ended.value.code == 2


def _script(body: str, tmp_path: Path, *, stdout: object = subprocess.PIPE
            ) -> subprocess.CompletedProcess[str]:
    code = "from optcompare import console\n" + textwrap.dedent(body)
    # Buffered, as a user's stdout to a file or a pipe is: what the end flushes is there.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=60, check=False)


def test_the_end_runs_the_exit_handlers_and_flushes_what_is_buffered(tmp_path: Path) -> None:
    done = _script("""
        import atexit, pathlib, sys
        atexit.register(lambda: pathlib.Path("handler-ran").write_text("yes"))
        sys.stdout.write("buffered, not yet written")
        console.end(3)
        """, tmp_path)
    assert done.returncode == 3
    assert done.stdout == "buffered, not yet written"
    assert (tmp_path / "handler-ran").read_text() == "yes"
    assert done.stderr == ""


def test_no_code_is_success_and_a_message_is_printed_as_sys_exit_prints_it(
        tmp_path: Path) -> None:
    assert _script("console.end(None)", tmp_path).returncode == 0
    message = _script("console.end('optcompare: gone')", tmp_path)
    assert (message.returncode, message.stderr) == (1, "optcompare: gone\n")


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    done = _script("""
        import pathlib, threading, time
        def late() -> None:
            time.sleep(0.3)
            pathlib.Path("thread-finished").write_text("yes")
        threading.Thread(target=late).start()
        console.end(0)
        """, tmp_path)
    assert done.returncode == 0
    assert (tmp_path / "thread-finished").read_text() == "yes"


def test_what_stdout_cannot_take_at_the_end_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = _script("""
            import sys
            sys.stdout.write("a reply nobody has room for")
            console.end(0)
            """, tmp_path, stdout=full)
    assert done.returncode == 2
    assert done.stderr == "optcompare: error: stdout: cannot write: No space left on device\n"


def test_the_console_script_and_python_m_give_the_same_output_and_code(
        tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("optcompare")
    runs = [subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           check=False)
            for command in ([str(script), "table", "option-3", "--format", "json"],
                            [sys.executable, "-m", "optcompare", "table", "option-3",
                             "--format", "json"])]
    assert runs[0].returncode == runs[1].returncode == 0
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.rstrip().endswith("}")
    bad = subprocess.run([str(script), "table", "no-such-policy"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert len(bad.stderr.splitlines()) == 1
