"""Finished results, kept under a key made of everything that decides them.

The report replays about a thousand workflows. Its output is a pure
function of the optcompare source, the source of every installed plugin,
the scenario files, the command's options and the renderer versions (the
same inputs give byte-identical output), so a result is stored under the
sha256 of all of those and served again until one of them changes. A
change of any byte is a new key, hence a fresh replay: nothing is ever
served that the current code on the current inputs would not compute.

Entries are plain files in ``$OPTCOMPARE_CACHE_DIR``, else
``$XDG_CACHE_HOME/optcompare``, else ``~/.cache/optcompare``. Each starts
with a header line holding the sha256 of its body; an entry that does not
match is dropped and recomputed. ``OPTCOMPARE_NO_CACHE=1`` (or a command's
``--no-cache``) turns the store off. A store that cannot be read or
written is silently treated as empty: the cache can make a command faster,
never make it fail.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import hashlib

ENV_DIR = "OPTCOMPARE_CACHE_DIR"
ENV_NO_CACHE = "OPTCOMPARE_NO_CACHE"
FORMAT = "optcompare-cache 1"
"""First word of every entry's header; bump it when the entry layout changes."""
MAX_ENTRIES = 64
"""Entries kept; the least recently used go first."""
ENTRY_LIMIT = 64 << 20
"""Bytes of one entry; a larger file at an entry's path is not one of ours."""

_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def default_directory() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    if os.environ.get(ENV_NO_CACHE, "").strip().lower() not in _FALSE_WORDS:
        return None
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "optcompare"


def _sha256(data: bytes = b"") -> hashlib._Hash:
    # Imported here: loading OpenSSL is a cost a command that keeps nothing need not pay.
    import hashlib

    return hashlib.sha256(data)


def key(*parts: str) -> str:
    """One sha256 over the parts, each length-prefixed so that no two lists collide."""
    digest = _sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogateescape")
        digest.update(f"{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def file_digest(path: Path, limit: int) -> str:
    """The sha256 of a regular file of at most ``limit`` bytes (else an InputError)."""
    from optcompare.inputs import read_bytes

    return _sha256(read_bytes(path, limit)).hexdigest()


def tree_digest(roots: Iterable[Path], suffix: str = ".py") -> str:
    """The sha256 of every file ending in ``suffix`` below ``roots``, with its path."""
    digest = _sha256()

    def add(name: str, path: str) -> None:
        with open(path, "rb") as handle:
            data = handle.read()
        label = name.encode("utf-8", "surrogateescape")
        digest.update(b"%d:%s%d:" % (len(label), label, len(data)))
        digest.update(data)

    for root in roots:
        if root.is_file():
            add(str(root), str(root))
            continue
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            for name in sorted(names):
                if name.endswith(suffix):
                    path = os.path.join(directory, name)
                    add(os.path.relpath(path, root), path)
    return digest.hexdigest()


@functools.cache
def source_digest() -> str:
    """The optcompare package's Python source, with the interpreter's version."""
    import optcompare

    roots = [Path(p) for p in optcompare.__path__]
    return key(optcompare.__version__, sys.version, tree_digest(roots))


def _read_regular(path: Path) -> bytes | None:
    """The content of the regular file at ``path``; None for anything else.

    A symlink, FIFO, device or directory at an entry's path is skipped:
    opened without following links and without blocking, then checked.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > ENTRY_LIMIT:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(ENTRY_LIMIT + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= ENTRY_LIMIT else None


def _regular_or_missing(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except FileNotFoundError:
        return True


class Store:
    """Entries in one directory; ``Store(None)`` keeps nothing."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @classmethod
    def default(cls, *, disabled: bool = False) -> Store:
        return cls(None if disabled else default_directory())

    def _path(self, entry: str) -> Path | None:
        return self.directory / f"{entry}.entry" if self.directory is not None else None

    def get(self, entry: str) -> str | None:
        path = self._path(entry)
        if path is None:
            return None
        raw = _read_regular(path)
        if raw is None:
            return None
        header, _, body = raw.partition(b"\n")
        if header != f"{FORMAT} {_sha256(body).hexdigest()}".encode():
            path.unlink(missing_ok=True)
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        with contextlib.suppress(OSError):  # recently used: kept longest by _prune
            os.utime(path)
        return text

    def put(self, entry: str, text: str) -> None:
        path = self._path(entry)
        if path is None:
            return
        from optcompare.atomic import replace_atomic

        header = f"{FORMAT} {_sha256(text.encode('utf-8')).hexdigest()}\n"
        try:
            if not _regular_or_missing(path):
                return  # someone else's file (a FIFO, a link): leave it alone
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomic(path, header + text)
        except OSError:
            return
        self._prune()

    def _prune(self) -> None:
        assert self.directory is not None
        entries = []
        try:
            for path in self.directory.glob("*.entry"):
                info = path.lstat()
                if stat.S_ISREG(info.st_mode):  # anything else is not an entry of ours
                    entries.append((info.st_mtime_ns, path))
        except OSError:
            return
        entries.sort(reverse=True)
        for _, path in entries[MAX_ENTRIES:]:
            path.unlink(missing_ok=True)
