"""schema, probe and visibility through typer's runner, plus one real QEMU run."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from qemu_required import require_qemu  # tests/ is on sys.path
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.schema import corpus

runner = CliRunner()
SCHEMAS = Path(str(corpus.directory()))
FILE_FLAG = "blockdev-add/arg-type/+file/$dynamic-auto-read-only"
QCOW2_FLAG = "blockdev-add/arg-type/+qcow2/$dynamic-auto-read-only"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optcompare: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


def mail_safe(text: str) -> None:
    fenced = False
    for line in text.splitlines():
        assert line.isascii()
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            assert len(line) <= 76, line


def test_schema_prints_a_reply_that_probe_reads_back(tmp_path: Path) -> None:
    code, out, _ = invoke("schema", "option-2", "--platform", "windows")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["optcompare", "kind", "policy", "platform", "return"]
    assert (data["kind"], data["policy"], data["platform"]) == ("qmp-schema", "option-2", "windows")
    path = tmp_path / "schema.json"
    path.write_text(out)
    code, out, _ = invoke("probe", "--schema", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["consistent_with"] == ["option-2@windows"]
    code, out, _ = invoke("probe", "query-qemu-features",
                          "query-qemu-features/ret-type/*file-dynamic-auto-read-only",
                          "--schema", str(path), "-f", "json")
    assert [q["holds"] for q in json.loads(out)["queries"]] == [True, False]


def test_schema_text_and_markdown() -> None:
    code, out, _ = invoke("schema", "qemu-4.1", "-f", "markdown")
    assert code == 0
    assert '"features": ["dynamic-auto-read-only"]' in out
    mail_safe(out)
    code, out, _ = invoke("schema", "qemu-4.1", "-f", "text")
    assert code == 0 and "query-qmp-schema of qemu-4.1 (posix)" in out


def test_probe_queries_on_a_policy() -> None:
    code, out, _ = invoke("probe", FILE_FLAG, QCOW2_FLAG, "no-such-command/arg-type",
                          "--policy", "qemu-4.1", "-f", "json")
    assert code == 0
    data = json.loads(out)
    assert data["kind"] == "probe"
    assert [q["holds"] for q in data["queries"]] == [True, False, False]
    code, out, _ = invoke("probe", FILE_FLAG, "--policy", "qemu-4.1", "--platform", "windows",
                          "-f", "json")
    assert json.loads(out)["queries"][0]["holds"] is False


def test_probe_without_query_concludes_on_real_replies() -> None:
    code, out, _ = invoke("probe", "--schema", str(SCHEMAS / "qmp-schema-3.1.0.json"),
                          "-f", "markdown")
    assert code == 0
    mail_safe(out)
    flat = " ".join(out.split())
    # explicit-reopen is 3.1's semantics plus x-blockdev-reopen: no signal either
    assert "consistent with qemu-3.1, qemu-3.1@windows, qemu-4.0, qemu-4.0@windows, " \
        "qemu-4.0.0, qemu-4.0.0@windows, option-3@windows, explicit-reopen, " \
        "explicit-reopen@windows and qemu-4.1@windows: no auto-read-only signal tells them " \
        "apart" in flat
    assert "x-blockdev-reopen" in out
    for version in ("4.1.0-dev", "4.2.0", "5.2.0", "8.1.0"):
        code, out, _ = invoke("probe", "--schema", str(SCHEMAS / f"qmp-schema-{version}.json"),
                              "-f", "json")
        assert code == 0
        assert json.loads(out)["consistent_with"] == ["qemu-4.1"]


def test_probe_accepts_a_qmp_transcript(tmp_path: Path) -> None:
    reply = json.loads((SCHEMAS / "qmp-schema-4.0.0.json").read_text())
    transcript = tmp_path / "transcript.txt"
    transcript.write_text("\n".join([
        json.dumps({"QMP": {"version": {}, "capabilities": []}}),
        json.dumps({"return": {}}),
        json.dumps({"return": reply}),
    ]) + "\n")
    code, out, _ = invoke("probe", "--schema", str(transcript), "-f", "json")
    assert code == 0
    assert json.loads(out)["consistent_with"][:3] == ["qemu-3.1", "qemu-3.1@windows", "qemu-4.0"]


def test_visibility_all_policies(tmp_path: Path) -> None:
    target = tmp_path / "visibility.md"
    code, out, _ = invoke("visibility", "-f", "markdown", "-o", str(target))
    assert code == 0 and out == ""
    text = target.read_text()
    mail_safe(text)
    assert "Visible in query-qmp-schema alone: option-1, option-2, option-3, qemu-4.1." \
        in " ".join(text.split())
    code, out, _ = invoke("visibility", "option-3", "qemu-4.0", "-f", "json")
    data = json.loads(out)
    assert data["kind"] == "visibility"
    assert [p["policy"] for p in data["policies"]] == ["option-3", "qemu-4.0"]
    code, out, _ = invoke("visibility")
    assert code == 0 and "per options struct" in out


def test_bad_schema_files(tmp_path: Path) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text('[{"name": "x", ')
    assert_one_line_error(*invoke("probe", "--schema", str(not_json)), "not JSON")
    not_schema = tmp_path / "other.json"
    not_schema.write_text('{"hello": [1, 2]}')
    assert_one_line_error(*invoke("probe", "--schema", str(not_schema)),
                          "not a query-qmp-schema reply")
    assert_one_line_error(*invoke("probe", "--schema", str(tmp_path / "missing.json")),
                          "cannot read")


def test_bad_queries_and_sources() -> None:
    assert_one_line_error(*invoke("probe", "blockdev-add/^x/arg-type", "--policy", "qemu-4.1"),
                          "must not have followers")
    assert_one_line_error(*invoke("probe", "a//b", "--policy", "qemu-4.1"), "malformed")
    assert_one_line_error(*invoke("probe"), "exactly one of --policy, --schema or --live")
    assert_one_line_error(*invoke("probe", "--policy", "qemu-4.1", "--live"), "exactly one")
    assert_one_line_error(*invoke("probe", "--schema", "x.json", "--platform", "windows"),
                          "--platform")
    assert_one_line_error(*invoke("probe", "--policy", "qemu-9"), "unknown policy")
    assert_one_line_error(*invoke("schema", "qemu-4.1", "--platform", "amiga"),
                          "unknown platform")
    assert_one_line_error(*invoke("visibility", "nope"), "unknown policy")


def test_a_malformed_query_fails_before_any_daemon_starts(tmp_path: Path) -> None:
    # PATH has no QEMU at all: the query is rejected first.
    assert_one_line_error(*invoke("probe", "x/$y/z", "--live", env={"PATH": str(tmp_path)}),
                          "must not have followers")


def test_live_without_qemu_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(*invoke("probe", "--live", env={"PATH": str(tmp_path)}), "not found")


@pytest.fixture
def dying_qemu() -> Iterator[Path]:
    """A PATH whose qemu-storage-daemon exits at once with a message."""
    directory = Path(tempfile.mkdtemp(prefix="optcompare-fake-qemu-"))
    try:
        directory.chmod(0o755)  # the daemon may run as an unprivileged user
        for name in ("qemu-storage-daemon", "qemu-img"):
            script = directory / name
            script.write_text("#!/bin/sh\necho 'qemu-storage-daemon: no monitor for you' >&2\n"
                              "exit 1\n")
            script.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        setpriv = shutil.which("setpriv")
        if os.geteuid() == 0:
            if setpriv is None:
                pytest.skip("setpriv is needed to run the fake daemon as root")
            (directory / "setpriv").symlink_to(setpriv)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_a_daemon_that_cannot_start_is_one_line(dying_qemu: Path) -> None:
    code, out, err = invoke("probe", "--live", env={"PATH": str(dying_qemu)})
    assert_one_line_error(code, out, err, "qemu-storage-daemon exited with status 1")


@pytest.mark.qemu
def test_live_qemu_storage_daemon() -> None:
    require_qemu()
    code, out, err = invoke("probe", "--live")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "consistent with qemu-4.1 and no other known build" in flat
    code, out, err = invoke("probe", FILE_FLAG, QCOW2_FLAG, "query-qemu-features", "--live",
                            "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["source"].startswith("live qemu-storage-daemon ")
    assert [q["holds"] for q in data["queries"]] == [True, False, False]
