"""The project stands on its own: its tests need nothing outside the repository.

A copy of the repository in an empty temporary folder is installed (not
editable: the installed package must carry the schema corpus) and the tests
that read real QEMU data run from the copy, under an audit hook that refuses
every file opened outside the copy, the installed package, the Python
installation and the system directories. A test that read a file beside the
checkout, or the checkout itself, fails there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DATA_TESTS = [
    "tests/test_iotest232.py",
    "tests/test_schema_load.py",
    "tests/test_conclude.py",
    "tests/test_cli_introspection.py",
    "tests/test_schema_query.py",
]

NOT_COPIED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.egg-info", "build", "dist", ".hypothesis", ".venv", "venv",
    ".mypy_cache", ".ruff_cache", ".pytest_cache",
)

# Runs pytest in the copy; every open outside the allowed roots is recorded and refused.
GUARD = """
import os, sys
allowed = tuple(os.path.realpath(p) + os.sep for p in sys.argv[1].split(os.pathsep))
log = sys.argv[2]
outside = []

def guard(event, args):
    if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.fsdecode(args[0])
    real = os.path.realpath(path) + os.sep
    if not real.startswith(allowed) and path not in outside:
        outside.append(path)
        with open(log, "a") as record:  # the log is inside an allowed root
            record.write(path + "\\n")
        raise PermissionError(13, "outside the repository copy", path)

sys.addaudithook(guard)
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[3:]]))
"""


def test_the_data_tests_pass_from_a_copy_that_reads_nothing_outside_it(tmp_path: Path) -> None:
    copy = tmp_path / "repository"
    shutil.copytree(ROOT, copy, ignore=NOT_COPIED)
    installed = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-index", "--target", str(installed),
         str(copy)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    assert (installed / "optcompare" / "schema" / "replies" / "qmp-schema-4.0.0.json").is_file()
    assert not (installed / "optcompare" / "__init__.py").samefile(ROOT / "optcompare" /
                                                                  "__init__.py")

    paths = sysconfig.get_paths()
    allowed = [
        copy, installed, Path(tempfile.gettempdir()), Path(sys.prefix), Path(sys.base_prefix),
        Path(sys.exec_prefix), *(Path(paths[key]) for key in ("purelib", "platlib", "stdlib")),
        Path("/usr"), Path("/lib"), Path("/etc"), Path("/proc"), Path("/dev"), Path("/sys"),
    ]
    log = copy / "outside.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(installed)
    result = subprocess.run(
        [sys.executable, "-P", "-c", GUARD, os.pathsep.join(map(str, allowed)), str(log),
         *DATA_TESTS],
        cwd=copy, env=env, capture_output=True, text=True, timeout=600,
    )
    outside = log.read_text().splitlines() if log.exists() else []
    assert outside == [], f"read outside the repository: {outside}"
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
