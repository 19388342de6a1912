"""What the shipped libvirt concludes about a build, beside what the schema lets a client learn.

The ideal clients (``Policy.detect``) are measured in
:mod:`optcompare.analysis.visibility`. The libvirt that shipped
(:mod:`optcompare.policies.libvirt`) asks one question about ``file`` and
applies the answer to every protocol, and picks one frontend for the whole
binary. For each build this records which frontend it picks, what it lacks
for ``-blockdev``, and, under ``-blockdev``, each protocol it treats as
dynamic whose mode (for the options it passes) is something else.
"""

from __future__ import annotations

from optcompare.frozen import frozen
from optcompare.model.modes import Mode
from optcompare.policies import libvirt
from optcompare.policies.base import Build, Frontend


@frozen
class Misread:
    """A protocol the shipped client takes for dynamic, and what it really gets."""

    driver: str
    mode: Mode
    error: str | None = None


@frozen
class ShippedConclusion:
    """What the shipped libvirt concludes about one build, and where it is wrong."""

    build: str
    frontend: Frontend
    missing: tuple[str, ...]
    treated_dynamic: tuple[str, ...]
    wrongly_dynamic: tuple[Misread, ...]
    """Protocols it treats as dynamic that are not, for the options it passes under -blockdev."""
    missed: tuple[str, ...]
    """Dynamic protocols it does not treat as dynamic."""
    rejected: tuple[str, ...] = ()
    """Protocols whose node options it passes (auto-read-only=true) the build rejects."""
    file_probe: bool = False
    """Its one probe holds: once the build has the rest of the gate, it is on -blockdev."""


def conclude(build: Build) -> ShippedConclusion:
    """The shipped libvirt on ``build`` (model): its decision and where it misreads."""
    from optcompare.schema.target import BuildTarget

    client = libvirt.CLIENT
    drivers = build.drivers
    detection = client.detect(BuildTarget(build), drivers)
    written = client.storage_options(backing=False, readonly=False)
    wrong: list[Misread] = []
    missed: list[str] = []
    rejected: list[str] = []
    for name in drivers:
        if name not in libvirt.PROTOCOLS:
            continue
        resolution = build.resolve(written, name, Frontend.BLOCKDEV)
        if resolution.mode is Mode.ERROR:
            rejected.append(name)
        dynamic = resolution.mode is Mode.DYNAMIC_RO
        if name in detection.dynamic and not dynamic:
            wrong.append(Misread(name, resolution.mode, resolution.error))
        elif dynamic and name not in detection.dynamic:
            missed.append(name)
    return ShippedConclusion(
        build=build.name,
        frontend=client.pick_frontend(detection, "file"),
        missing=detection.missing,
        treated_dynamic=tuple(d for d in drivers if d in detection.dynamic),
        wrongly_dynamic=tuple(wrong),
        missed=tuple(missed),
        rejected=tuple(rejected),
        file_probe=libvirt.FILE_CAPABILITY not in detection.missing,
    )
