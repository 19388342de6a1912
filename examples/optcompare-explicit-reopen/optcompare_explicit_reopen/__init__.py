"""An example optcompare plugin: the policy ``explicit-reopen-6.1``.

Peter Krempa's "hands-on approach" (libvirt tells QEMU to reopen given
nodes) is a built-in policy, ``explicit-reopen``, on a 4.0 build whose
reopen command is still ``x-blockdev-reopen``. This package adds the same
approach as a third party would: on a build reporting 6.1, the release that
made the command stable. It reuses the built-in's class and settings; a
plugin may equally subclass :class:`optcompare.policies.base.Policy`.

It registers itself in ``pyproject.toml``::

    [project.entry-points."optcompare.policies"]
    "explicit-reopen-6.1" = "optcompare_explicit_reopen:POLICY"
"""

from __future__ import annotations

from dataclasses import replace

from optcompare.policies.explicit_reopen import (
    REOPEN_COMMANDS,
    ExplicitReopen,
    ReopenDetection,
    make,
)

__all__ = ["POLICY", "REOPEN_COMMANDS", "ExplicitReopen", "ReopenDetection", "make"]

POLICY = replace(
    make(version="6.1.0"),
    name="explicit-reopen-6.1",
    title="hands-on, as a plugin: libvirt reopens given nodes, on a 6.1 build",
)
