"""The report's result cache cannot serve something wrong.

- The key covers the content of the entry points and distribution metadata
  it lists: an ``entry_points.txt`` or ``METADATA`` edited in place (no
  directory on ``sys.path`` changes) is seen, and so is a distribution that
  gains an entry point in the group.
- A stored report is checked against the report model before use: an entry
  whose checksum holds but whose content is not a report (not JSON, a
  field of the wrong type, an unknown field) is replayed.
- A FIFO or a symlink at an entry's path is skipped: never opened blocking,
  never followed, never written through.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import test_plugins
from typer.testing import CliRunner

from optcompare import cache
from optcompare.cli import app
from optcompare.policies import discovery

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
SMALL = ["-p", "qemu-3.1", "-p", "qemu-4.1", "--scenarios", str(GOLDEN / "scenarios")]

install = test_plugins.install
site = test_plugins.site
fresh_registry = test_plugins.fresh_registry
plugins_on = test_plugins.plugins_on


def report(*args: str) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def new_process() -> None:
    test_plugins._new_process()


# -- the key follows the metadata it lists ---------------------------------------------

POLICY = """\
from dataclasses import replace
from optcompare.policies.qemu_4_1 import POLICY as BASE
POLICY = replace(BASE, name='hands-off', title='first title')
SECOND = replace(BASE, name='hands-off', title='second title')
"""
PLUGIN_REPORT = ["-p", "qemu-3.1", "-p", "hands-off", "--scenarios",
                 str(GOLDEN / "scenarios"), "-f", "json"]


def metadata_dir(site: Path) -> Path:
    (found,) = site.glob("optcompare_another-*.dist-info")
    return found


def edit_in_place(path: Path, old: str, new: str) -> None:
    """Rewrite a file's content without a new directory entry (no directory time changes)."""
    text = path.read_text().replace(old, new)
    with open(path, "r+") as handle:
        handle.write(text)
        handle.truncate()


@pytest.mark.usefixtures("plugins_on", "cache_dir")
def test_an_entry_point_edited_in_place_is_seen(install: test_plugins.Install, site: Path
                                                ) -> None:
    install("optcompare-another", "2.0", {"hands-off": "optcompare_other:POLICY"},
            {"optcompare_other": POLICY})
    first = report(*PLUGIN_REPORT)
    assert "first title" in first
    new_process()
    assert report(*PLUGIN_REPORT) == first
    stamp = os.stat(site).st_mtime_ns
    edit_in_place(metadata_dir(site) / "entry_points.txt", ":POLICY", ":SECOND")
    assert os.stat(site).st_mtime_ns == stamp  # no sys.path directory changed
    new_process()
    second = report(*PLUGIN_REPORT)
    assert "second title" in second and "first title" not in second


@pytest.mark.usefixtures("plugins_on", "cache_dir")
def test_metadata_edited_in_place_is_seen(install: test_plugins.Install, site: Path) -> None:
    install("optcompare-another", "2.0", {"hands-off": "optcompare_other:POLICY"},
            {"optcompare_other": POLICY})
    first = report(*PLUGIN_REPORT)
    assert "optcompare-another 2.0" in first
    new_process()
    edit_in_place(metadata_dir(site) / "METADATA", "Version: 2.0", "Version: 2.1")
    new_process()
    second = report(*PLUGIN_REPORT)
    assert "optcompare-another 2.1" in second and "optcompare-another 2.0" not in second


@pytest.mark.usefixtures("plugins_on")
def test_a_distribution_that_gains_an_entry_point_in_place_is_listed(
    tmp_path: Path, site: Path
) -> None:
    info = site / "optcompare_quiet-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: optcompare-quiet\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[console_scripts]\nquiet = quiet:main\n")
    store = cache.Store(tmp_path / "cache")
    before = discovery.fingerprint(store)
    assert before == []
    discovery.reset()
    edit_in_place(info / "entry_points.txt", "[console_scripts]\nquiet = quiet:main",
                  "[optcompare.policies]\nquiet = quiet:POLICY")
    after = discovery.fingerprint(store)
    assert after is not None and after[:3] == ["quiet", "quiet:POLICY", "optcompare-quiet 1.0"]


# -- a stored entry is checked against the report's shape -------------------------------

def data_entry(directory: Path) -> tuple[Path, Any]:
    """The stored report data: the one entry whose body is a JSON object with 'decision'."""
    for path in sorted(directory.glob("*.entry")):
        body = path.read_bytes().partition(b"\n")[2]
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict) and "decision" in data:
            return path, data
    raise AssertionError("no stored report data")


def forge(path: Path, body: str) -> None:
    """Replace an entry's body, with a checksum that matches it."""
    raw = body.encode()
    path.write_bytes(f"{cache.FORMAT} {hashlib.sha256(raw).hexdigest()}\n".encode() + raw)


def first_string_list(data: Any) -> list[Any]:
    """The path (keys) to the first list of strings in ``data``."""
    pending: list[tuple[list[Any], Any]] = [([], data)]
    while pending:
        where, item = pending.pop(0)
        if isinstance(item, list) and item and all(isinstance(v, str) for v in item):
            return where
        children = item.items() if isinstance(item, dict) else (
            enumerate(item) if isinstance(item, list) else ())
        pending += [([*where, k], v) for k, v in children]
    raise AssertionError("no list of strings")


def set_at(data: Any, where: list[Any], value: Any) -> None:
    for key in where[:-1]:
        data = data[key]
    data[where[-1]] = value


@pytest.mark.parametrize("damage", ["not-json", "wrong-type", "unknown-field", "not-an-object",
                                    "missing-field"])
def test_a_stored_report_of_the_wrong_shape_is_replayed(
    cache_dir: Path, report_analyses: list[list[str]], damage: str
) -> None:
    markdown = report(*SMALL, "-f", "markdown")
    path, data = data_entry(cache_dir)
    if damage == "not-json":
        body = "{not json"
    elif damage == "wrong-type":
        set_at(data, first_string_list(data), "a string where a list of strings belongs")
        body = json.dumps(data)
    elif damage == "unknown-field":
        body = json.dumps({**data, "injected": "text"})
    elif damage == "missing-field":
        body = json.dumps({k: v for k, v in data.items() if k != "decision"})
    else:
        body = json.dumps([data])
    forge(path, body)
    text = report(*SMALL, "-f", "text")  # another output: the stored data is consulted
    assert len(report_analyses) == 2  # replayed, not decoded into a wrong report
    assert text == report(*SMALL, "-f", "text", "--no-cache")
    assert report(*SMALL, "-f", "markdown") == markdown


# -- a non-regular file at an entry's path -----------------------------------------------

def run_report(cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != cache.ENV_NO_CACHE}
    env[cache.ENV_DIR] = str(cache_dir)
    return subprocess.run([sys.executable, "-m", "optcompare", "report", *SMALL, *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_fifo_at_an_entry_path_is_skipped_without_blocking(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    first = run_report(directory, "-f", "markdown")
    assert first.returncode == 0, first.stderr
    stored = sorted(directory.glob("*.entry"))
    assert stored
    for path in stored:
        path.unlink()
        os.mkfifo(path)
    again = run_report(directory, "-f", "markdown")  # blocked for ever before
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout and again.stderr == ""
    assert all(path.is_fifo() for path in stored)  # left alone, not replaced or written into


def test_a_symlink_at_an_entry_path_is_neither_followed_nor_written_through(
    tmp_path: Path
) -> None:
    directory = tmp_path / "cache"
    first = run_report(directory, "-f", "markdown")
    assert first.returncode == 0, first.stderr
    victim = tmp_path / "victim.txt"
    for path in sorted(directory.glob("*.entry")):
        content = path.read_bytes()
        path.unlink()
        path.symlink_to(victim)
        victim.write_bytes(content)  # a valid entry, behind a link
        again = run_report(directory, "-f", "markdown")
        assert again.returncode == 0 and again.stdout == first.stdout
        assert victim.read_bytes() == content and path.is_symlink()
        path.unlink()
        path.write_bytes(content)


def test_store_skips_what_is_not_a_regular_file(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    os.mkfifo(tmp_path / "fifo.entry")
    (tmp_path / "dir.entry").mkdir()
    (tmp_path / "zero.entry").symlink_to("/dev/zero")
    for name in ("fifo", "dir", "zero"):
        assert store.get(name) is None
        store.put(name, "text\n")
        assert store.get(name) is None
    assert (tmp_path / "fifo.entry").is_fifo() and (tmp_path / "zero.entry").is_symlink()
    store.put("real", "text\n")
    assert store.get("real") == "text\n"
