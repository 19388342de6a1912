"""The report's result cache: served only for the same inputs, replayed on any change."""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optcompare import cache
from optcompare.cli import app
from optcompare.policies import discovery

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden"
POLICIES = ["-p", "qemu-3.1", "-p", "qemu-4.1"]


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    directory = tmp_path / "scenarios"
    shutil.copytree(GOLDEN / "scenarios", directory)
    return directory


def report(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == code, result.stderr
    return result.stdout


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.entry"))


# -- the store ----------------------------------------------------------------

def test_an_entry_comes_back_as_written(tmp_path: Path) -> None:
    store = cache.Store(tmp_path / "d")
    assert store.get("k") is None
    store.put("k", "yes\nno \u2014 ERR\n")
    assert store.get("k") == "yes\nno \u2014 ERR\n"
    assert [p.name for p in entries(tmp_path / "d")] == ["k.entry"]
    assert not list((tmp_path / "d").glob("*.tmp"))


def test_a_damaged_entry_is_dropped(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    store.put("k", "the stored result\n")
    path = tmp_path / "k.entry"
    path.write_bytes(path.read_bytes().replace(b"stored", b"STORED"))
    assert store.get("k") is None
    assert not path.exists()
    path.write_bytes(b"no header at all")
    assert store.get("k") is None


def test_a_store_that_cannot_be_written_is_empty(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    store = cache.Store(blocker / "cache")
    store.put("k", "text")
    assert store.get("k") is None
    off = cache.Store(None)
    off.put("k", "text")
    assert off.get("k") is None


def test_the_least_recently_used_entries_go(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "MAX_ENTRIES", 3)
    store = cache.Store(tmp_path)
    for index in range(5):
        store.put(f"e{index}", str(index))
        os.utime(tmp_path / f"e{index}.entry", ns=(index * 10**9, index * 10**9))
    store.put("e5", "5")
    assert [p.stem for p in entries(tmp_path)] == ["e3", "e4", "e5"]


def test_keys_keep_their_parts_apart() -> None:
    assert cache.key("ab", "c") != cache.key("a", "bc")
    assert cache.key("a", "") != cache.key("a")
    assert cache.key("x") == cache.key("x")


def test_a_tree_digest_follows_every_source_file(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("B = 1\n")
    first = cache.tree_digest([tmp_path / "pkg"])
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.py").write_text("ignored")
    (tmp_path / "pkg" / "notes.txt").write_text("ignored")
    assert cache.tree_digest([tmp_path / "pkg"]) == first
    (tmp_path / "pkg" / "sub" / "b.py").write_text("B = 2\n")
    second = cache.tree_digest([tmp_path / "pkg"])
    assert second != first
    (tmp_path / "pkg" / "sub" / "b.py").rename(tmp_path / "pkg" / "sub" / "c.py")
    assert cache.tree_digest([tmp_path / "pkg"]) not in (first, second)


def test_where_the_store_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (cache.ENV_NO_CACHE, cache.ENV_DIR, "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_directory() == tmp_path / ".cache" / "optcompare"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_directory() == tmp_path / "xdg" / "optcompare"
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "explicit"))
    assert cache.default_directory() == tmp_path / "explicit"
    monkeypatch.setenv(cache.ENV_NO_CACHE, "0")
    assert cache.default_directory() == tmp_path / "explicit"
    monkeypatch.setenv(cache.ENV_NO_CACHE, "1")
    assert cache.default_directory() is None


# -- the report through the store ------------------------------------------------

@pytest.mark.usefixtures("cache_dir")
def test_every_format_from_the_store_is_the_replayed_output(
    scenarios: Path, report_analyses: list[list[str]]
) -> None:
    args = [*POLICIES, "--scenarios", str(scenarios), "--width", "100"]
    for fmt in ("markdown", "json", "text", "html", "svg"):
        replayed = report(*args, "-f", fmt, "--no-cache")
        assert report(*args, "-f", fmt) == replayed  # stored now, or the data was
        assert report(*args, "-f", fmt) == replayed  # served
    # --no-cache replays each time; the stored data is replayed once for the reply
    # formats and once for html and svg, which carry everything --full measures.
    assert len(report_analyses) == 5 + 2


def test_a_stored_result_is_served_without_replaying(
    cache_dir: Path, scenarios: Path, report_analyses: list[list[str]]
) -> None:
    args = [*POLICIES, "--scenarios", str(scenarios), "-f", "markdown"]
    first = report(*args)
    assert len(entries(cache_dir)) >= 2  # the data and the markdown
    assert report(*args) == first
    assert report(*args, "-o", str(cache_dir.parent / "reply.md")) == ""
    assert (cache_dir.parent / "reply.md").read_text() == first
    assert len(report_analyses) == 1


@pytest.mark.usefixtures("cache_dir")
def test_any_change_of_input_replays(scenarios: Path, report_analyses: list[list[str]],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["--scenarios", str(scenarios), "-f", "json"]
    report(*POLICIES, *args)
    report(*POLICIES, *args, "--full")
    report("-p", "qemu-4.1", "-p", "qemu-3.1", *args)
    assert len(report_analyses) == 3

    scenario = scenarios / "readonly-disk-guest-write.toml"
    before = report(*POLICIES, *args)
    scenario.write_text(scenario.read_text() + "\n# one more line\n")
    after = report(*POLICIES, *args)
    assert before != after  # the provenance hash of the file changed
    assert len(report_analyses) == 4

    (scenarios / "copy.toml").write_text(
        scenario.read_text().replace('name = "readonly-disk-guest-write"', 'name = "copy"'))
    assert '"copy"' in report(*POLICIES, *args)
    assert len(report_analyses) == 5

    monkeypatch.setattr(cache, "source_digest", lambda: "optcompare, edited")
    report(*POLICIES, *args)
    assert len(report_analyses) == 6


def test_a_damaged_entry_is_replayed(cache_dir: Path, scenarios: Path,
                                     report_analyses: list[list[str]]) -> None:
    args = [*POLICIES, "--scenarios", str(scenarios), "-f", "markdown"]
    first = report(*args)
    for path in entries(cache_dir):
        path.write_bytes(path.read_bytes()[:-10] + b"tampered!\n")
    assert report(*args) == first
    assert len(report_analyses) == 2


@pytest.mark.usefixtures("cache_dir")
def test_bad_input_is_never_stored(scenarios: Path, report_analyses: list[list[str]]) -> None:
    result = runner.invoke(app, ["report", "-p", "qemu-9.9", "--scenarios", str(scenarios)])
    assert result.exit_code == 2
    assert "unknown policy 'qemu-9.9'" in result.stderr
    (scenarios / "broken.toml").write_text("version = 1\nname = \n")
    for _ in range(2):
        result = runner.invoke(app, ["report", *POLICIES, "--scenarios", str(scenarios)])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"optcompare: error: {scenarios / 'broken.toml'}:2:")
    missing = runner.invoke(app, ["report", "--scenarios", str(scenarios / "nope")])
    assert missing.exit_code == 2 and "not a directory" in missing.stderr
    assert len(report_analyses) == 4


def test_the_store_can_be_turned_off(cache_dir: Path, scenarios: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    args = [*POLICIES, "--scenarios", str(scenarios), "-f", "markdown"]
    report(*args, "--no-cache")
    assert not cache_dir.exists()
    monkeypatch.setenv(cache.ENV_NO_CACHE, "1")
    report(*args)
    assert not cache_dir.exists()


# -- the installed entry points -------------------------------------------------

def test_the_entry_point_listing_is_stored_until_sys_path_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listings: list[None]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(discovery.ENV_NO_PLUGINS, raising=False)
    store = cache.Store(tmp_path / "cache")
    listing = discovery._listing(store)
    discovery.reset()
    assert discovery._listing(store) == listing
    assert len(listings) == 1

    info = site / "optcompare_cached-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: optcompare-cached\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text("[optcompare.policies]\ncached = cached_mod:POLICY\n")
    importlib.invalidate_caches()
    discovery.reset()
    relisted = discovery._listing(store)
    assert ("cached", "cached_mod:POLICY", "optcompare-cached 1.0", str(info)) in relisted
    assert len(listings) == 2
    discovery.reset()


def test_the_console_script_serves_what_it_replayed(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != cache.ENV_NO_CACHE}
    env[cache.ENV_DIR] = str(tmp_path / "cache")
    argv = [sys.executable, "-m", "optcompare", "report", *POLICIES,
            "--scenarios", "tests/golden/scenarios", "-f", "markdown"]
    runs = [subprocess.run(argv + extra, capture_output=True, text=True, env=env, check=False,
                           cwd=GOLDEN.parent.parent)
            for extra in ([], [], ["--no-cache"])]
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    assert all(r.stderr == "" for r in runs)
    golden = (GOLDEN / "report-3.1-4.1.md").read_text()
    assert [r.stdout for r in runs] == [golden] * 3
    assert len(entries(tmp_path / "cache")) >= 2
