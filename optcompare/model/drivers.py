"""The driver catalogue: which protocol drivers exist and their class per release.

Classes follow reference section 3 ("driver classes per release"). A driver's
class says what it does with ``read-only=off,auto-read-only=on`` when it
cannot write: ignore it (hard), degrade once at open (fallback), reopen on
demand (dynamic), or host_cdrom's own quirk (sticky).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from enum import StrEnum

from optcompare.model import messages
from optcompare.model.modes import Behaviour

RELEASES = ("3.0", "3.1", "4.0", "4.1")


class Platform(StrEnum):
    POSIX = "posix"
    WINDOWS = "windows"


@dataclass(frozen=True)
class Driver:
    """One block driver as a build has it."""

    name: str
    behaviour: Behaviour
    source: str
    """The QEMU source file that implements it (file-posix.c, curl.c, ...)."""
    struct: str
    """Its QAPI options struct; drivers sharing one share their schema."""
    cannot_write: str
    """When it cannot write (reference section 3)."""
    refusal: str
    """QEMU's message for read/write with auto-read-only=off when it cannot write."""
    local: bool = False
    """The image lives on this host: its label is an SELinux label, and a
    refused open for writing is an access denial in the audit log."""
    writes: bool = True
    """False for drivers that never write (curl, bochs, ...)."""
    posix_only: bool = False

    def refusal_for(self, path: str) -> str:
        return self.refusal.replace(messages.PATH, path)


_FILE_REFUSAL = messages.permission_denied(messages.PATH)
_FILE_POSIX = "file-posix.c"


def _d(
    name: str,
    source: str,
    struct: str,
    cannot_write: str,
    refusal: str = messages.IMAGE_READ_ONLY,
    **flags: bool,
) -> Driver:
    return Driver(name, Behaviour.HARD, source, struct, cannot_write, refusal, **flags)


# Every driver of the catalogue, in the order tables list them.
_DRIVERS: tuple[Driver, ...] = (
    _d("file", _FILE_POSIX, "BlockdevOptionsFile", "image not writable (label)", _FILE_REFUSAL,
       local=True),
    _d("host_device", _FILE_POSIX, "BlockdevOptionsFile", "device not writable (label)",
       _FILE_REFUSAL, local=True),
    _d("host_cdrom", _FILE_POSIX, "BlockdevOptionsFile", "medium not writable", _FILE_REFUSAL,
       local=True, posix_only=True),
    _d("gluster", "gluster.c", "BlockdevOptionsGluster", "volume not writable", posix_only=True),
    _d("iscsi", "iscsi.c", "BlockdevOptionsIscsi", "LUN write protected", "LUN is write protected",
       posix_only=True),
    _d("iser", "iscsi.c", "BlockdevOptionsIscsi", "LUN write protected", "LUN is write protected",
       posix_only=True),
    _d("nbd", "nbd.c", "BlockdevOptionsNbd", "export is read-only", "NBD export is read-only"),
    _d("rbd", "rbd.c", "BlockdevOptionsRbd", "opened at a snapshot", "rbd snapshots are read-only",
       posix_only=True),
    _d("http", "curl.c", "BlockdevOptionsCurlHttp", "always (no write support)",
       "curl driver does not support writes", writes=False),
    _d("https", "curl.c", "BlockdevOptionsCurlHttps", "always (no write support)",
       "curl driver does not support writes", writes=False),
    _d("ftp", "curl.c", "BlockdevOptionsCurlFtp", "always (no write support)",
       "curl driver does not support writes", writes=False),
    _d("ftps", "curl.c", "BlockdevOptionsCurlFtps", "always (no write support)",
       "curl driver does not support writes", writes=False),
    _d("bochs", "bochs.c", "BlockdevOptionsGenericFormat", "always (read-only format)",
       writes=False),
    _d("cloop", "cloop.c", "BlockdevOptionsGenericFormat", "always (read-only format)",
       writes=False),
    _d("dmg", "dmg.c", "BlockdevOptionsGenericFormat", "always (read-only format)", writes=False),
    _d("vvfat", "vvfat.c", "BlockdevOptionsVVFAT", "rw option off"),
    _d("vmdk", "vmdk.c", "BlockdevOptionsGenericCOWFormat", "only seSparse extents",
       "No write support for seSparse images available"),
    _d("ssh", "ssh.c", "BlockdevOptionsSsh", "remote file not writable"),
    _d("nfs", "nfs.c", "BlockdevOptionsNfs", "export not writable", posix_only=True),
    _d("nvme", "nvme.c", "BlockdevOptionsNVMe", "namespace not writable", posix_only=True),
    _d("null-co", "null.c", "BlockdevOptionsNull", "never"),
    _d("qcow2", "qcow2.c", "BlockdevOptionsQcow2", "its file child not writable"),
    _d("raw", "raw-format.c", "BlockdevOptionsRaw", "its file child not writable"),
)

DRIVER_NAMES: tuple[str, ...] = tuple(d.name for d in _DRIVERS)

_H, _F, _D, _S = Behaviour.HARD, Behaviour.FALLBACK, Behaviour.DYNAMIC, Behaviour.STICKY

# Classes that differ from "hard", per release (3.0 has no auto-read-only).
_CLASSES: dict[str, dict[str, Behaviour]] = {
    "3.0": {},
    "3.1": {
        "file": _F, "host_device": _F, "host_cdrom": _F, "gluster": _F, "iscsi": _F,
        "iser": _F, "nbd": _F, "rbd": _F, "http": _F, "https": _F, "ftp": _F, "ftps": _F,
        "bochs": _F, "cloop": _F, "dmg": _F, "vvfat": _F,
    },
}
_CLASSES["4.0"] = {**_CLASSES["3.1"], "file": _D, "host_device": _D, "host_cdrom": _S}
_CLASSES["4.1"] = {**_CLASSES["4.0"], "vmdk": _F}


def catalogue(release: str, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
    """The drivers of a release on a platform, by name, in table order (a new dict).

    On Windows ``file`` and ``host_device`` come from file-win32.c and are
    hard whatever the release; POSIX-only drivers are missing.
    """
    return dict(_catalogue(release, platform))


@functools.lru_cache(maxsize=64)
def _catalogue(release: str, platform: Platform) -> dict[str, Driver]:
    if release not in _CLASSES:
        raise KeyError(release)
    classes = _CLASSES[release]
    result: dict[str, Driver] = {}
    for driver in _DRIVERS:
        if platform is Platform.WINDOWS and driver.posix_only:
            continue
        behaviour = classes.get(driver.name, _H)
        source = driver.source
        if platform is Platform.WINDOWS and driver.source == _FILE_POSIX:
            behaviour, source = _H, "file-win32.c"
        result[driver.name] = replace(driver, behaviour=behaviour, source=source)
    return result
