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
from optcompare.parallel import Ahead, Beside, Shared, Tokens, available

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


@frozen
class Searched:
    """What the child sends back: the search and the visibility it took, and the
    policies it computed them for."""

    policies: tuple[tuple[str, str], ...]
    """Each policy's name and origin (:func:`_named`)."""
    search: Exploration
    visibility: dict[int, PolicyVisibility]
    """By the policy's place in the list."""


def _named(policies: Sequence[Policy]) -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.origin) for p in policies)


def _tasks(policies: Sequence[Policy]) -> list[functools.partial[PolicyVisibility]]:
    return [functools.partial(_visibility, p) for p in policies]


def _search_then_share(policies: Sequence[Policy], shared: Shared[PolicyVisibility]
                       ) -> Searched:
    return Searched(_named(policies), explore_all(policies), shared.take())


class Started:
    """The search, started beside the caller; the signals' visibility, one policy at a
    time, on whichever side is free first (the child once its search is done, the
    caller once it asks for the result).

    The child's values are taken only when they are for the caller's policies;
    otherwise (no child, a failed one, another list) the caller computes them.
    """

    def __init__(self, policies: Sequence[Policy], shared: Shared[PolicyVisibility],
                 search: Beside[Searched]) -> None:
        self._policies = tuple(policies)
        self._shared = shared
        self._search = search
        self.beside = False
        """After :meth:`result`: whether the search came from the child."""

    @classmethod
    def now(cls, policies: Sequence[Policy], parallel: bool) -> Started:
        """Started now: forked from this process, which has the policies."""
        shared = Shared(_tasks(policies), parallel=parallel)
        return cls(policies, shared,
                   Beside(functools.partial(_search_then_share, policies, shared),
                          parallel=parallel))

    def result(self) -> FromPolicies:
        mine = self._shared.take()
        found = self._search.from_child()
        self.beside = found is not None and found[0].policies == _named(self._policies)
        if found is not None and self.beside:
            search, theirs = found[0].search, found[0].visibility
        else:
            search, theirs = explore_all(self._policies), {}
        return FromPolicies(search, self._shared.complete(theirs, mine))

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        self._search.stop()
        self._shared.close()


def search_default(tokens: Tokens, plugins: bool) -> Searched:
    """The default policies (as the registry gives them in this process), their search,
    and the visibility taken from ``tokens``: the work of the report's speculation
    (:mod:`optcompare.analysis.speculation`) in its child."""
    from optcompare.policies import discovery, registry

    discovery.set_plugins_disabled(not plugins)
    policies = registry.reported([])
    return _search_then_share(policies, Shared(_tasks(policies), parallel=True, tokens=tokens))


def begin(policies: Sequence[Policy], *, parallel: bool | None = None,
          ahead: Ahead[Searched] | None = None) -> Started:
    """Both, started now beside the caller when the machine allows (``parallel``: force
    it on or off); the same result either way. ``ahead``: a search started before the
    policies were known (:func:`search_default`), adopted here: its child's values
    count only if they are for ``policies``."""
    if ahead is not None:
        if parallel is not False:
            shared = Shared(_tasks(policies), parallel=True, tokens=ahead.tokens)
            ahead.tokens.issue(len(policies))
            return Started(policies, shared, ahead.child)
        ahead.stop()
    return Started.now(policies, parallel if parallel is not None else available())
