"""Shared gate and launcher for tests in a real browser.

Playwright (the Python package) drives Debian's Chromium, never a browser
of Playwright's own download (there is no network to fetch one). When
either is missing, :func:`chromium` fails the test if ``CI`` is set (see
``tests/qemu_required.py``), so CI cannot pass by skipping, and skips it
elsewhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from qemu_required import in_ci  # tests/ is on sys.path

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

CHROMIUM = "/usr/bin/chromium"
"""Debian's package ``chromium``; ``OPTCOMPARE_CHROMIUM`` names another binary."""
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
"""Pictures for a person to look at (ignored by git)."""


def _missing(reason: str) -> None:
    if in_ci():
        pytest.fail(f"CI is set and the browser tests need {reason}", pytrace=False)
    pytest.skip(f"browser tests: {reason}")


def executable() -> str:
    path = os.environ.get("OPTCOMPARE_CHROMIUM", CHROMIUM)
    if not (Path(path).is_file() and os.access(path, os.X_OK)) and shutil.which(path) is None:
        _missing(f"Chromium at {path} (Debian package chromium)")
    return path


@contextmanager
def chromium(profile: Path, width: int, height: int) -> Iterator[BrowserContext]:
    """A fresh Chromium profile in ``profile``, with a ``width`` x ``height`` viewport."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright")
    path = executable()
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(profile), executable_path=path, args=ARGS, headless=True,
            viewport={"width": width, "height": height}, device_scale_factor=1,
            service_workers="block", offline=False,
        )
        try:
            yield context
        finally:
            context.close()
