from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parent / "data"

# The built-in policies run with plugin discovery off unless a test turns it on.
os.environ.setdefault("OPTCOMPARE_NO_PLUGINS", "1")

# Expected texts are at each command's default width; a width exported by the
# shell or the CI runner (COLUMNS=50) would rewrap them. A test that is about
# the width sets it itself.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """The cyclic collector as the test found it, whatever the test turned it to."""
    was_enabled = gc.isenabled()
    yield
    (gc.enable if was_enabled else gc.disable)()


@pytest.fixture
def iotest232_data() -> Path:
    """QEMU's expected outputs of iotest 232 (provenance in its README)."""
    return DATA / "iotest-232"


# Reports are replayed, never served from the result cache, unless a test
# turns the cache on (tests/test_cache.py): a test that patches the model
# must not get a result stored before the patch.
os.environ.setdefault("OPTCOMPARE_NO_CACHE", "1")


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The report's result cache, on, in a directory of this test's own."""
    from optcompare import cache

    monkeypatch.delenv(cache.ENV_NO_CACHE, raising=False)
    monkeypatch.setenv(cache.ENV_DIR, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def report_analyses(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every replay of the report analysis from now on, by the policy names it was given."""
    from optcompare.commands import report

    calls: list[list[str]] = []
    real = report._analyse

    def counting(names: list[str], *args: Any) -> Any:
        calls.append(list(names))
        return real(names, *args)

    monkeypatch.setattr(report, "_analyse", counting)
    return calls


@pytest.fixture
def entry_point_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every listing of installed entry points from now on (the real one still answers)."""
    import importlib.metadata

    calls: list[dict[str, Any]] = []
    real = importlib.metadata.entry_points

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    return calls


@pytest.fixture
def listings(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Every listing of the plugins' entry points from now on, however it is answered
    (with importlib.metadata, or without it when nothing declares the group)."""
    from optcompare.policies import discovery

    calls: list[None] = []
    real = discovery.entry_points

    def counting() -> Any:
        calls.append(None)
        return real()

    monkeypatch.setattr(discovery, "entry_points", counting)
    return calls
