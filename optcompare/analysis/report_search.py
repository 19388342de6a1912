"""The report's search: ``explore`` on the report's policies, to the report's depth.

It is the report's longest analysis and needs nothing but the policies, so
the report command starts it (beside the rest, where the machine allows)
before it imports the other analyses or reads the scenario files. This
module imports only what starting it takes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.parallel import Beside

if TYPE_CHECKING:
    from optcompare.analysis.explore import Exploration
    from optcompare.policies.base import Policy

SEARCH_DEPTH = 3
"""Every workflow of up to 3 steps (``explore`` defaults to 5; 3 keeps the report's
first run within a second)."""


def explore_all(policies: Sequence[Policy]) -> Exploration:
    """``explore`` on the report's policies, to the report's depth."""
    from optcompare.analysis import explore

    return explore.explore(policies, explore.Bounds(depth=SEARCH_DEPTH), explore.Context(),
                           pairs=False)


def begin(policies: Sequence[Policy], *, parallel: bool | None = None) -> Beside[Exploration]:
    """The search, started now beside the caller when the machine allows (``parallel``:
    force it on or off); the same result either way."""
    return Beside(functools.partial(explore_all, policies), parallel=parallel)
