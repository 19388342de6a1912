"""What the report computes from the policies alone: the search, and each signal's
visibility.

Together they are about half of the report's work and need neither the
scenario files nor the other analyses, so the report command starts them
(beside the rest, where the machine allows) before it imports the other
analyses or reads the scenario files. This module imports only what starting
them takes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from optcompare.parallel import Beside

if TYPE_CHECKING:
    from optcompare.analysis.explore import Exploration
    from optcompare.analysis.visibility import PolicyVisibility
    from optcompare.policies.base import Policy

SEARCH_DEPTH = 3
"""Every workflow of up to 3 steps (``explore`` defaults to 5; 3 keeps the report's
first run within a second)."""


@dataclass(frozen=True)
class FromPolicies:
    search: Exploration
    visibility: tuple[PolicyVisibility, ...]
    """One per policy, in the policies' order."""


def explore_all(policies: Sequence[Policy]) -> Exploration:
    """``explore`` on the report's policies, to the report's depth."""
    from optcompare.analysis import explore

    return explore.explore(policies, explore.Bounds(depth=SEARCH_DEPTH), explore.Context(),
                           pairs=False)


def analyse(policies: Sequence[Policy]) -> FromPolicies:
    from optcompare.analysis import visibility

    return FromPolicies(explore_all(policies), tuple(visibility.analyse(p) for p in policies))


def begin(policies: Sequence[Policy], *, parallel: bool | None = None
          ) -> Beside[FromPolicies]:
    """Both, started now beside the caller when the machine allows (``parallel``: force
    it on or off); the same result either way."""
    return Beside(functools.partial(analyse, policies), parallel=parallel)
