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
