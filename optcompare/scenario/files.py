"""Which scenario files a command reads: the built-ins, or every ``*.toml`` of a directory.

Kept apart from the loader so that finding the files costs no TOML parser:
the report's result cache hashes them before deciding whether to load them.
"""

from __future__ import annotations

from pathlib import Path

from optcompare.errors import InputError

BUILTIN_PACKAGE = "optcompare.builtin_scenarios"


def builtin_files() -> list[Path]:
    from importlib.util import find_spec

    spec = find_spec(BUILTIN_PACKAGE)
    roots = (spec.submodule_search_locations or []) if spec is not None else []
    if not roots:
        raise InputError("the built-in scenarios are not installed", path=BUILTIN_PACKAGE)
    return sorted((path for root in roots for path in Path(root).glob("*.toml")),
                  key=lambda p: p.name)


def directory_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InputError("not a directory of scenario files", path=str(directory))
    return sorted(directory.glob("*.toml"))


def discover(directory: Path | None = None) -> list[Path]:
    return directory_files(directory) if directory is not None else builtin_files()
