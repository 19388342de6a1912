"""What the report computes from the policies alone: the search, and each signal's
visibility.

Together they are about half of the report's work and need neither the
scenario files nor the other analyses, so the report command starts them
(beside the rest, where the machine allows) before it imports the other
analyses or reads the scenario files. The visibility is shared: each side
takes policies from it once its own work is done. This module imports only
what starting them takes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.frozen import frozen
from optcompare.parallel import Beside, Shared, available

if TYPE_CHECKING:
    from optcompare.analysis.explore import Exploration
    from optcompare.analysis.visibility import PolicyVisibility
    from optcompare.policies.base import Policy

SEARCH_DEPTH = 3
"""Every workflow of up to 3 steps (``explore`` defaults to 5; 3 keeps the report's
first run within a second)."""


@frozen
class FromPolicies:
    """The search and every policy's visibility, as the report takes them."""

    search: Exploration
    visibility: tuple[PolicyVisibility, ...]
    """One per policy, in the policies' order."""


def explore_all(policies: Sequence[Policy]) -> Exploration:
    """``explore`` on the report's policies, to the report's depth."""
    from optcompare.analysis import explore

    return explore.explore(policies, explore.Bounds(depth=SEARCH_DEPTH), explore.Context(),
                           pairs=False)


def _visibility(policy: Policy) -> PolicyVisibility:
    from optcompare.analysis import visibility

    return visibility.analyse(policy)


def _search_then_share(policies: Sequence[Policy], shared: Shared[PolicyVisibility]
                       ) -> tuple[Exploration, dict[int, PolicyVisibility]]:
    return explore_all(policies), shared.take()


class Started:
    """The search, started beside the caller; the signals' visibility, one policy at a
    time, on whichever side is free first (the child once its search is done, the
    caller once it asks for the result)."""

    def __init__(self, policies: Sequence[Policy], parallel: bool) -> None:
        self._shared = Shared([functools.partial(_visibility, p) for p in policies],
                              parallel=parallel)
        self._search = Beside(functools.partial(_search_then_share, policies, self._shared),
                              parallel=parallel)

    def result(self) -> FromPolicies:
        mine = self._shared.take()
        search, theirs = self._search.result()
        return FromPolicies(search, self._shared.complete(theirs, mine))

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        self._search.stop()
        self._shared.close()


def begin(policies: Sequence[Policy], *, parallel: bool | None = None) -> Started:
    """Both, started now beside the caller when the machine allows (``parallel``: force
    it on or off); the same result either way."""
    return Started(policies, parallel if parallel is not None else available())
