"""The driver catalogue: which protocol drivers exist and their class per release.

Classes follow reference section 3 ("driver classes per release") as
corrected by the source audit of section 9. A driver's class says what it
does with ``read-only=off,auto-read-only=on`` when it cannot write: ignore it
(hard), degrade once at open (fallback), reopen on demand (dynamic),
host_cdrom's own quirk (sticky), or, in 3.0, switch itself to read-only
whatever the options say (self-read-only, with a deprecation warning).

Every fact carries where QEMU's source shows it: ``file:line@tag`` (paths
under ``block/`` unless given) or a commit. A refusal text is kept per era:
the release whose wording a policy speaks picks the text (see
:meth:`Driver.refusal_in`).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from enum import StrEnum

from optcompare.frozen import frozen
from optcompare.model import messages
from optcompare.model.modes import Behaviour

RELEASES = ("3.0", "3.1", "4.0", "4.1")


class Platform(StrEnum):
    POSIX = "posix"
    WINDOWS = "windows"


def era_key(era: str) -> tuple[int, int]:
    """``"4.1"``, ``"7.2"``, ``"5.2+"`` -> (major, minor), for ordering eras."""
    major, minor = era.rstrip("+").split(".")[:2]
    return int(major), int(minor)


@frozen
class Refusal:
    """QEMU's message for a read/write open the driver cannot honour, from ``since`` on."""

    since: str
    text: str | None
    """None: this driver never refuses an open (null-co, nvme, and 3.0's self-read-only)."""
    source: str


@frozen
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
    refusal: str | None
    """The message for read/write with auto-read-only=off when it cannot write, in the
    wording of the build's era; None when the open never fails."""
    local: bool = False
    """The image lives on this host: its label is an SELinux label, and a
    refused open for writing is an access denial in the audit log."""
    writes: bool = True
    """False for drivers that never write (curl, bochs, ...)."""
    posix_only: bool = False
    format: bool = False
    """A format driver (qcow2, bochs, ...): -drive names it 'Block format'."""
    blockdev: bool = True
    """It is a ``BlockdevDriver`` (False: iser, reachable only through -drive)."""
    refuses: bool = True
    """False where an open for writing never fails (null-co, nvme)."""
    refusals: tuple[Refusal, ...] = ()
    """Every era's refusal, oldest first, each with its source."""
    class_source: str = ""
    """Where the source shows the class this release gives it."""
    sources: tuple[tuple[str, str], ...] = ()
    """Other facts of the catalogue: (fact, where)."""
    reopen_since: str = "3.0"
    """The first release whose driver takes a reopen (it has ``bdrv_reopen_prepare``);
    before it block.c refuses every reopen of its nodes, explicit or inherited."""

    def reopens_in(self, era: str) -> bool:
        """Whether a reopen of this driver's nodes can succeed in release ``era``."""
        return era_key(era) >= era_key(self.reopen_since)

    def refusal_for(self, path: str) -> str:
        return (self.refusal or "").replace(messages.PATH, path)

    def refusal_in(self, era: str) -> Refusal | None:
        """The refusal the driver has in release ``era`` (the latest one not after it)."""
        found = None
        for refusal in self.refusals:
            if era_key(refusal.since) <= era_key(era):
                found = refusal
        return found

    def in_era(self, era: str) -> Driver:
        """The driver speaking ``era``'s wording."""
        refusal = self.refusal_in(era)
        return replace(self, refusal=refusal.text if refusal else None)


_FILE_POSIX = "file-posix.c"
_FILE_REFUSAL = (
    Refusal("3.0", messages.permission_denied(messages.PATH), "file-posix.c:532 @v3.0.0"),
    Refusal("3.1", messages.permission_denied(messages.PATH), "file-posix.c:545 @v3.1.0"),
    Refusal("4.0", messages.permission_denied(messages.PATH), "file-posix.c:548 @v4.0.0"),
    Refusal("4.1", messages.permission_denied(messages.PATH), "file-posix.c:550 @v4.1.0"),
)
_NODE_READ_ONLY = (Refusal("3.0", messages.NODE_READ_ONLY, "block.c:1828 @v4.1.0 (permission "
                           "check: a read-write parent on a read-only child)"),)
_CURL = (
    Refusal("3.0", "curl block device does not support writes", "curl.c:686 @v3.0.0"),
    Refusal("3.1", "curl driver does not support writes", "curl.c:687 @v3.1.0"),
)
_ISCSI = (
    Refusal("3.0", "Cannot open a write protected LUN as read-write", "iscsi.c:1879 @v3.0.0"),
    Refusal("3.1", "LUN is write protected", "iscsi.c:1881 @v3.1.0, 1913 @v4.0.0"),
)
_GLUSTER = (
    Refusal("3.0", messages.permission_denied(messages.PATH),
            "gluster.c:857 passes no error, so block.c:1254 @v3.1.0 says it"),
    Refusal("7.2", "Could not open image: Permission denied",
            "QEMU 7.2, measured (reference section 9): no filename on a -blockdev node"),
)
NBD_REOPEN_SINCE = "4.2"
"""nbd.c got ``.bdrv_reopen_prepare`` in 4.2 ("nbd: add empty .bdrv_reopen_prepare",
Maxim Levitsky, block pull of 2019-10-10, for a commit onto an nbd export)."""

_IMAGE_READ_ONLY_31 = "block.c:302 @v3.1.0 (bdrv_apply_auto_read_only, no message given)"


def _self_ro(since_30: str, since_31: str, text: str = messages.IMAGE_READ_ONLY
             ) -> tuple[Refusal, ...]:
    """3.0 switched the node to read-only itself (no error); 3.1 fails without auto."""
    return (Refusal("3.0", None, since_30), Refusal("3.1", text, since_31))


def _d(name: str, source: str, struct: str, cannot_write: str,
       refusals: tuple[Refusal, ...], *, local: bool = False, writes: bool = True,
       posix_only: bool = False, format: bool = False, blockdev: bool = True,
       refuses: bool = True, reopen_since: str = "3.0") -> Driver:
    return Driver(name, Behaviour.HARD, source, struct, cannot_write, None, local=local,
                  writes=writes, posix_only=posix_only, format=format, blockdev=blockdev,
                  refuses=refuses, refusals=refusals, reopen_since=reopen_since)


# Every driver of the catalogue, in the order tables list them.
_DRIVERS: tuple[Driver, ...] = (
    _d("file", _FILE_POSIX, "BlockdevOptionsFile", "image not writable (label)", _FILE_REFUSAL,
       local=True),
    _d("host_device", _FILE_POSIX, "BlockdevOptionsFile", "device not writable (label)",
       _FILE_REFUSAL, local=True),
    _d("host_cdrom", _FILE_POSIX, "BlockdevOptionsFile", "medium not writable", _FILE_REFUSAL,
       local=True, posix_only=True),
    _d("gluster", "gluster.c", "BlockdevOptionsGluster", "volume not writable", _GLUSTER,
       posix_only=True),
    _d("iscsi", "iscsi.c", "BlockdevOptionsIscsi", "LUN write protected", _ISCSI,
       posix_only=True),
    _d("iser", "iscsi.c", "BlockdevOptionsIscsi", "LUN write protected", _ISCSI,
       posix_only=True, blockdev=False),
    _d("nbd", "nbd.c", "BlockdevOptionsNbd", "export is read-only", (
        Refusal("3.0", "request for write access conflicts with read-only export",
                "nbd-client.c:995 @v3.0.0"),
        Refusal("3.1", "NBD export is read-only",
                "nbd-client.c:1002 @v3.1.0, 1163 @v4.0.0; nbd.c:1214 @v4.1.0"),
        Refusal("7.2", "Could not open image: Permission denied",
                "QEMU 7.2, measured (reference section 4): the NBD text is lost"),
    ), reopen_since=NBD_REOPEN_SINCE),
    _d("rbd", "rbd.c", "BlockdevOptionsRbd", "opened at a snapshot",
       _self_ro("rbd.c:726 @v3.0.0", "rbd.c:783 @v3.1.0", "rbd snapshots are read-only"),
       posix_only=True),
    _d("http", "curl.c", "BlockdevOptionsCurlHttp", "always (no write support)", _CURL,
       writes=False),
    _d("https", "curl.c", "BlockdevOptionsCurlHttps", "always (no write support)", _CURL,
       writes=False),
    _d("ftp", "curl.c", "BlockdevOptionsCurlFtp", "always (no write support)", _CURL,
       writes=False),
    _d("ftps", "curl.c", "BlockdevOptionsCurlFtps", "always (no write support)", _CURL,
       writes=False),
    _d("bochs", "bochs.c", "BlockdevOptionsGenericFormat", "always (read-only format)",
       _self_ro("bochs.c:119 @v3.0.0", "bochs.c:109 @v3.1.0; " + _IMAGE_READ_ONLY_31),
       writes=False, format=True),
    _d("cloop", "cloop.c", "BlockdevOptionsGenericFormat", "always (read-only format)",
       _self_ro("cloop.c:81 @v3.0.0", "cloop.c:70 @v3.1.0; " + _IMAGE_READ_ONLY_31),
       writes=False, format=True),
    _d("dmg", "dmg.c", "BlockdevOptionsGenericFormat", "always (read-only format)",
       _self_ro("dmg.c:427 @v3.0.0", "dmg.c:416 @v3.1.0; " + _IMAGE_READ_ONLY_31),
       writes=False, format=True),
    _d("vvfat", "vvfat.c", "BlockdevOptionsVVFAT", "rw option off",
       _self_ro("vvfat.c:1271 @v3.0.0", "vvfat.c:1262 @v3.1.0; " + _IMAGE_READ_ONLY_31)),
    _d("vmdk", "vmdk.c", "BlockdevOptionsGenericCOWFormat", "only seSparse extents", (
        Refusal("3.0", "No write support for seSparse images available",
                "vmdk.c:756 @v4.1.0 (seSparse came with 4.1)"),
    ), format=True),
    _d("ssh", "ssh.c", "BlockdevOptionsSsh", "remote file not writable", (
        Refusal("3.0", "failed to open remote file '<path>'", "ssh.c:718 @v4.0.0, 812 @v4.1.0"),
        Refusal("7.2", "failed to open remote file '<path>': SFTP server: Permission denied "
                "(libssh error code: 1, sftp error code: 3)",
                "QEMU 7.2, measured (reference section 10)"),
    )),
    _d("nfs", "nfs.c", "BlockdevOptionsNfs", "export not writable", (
        Refusal("3.0", "Failed to open file : <reason>", "nfs.c:530 @v4.1.0 (libnfs' reason)"),
    ), posix_only=True),
    _d("nvme", "nvme.c", "BlockdevOptionsNVMe", "never (no write-protect check)", (
        Refusal("3.0", None, "nvme.c @v4.1.0 has no read-only check at open"),
    ), posix_only=True, refuses=False),
    _d("null-co", "null.c", "BlockdevOptionsNull", "never", (
        Refusal("3.0", None, "null.c @v4.1.0: the open cannot fail for writing"),
    ), refuses=False),
    _d("qcow2", "qcow2.c", "BlockdevOptionsQcow2", "its file child not writable",
       _NODE_READ_ONLY, format=True),
    _d("raw", "raw-format.c", "BlockdevOptionsRaw", "its file child not writable",
       _NODE_READ_ONLY, format=True),
)

DRIVER_NAMES: tuple[str, ...] = tuple(d.name for d in _DRIVERS)

_H, _F, _D, _S, _R = (Behaviour.HARD, Behaviour.FALLBACK, Behaviour.DYNAMIC, Behaviour.STICKY,
                      Behaviour.SELF_READ_ONLY)

_HARD_30 = "no auto-read-only before 3.1 (commit e35bdc123a)"
_HARD = "no bdrv_apply_auto_read_only() call @v{tag}: auto-read-only has no effect"

# Classes that differ from "hard", per release, each with where the source shows it.
_CLASSES: dict[str, dict[str, tuple[Behaviour, str]]] = {
    "3.0": {
        "bochs": (_R, "bochs.c:114-119 @v3.0.0"),
        "cloop": (_R, "cloop.c:76-81 @v3.0.0"),
        "dmg": (_R, "dmg.c:422-427 @v3.0.0"),
        "vvfat": (_R, "vvfat.c:1265-1271 @v3.0.0"),
        "rbd": (_R, "rbd.c:720-726 @v3.0.0"),
    },
    "3.1": {
        "file": (_F, "file-posix.c:535 @v3.1.0 (commit eaa2410f1e)"),
        "host_device": (_F, "file-posix.c:535 @v3.1.0"),
        "host_cdrom": (_F, "file-posix.c:535 @v3.1.0"),
        "gluster": (_F, "gluster.c:857 @v3.1.0"),
        "iscsi": (_F, "iscsi.c:1881 @v3.1.0"),
        "iser": (_F, "iscsi.c:1881 @v3.1.0"),
        "nbd": (_F, "nbd-client.c:1002 @v3.1.0"),
        "rbd": (_F, "rbd.c:783 @v3.1.0"),
        "http": (_F, "curl.c:687 @v3.1.0"),
        "https": (_F, "curl.c:687 @v3.1.0"),
        "ftp": (_F, "curl.c:687 @v3.1.0"),
        "ftps": (_F, "curl.c:687 @v3.1.0"),
        "bochs": (_F, "bochs.c:109 @v3.1.0"),
        "cloop": (_F, "cloop.c:70 @v3.1.0"),
        "dmg": (_F, "dmg.c:416 @v3.1.0"),
        "vvfat": (_F, "vvfat.c:1262 @v3.1.0"),
    },
}
_CLASSES["4.0"] = {
    **_CLASSES["3.1"],
    "file": (_D, "file-posix.c:389 @v4.0.0 (commit 23dece19da)"),
    "host_device": (_D, "file-posix.c:389 @v4.0.0"),
    "host_cdrom": (_S, "file-posix.c:3476-3515, 967 @v4.0.0: no permission hook, a reopen "
                       "hook"),
    "gluster": (_F, "gluster.c:872 @v4.0.0"),
    "iscsi": (_F, "iscsi.c:1913 @v4.0.0"),
    "iser": (_F, "iscsi.c:1913 @v4.0.0"),
    "nbd": (_F, "nbd-client.c:1163 @v4.0.0"),
    "dmg": (_F, "dmg.c:438 @v4.0.0"),
    "http": (_F, "curl.c:677 @v4.0.0"),
    "https": (_F, "curl.c:677 @v4.0.0"),
    "ftp": (_F, "curl.c:677 @v4.0.0"),
    "ftps": (_F, "curl.c:677 @v4.0.0"),
}
_CLASSES["4.1"] = {
    **_CLASSES["4.0"],
    "file": (_D, "file-posix.c:391 @v4.1.0"),
    "host_device": (_D, "file-posix.c:391 @v4.1.0"),
    "host_cdrom": (_S, "file-posix.c @v4.1.0, as in 4.0"),
    "gluster": (_F, "gluster.c:880 @v4.1.0"),
    "iscsi": (_F, "iscsi.c:1914 @v4.1.0"),
    "iser": (_F, "iscsi.c:1914 @v4.1.0"),
    "nbd": (_F, "nbd.c:1214 @v4.1.0"),
    "rbd": (_F, "rbd.c:793 @v4.1.0"),
    "bochs": (_F, "bochs.c:108 @v4.1.0"),
    "cloop": (_F, "cloop.c:69 @v4.1.0"),
    "dmg": (_F, "dmg.c:437 @v4.1.0"),
    "vvfat": (_F, "vvfat.c:1263 @v4.1.0"),
    "http": (_F, "curl.c:678 @v4.1.0"),
    "https": (_F, "curl.c:678 @v4.1.0"),
    "ftp": (_F, "curl.c:678 @v4.1.0"),
    "ftps": (_F, "curl.c:678 @v4.1.0"),
    "vmdk": (_F, "vmdk.c:756 @v4.1.0"),
}

_OTHER_SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "nbd": ((f"no reopen before {NBD_REOPEN_SINCE}: block.c refuses it (does not support "
             "reopening files); from 4.2 a reopen read/write is refused when the export "
             "was read-only at connect, which the model does not keep",
             "block.c bdrv_reopen_prepare() @v4.1.0 (nbd.c has no .bdrv_reopen_prepare); "
             "nbd.c nbd_client_reopen_prepare() from 4.2"),),
    "iser": (("not a BlockdevDriver: only an iscsi transport, through -drive (iser:// URL)",
              "qapi/block-core.json:2618 @v3.1.0"),),
    "host_cdrom": (("a guest write through a read-only descriptor fails at I/O time",
                    "file-posix.c:967 @v4.0.0"),),
    "file": (("kept the read/write descriptor after the last writer until 4.1",
              "file-posix.c:2802, 899 @v4.0.0; fixed by 094e363944"),),
}


def catalogue(release: str, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
    """The drivers of a release on a platform, by name, in table order (a new dict).

    Each speaks its release's wording. On Windows ``file`` and ``host_device``
    come from file-win32.c and are hard whatever the release; POSIX-only
    drivers are missing.
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
        tag = f"v{release}.0"
        behaviour, where = classes.get(
            driver.name, (_H, _HARD_30 if release == "3.0" else _HARD.format(tag=tag)))
        source = driver.source
        if platform is Platform.WINDOWS and driver.source == _FILE_POSIX:
            behaviour, source, where = _H, "file-win32.c", f"file-win32.c @{tag}: no auto-read-only"
        result[driver.name] = replace(
            driver.in_era(release), behaviour=behaviour, source=source, class_source=where,
            sources=_OTHER_SOURCES.get(driver.name, ()),
        )
    return result
