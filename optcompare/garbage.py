"""Cyclic garbage collection, held off while a command runs.

The analyses make a great many short-lived objects (steps, records, cells)
and next to no reference cycles, the only garbage reference counting leaves:
an automatic collection walks every object still alive and finds nothing to
free. So the command line switches the collector off while a command runs
(the child a report forks inherits that) and back on after; the console
script (:mod:`optcompare.console`) has it off from its first import on.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """No automatic collection inside the block; the collector's state as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
