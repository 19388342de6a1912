"""QEMU's own expected output for iotest 232, reproduced by the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from optcompare.analysis import iotest232
from optcompare.errors import InputError
from optcompare.policies import registry
from optcompare.policies.base import Frontend


@pytest.mark.parametrize(
    ("filename", "policy"), [("iotest-232.out", "qemu-4.0"), ("iotest-232-v3.1.out", "qemu-3.1")]
)
def test_model_reproduces_iotest_232(iotest232_data: Path, filename: str, policy: str) -> None:
    expected = iotest232.parse(iotest232_data / filename)
    assert len(expected) == 36
    computed = iotest232.compute(registry.get(policy).build())
    assert computed == expected


def test_the_two_releases_differ_where_fallback_became_dynamic(iotest232_data: Path) -> None:
    new = iotest232.parse(iotest232_data / "iotest-232.out")
    old = iotest232.parse(iotest232_data / "iotest-232-v3.1.out")
    changed = [(n.frontend, n.writable, dict(n.options)) for n, o in zip(new, old, strict=True)
               if n != o]
    # auto-read-only=on (given, or -drive's default) on a chmod a-w image:
    # 3.1 degrades the node to read-only, 4.0 keeps it read/write (dynamic).
    assert changed == [
        (Frontend.DRIVE, False, {"read-only": False, "auto-read-only": True}),
        (Frontend.DRIVE, False, {"read-only": False}),
        (Frontend.DRIVE, False, {"auto-read-only": True}),
        (Frontend.DRIVE, False, {}),
        (Frontend.BLOCKDEV, False, {"read-only": False, "auto-read-only": True}),
        (Frontend.BLOCKDEV, False, {"auto-read-only": True}),
    ]


def test_the_3_0_model_does_not_reproduce_it(iotest232_data: Path) -> None:
    expected = iotest232.parse(iotest232_data / "iotest-232-v3.1.out")
    assert iotest232.compute(registry.get("qemu-3.0").build()) != expected


def test_parse_rejects_a_truncated_file(tmp_path: Path, iotest232_data: Path) -> None:
    text = (iotest232_data / "iotest-232.out").read_text().splitlines()
    broken = tmp_path / "short.out"
    broken.write_text("\n".join(text[:20]) + "\n")
    with pytest.raises(InputError, match="expected 36 results"):
        iotest232.parse(broken)


def test_parse_names_the_line_of_garbage(tmp_path: Path) -> None:
    broken = tmp_path / "garbage.out"
    broken.write_text("=== -drive with read-write image: x ===\n\nwhat is this\n")
    with pytest.raises(InputError) as info:
        iotest232.parse(broken)
    assert info.value.line == 3
