from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"

# The built-in policies run with plugin discovery off unless a test turns it on.
os.environ.setdefault("OPTCOMPARE_NO_PLUGINS", "1")


@pytest.fixture
def reference() -> Path:
    assert REFERENCE.is_dir(), f"the shared reference folder is missing: {REFERENCE}"
    return REFERENCE

# Reports are replayed, never served from the result cache, unless a test
# turns the cache on (tests/test_cache.py): a test that patches the model
# must not get a result stored before the patch.
os.environ.setdefault("OPTCOMPARE_NO_CACHE", "1")
