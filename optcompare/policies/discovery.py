"""Whether plugin discovery is on, and which entry points are installed.

Nothing here imports a policy: the command line sets the switch on every
invocation, and the report's result cache lists the entry points to know
which plugins a result depends on, both without paying for the built-in
policies. Loading and checking the plugins is :mod:`registry`'s job.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib import metadata

    from optcompare.cache import Store

GROUP = "optcompare.policies"
"""The entry-point group third-party policies register in."""

ENV_NO_PLUGINS = "OPTCOMPARE_NO_PLUGINS"
"""Set to 1 (or true, yes, on) to turn plugin discovery off."""

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


class _Switch:
    """What this process was told about plugins, and what it found."""

    def __init__(self) -> None:
        self.cli_disabled = False
        self.found: list[metadata.EntryPoint] | None = None


_switch = _Switch()


def set_plugins_disabled(disabled: bool) -> None:
    """What ``--no-plugins`` says for this invocation (the CLI sets it every time)."""
    _switch.cli_disabled = disabled


def plugins_enabled() -> bool:
    """False under ``--no-plugins`` or ``OPTCOMPARE_NO_PLUGINS=1``."""
    if _switch.cli_disabled:
        return False
    return os.environ.get(ENV_NO_PLUGINS, "").strip().lower() in _FALSE_WORDS


def reset() -> None:
    """Forget the switch and the listing (for tests)."""
    global _switch
    _switch = _Switch()


def entry_points() -> list[metadata.EntryPoint]:
    """The group's entry points, sorted by distribution then name; listed once.

    A broken distribution on ``sys.path`` can make the listing itself raise:
    the exception reaches the caller, which decides what that means.
    """
    if _switch.found is None:
        if _declared_nowhere():
            _switch.found = []
            return _switch.found
        from importlib import metadata

        found = list(metadata.entry_points(group=GROUP))
        found.sort(key=lambda ep: (distribution(ep), ep.name))
        _switch.found = found
    return _switch.found


_UNREADABLE = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
"""What ``importlib.metadata`` takes for a distribution without the file."""


def _declared_nowhere() -> bool:
    """Whether no distribution that ``importlib.metadata`` would list can declare the group.

    True only when the distributions are found the plain way (every ``sys.path``
    entry a directory or missing, no other finder listing distributions) and
    no ``entry_points.txt`` among them names the group; then listing the group
    is empty, and neither ``importlib.metadata`` (``email`` and more) nor any
    distribution's metadata is loaded. Anything else (a zip or egg on the path,
    a file that is not UTF-8) is left to ``importlib.metadata``.
    """
    import sys
    from importlib.machinery import PathFinder

    if any(finder is not PathFinder and hasattr(finder, "find_distributions")
           for finder in sys.meta_path):
        return False
    group = GROUP.encode()
    for entry in sys.path:
        directories = _metadata_directories(entry)
        if directories is None:
            return False
        for directory in directories:
            try:
                with open(os.path.join(directory, "entry_points.txt"), "rb") as handle:
                    data = handle.read()
            except _UNREADABLE:
                continue
            except OSError:
                return False
            if group in data:
                return False
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


def _metadata_directories(entry: str) -> list[str] | None:
    """The ``*.dist-info`` and ``*.egg-info`` paths directly in a ``sys.path`` entry, sorted
    (none when it is missing); None when it is not a plain directory (a zip, an egg)."""
    if not isinstance(entry, str):
        return None
    root = entry or "."
    if root.lower().endswith(".egg"):
        return None
    try:
        with os.scandir(root) as found:
            return sorted(e.path for e in found
                          if e.name.lower().endswith((".dist-info", ".egg-info")))
    except (FileNotFoundError, PermissionError):
        return []
    except OSError:
        return None


def distribution(entry_point: metadata.EntryPoint) -> str:
    """``"name version"`` of the distribution that declares the entry point."""
    dist = entry_point.dist
    if dist is None:
        return "unknown"
    try:
        name = dist.metadata["Name"] or "unknown"
    except Exception:  # no METADATA, or a key error on 3.12+
        name = "unknown"
    try:
        version = dist.version or "?"
    except Exception:
        version = "?"
    return f"{name} {version}"


def fingerprint(store: Store | None = None) -> list[str] | None:
    """What the result of a command that loads plugins depends on, without loading them.

    Per entry point: its name and target, its distribution and version, the
    content of that distribution's ``entry_points.txt`` and ``METADATA``, and
    the source of the top-level package it lives in (found, not imported).
    ``[]`` when discovery is off; None when the entry points cannot be
    listed, so that nothing is cached while discovery reports a problem.
    """
    if not plugins_enabled():
        return []
    from importlib.util import find_spec
    from pathlib import Path

    from optcompare.cache import tree_digest

    try:
        listing = _listing(store)
    except Exception:
        return None
    parts: list[str] = []
    for name, value, origin, metadata in listing:
        top = value.split(":", 1)[0].strip().split(".", 1)[0]
        try:
            spec = find_spec(top) if top else None
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            source = "not found"
        elif spec.submodule_search_locations:
            source = tree_digest(Path(p) for p in spec.submodule_search_locations)
        else:
            source = tree_digest([Path(spec.origin)]) if spec.origin else "no origin"
        parts += [name, value, origin, _metadata_digest(metadata), source]
    return parts


METADATA_FILES = ("entry_points.txt", "METADATA", "PKG-INFO")
"""The files of a distribution's metadata directory that say what it declares."""

_METADATA_LIMIT = 1 << 20


def _metadata_digest(directory: str) -> str:
    """The sha256 of the metadata files a listed entry point comes from, read now."""
    from pathlib import Path

    from optcompare import cache
    from optcompare.errors import InputError
    from optcompare.inputs import read_bytes

    if not directory:
        return "no metadata directory"
    parts = []
    for name in METADATA_FILES:
        try:
            data = read_bytes(Path(directory) / name, _METADATA_LIMIT)
        except InputError:
            parts.append(f"{name}: unreadable")
            continue
        parts.append(f"{name}: {cache.key(data.decode('utf-8', 'surrogateescape'))}")
    return cache.key(*parts)


def _metadata_stamps(entry: str) -> list[str]:
    """When each distribution's metadata files under one ``sys.path`` entry last changed.

    An edit in place changes no directory's time, but it changes the
    file's: a distribution that gains (or loses) an entry point is seen.
    """
    stamps = []
    for directory in _metadata_directories(entry) or ():
        for name in METADATA_FILES:
            try:
                info = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            stamps.append(f"{directory}/{name}={info.st_mtime_ns}:{info.st_size}:{info.st_ino}")
    return stamps


def _listing(store: Store | None) -> list[tuple[str, str, str, str]]:
    """``(name, value, distribution, metadata directory)`` per entry point, kept in ``store``.

    Listing entry points reads the metadata of every installed distribution.
    A stored listing is keyed by the modification time of every ``sys.path``
    entry (installing, upgrading or removing a distribution adds or removes
    its metadata directory there; the import system's own directory caches
    rely on the same) and of every distribution's metadata files there (an
    ``entry_points.txt`` or ``METADATA`` edited in place).
    """
    import sys

    from optcompare import cache

    stamps = []
    for entry in sys.path:
        try:
            stamps.append(f"{entry}={os.stat(entry or '.').st_mtime_ns}")
        except OSError:
            stamps.append(f"{entry}=missing")
        stamps += _metadata_stamps(entry)
    entry = cache.key("entry points 2", GROUP, sys.version, *stamps)
    stored = store.get(entry) if store is not None else None
    if stored is not None:
        return [(fields[0], fields[1], fields[2], fields[3]) for fields in
                (line.split("\t") for line in stored.splitlines()) if len(fields) == 4]
    listing = [(ep.name, ep.value, distribution(ep), _metadata_directory(ep))
               for ep in entry_points()]
    lines = ["\t".join(fields) for fields in listing]
    if store is not None and all(line.count("\t") == 3 and "\n" not in line for line in lines):
        store.put(entry, "".join(line + "\n" for line in lines))
    return listing


def _metadata_directory(entry_point: metadata.EntryPoint) -> str:
    """The ``*.dist-info`` (or ``*.egg-info``) directory that declares the entry point."""
    path = getattr(entry_point.dist, "_path", None)  # a PathDistribution's; no public name
    return str(path) if path is not None else ""
