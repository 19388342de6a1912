"""The real query-qmp-schema replies shipped in the package, by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.schema import corpus

runner = CliRunner()
REPLIES = Path(str(corpus.directory()))


def test_every_shipped_file_is_a_named_reply_with_its_provenance_in_the_readme() -> None:
    files = sorted(p.name for p in REPLIES.glob("*.json"))
    assert files == sorted(reply.filename for reply in corpus.CORPUS)
    assert len(files) == 6
    readme = (REPLIES / "README.md").read_text(encoding="utf-8")
    for reply in corpus.CORPUS:
        row = f"| {reply.name} | {reply.filename} | {reply.qemu} | {reply.source} |"
        assert row in readme.splitlines(), row


@pytest.mark.parametrize("reply", corpus.CORPUS, ids=lambda r: r.name)
def test_a_reply_by_name_is_the_file_unchanged(reply: corpus.Reply) -> None:
    assert reply.entries() == json.loads((REPLIES / reply.filename).read_text(encoding="utf-8"))


def test_probe_by_name_answers_like_probe_by_path() -> None:
    query = corpus.FEATURE_QUERY
    by_name = runner.invoke(app, ["probe", "--schema", "qemu-4.1.0-dev", query, "-f", "json"])
    by_path = runner.invoke(app, ["probe", "--schema", str(REPLIES / "qmp-schema-4.1.0-dev.json"),
                                  query, "-f", "json"])
    assert by_name.exit_code == by_path.exit_code == 0
    named, pathed = json.loads(by_name.stdout), json.loads(by_path.stdout)
    assert named["queries"] == pathed["queries"] == [{"query": query, "holds": True}]
    assert named["source"] == "qemu-4.1.0-dev (real reply, v4.0.0-1481 (4.1 development, " \
        "2019-06-18))"


def test_the_readme_tour_command_concludes_on_the_4_0_reply() -> None:
    result = runner.invoke(app, ["probe", "--schema", "qemu-4.0.0", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["entries"] == 803
    # A Windows reply keeps the union's variants: Windows builds without a
    # signal look the same.
    assert data["consistent_with"] == [
        "qemu-3.1", "qemu-3.1@windows", "qemu-4.0", "qemu-4.0@windows", "qemu-4.0.0",
        "qemu-4.0.0@windows", "option-3@windows", "explicit-reopen", "explicit-reopen@windows",
        "qemu-4.1@windows"]


LISTING = """\
# Real query-qmp-schema replies shipped with optcompare

## Replies

6 replies, each the answer of a real QEMU (x86_64), cut out of libvirt's
capability test data (tests/qemucapabilitiesdata) with only the JSON layout
changed. 'probe --schema NAME' reads one. Entries are counted and the last
column is blockdev-add/arg-type/+file/$dynamic-auto-read-only, evaluated on
each reply.

| name           | QEMU                                      | entries |
|----------------|-------------------------------------------|---------|
| qemu-3.1.0     | v3.1.0-rc2                                | 794     |
| qemu-4.0.0     | v4.0.0                                    | 803     |
| qemu-4.1.0-dev | v4.0.0-1481 (4.1 development, 2019-06-18) | 806     |
| qemu-4.2.0     | v4.2.0                                    | 816     |
| qemu-5.2.0     | v5.2.0                                    | 885     |
| qemu-8.1.0     | v8.1.0                                    | 1120    |

| name           | feature flag |
|----------------|--------------|
| qemu-3.1.0     | no           |
| qemu-4.0.0     | no           |
| qemu-4.1.0-dev | yes          |
| qemu-4.2.0     | yes          |
| qemu-5.2.0     | yes          |
| qemu-8.1.0     | yes          |

## Where each came from

| name           | file                      | libvirt file              |
|----------------|---------------------------|---------------------------|
| qemu-3.1.0     | qmp-schema-3.1.0.json     | caps_3.1.0.x86_64.replies |
| qemu-4.0.0     | qmp-schema-4.0.0.json     | caps_4.0.0.x86_64.replies |
| qemu-4.1.0-dev | qmp-schema-4.1.0-dev.json | caps_4.1.0.x86_64.replies |
| qemu-4.2.0     | qmp-schema-4.2.0.json     | caps_4.2.0.x86_64.replies |
| qemu-5.2.0     | qmp-schema-5.2.0.json     | caps_5.2.0.x86_64.replies |
| qemu-8.1.0     | qmp-schema-8.1.0.json     | caps_8.1.0_x86_64.replies |
"""


def test_schema_list_shows_each_reply_with_where_it_came_from() -> None:
    result = runner.invoke(app, ["probe", "--schema", "list", "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == LISTING


def test_schema_list_json_counts_what_is_in_each_file() -> None:
    result = runner.invoke(app, ["probe", "--schema", "list", "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["kind"] == "schema-corpus"
    for row, reply in zip(data["replies"], corpus.CORPUS, strict=True):
        entries = json.loads((REPLIES / reply.filename).read_text(encoding="utf-8"))
        assert row["name"] == reply.name and row["source"] == reply.source
        assert row["entries"] == len(entries)
        assert row["dynamic_auto_read_only"] == ("dynamic-auto-read-only" in json.dumps(entries))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--schema", "list", "query-version"], "takes no QUERY"),
        (["--schema", ""], "--schema needs a file or the name of a shipped reply"),
        (["--schema", "qemu-9.9.9"], "not a shipped reply (known: qemu-3.1.0, "),
    ],
)
def test_bad_schema_names_are_one_line(args: list[str], needle: str) -> None:
    result = runner.invoke(app, ["probe", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_a_file_named_like_the_listing_is_read_with_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "list").write_text((REPLIES / "qmp-schema-3.1.0.json").read_text())
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["probe", "--schema", "./list", corpus.FEATURE_QUERY, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source"] == "./list"
    assert data["queries"][0]["holds"] is False


def test_the_console_script_reads_a_reply_by_name_from_anywhere(tmp_path: Path) -> None:
    env = {**os.environ, "OPTCOMPARE_NO_PLUGINS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "optcompare", "probe", "--schema", "qemu-8.1.0",
         corpus.FEATURE_QUERY, "-f", "json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["queries"][0]["holds"] is True
