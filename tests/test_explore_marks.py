"""The search reuses a state's key after a step that changed nothing (same mark): that
is sound only if such a step leaves the canonical form as it was, which this checks on
every step of every start, two steps deep, for every built-in policy."""

from __future__ import annotations

import pytest

from optcompare.analysis import explore
from optcompare.analysis.explore import Bounds, Context, _canonical, _plays, starts
from optcompare.policies import registry
from optcompare.scenario.backend import NotApplicable
from optcompare.scenario.runner import Session


def _walk(policy_name: str, depth: int) -> tuple[int, int]:
    """(steps that kept their mark, steps that changed it); fails on a kept mark whose
    state's canonical form changed anyway."""
    policy = registry.get(policy_name)
    bounds = Bounds(depth=depth, images=2)
    context = Context()
    kept = changed = 0
    frontier: list[Session] = []
    for start in starts(bounds.images):
        frontier.append(context.session(policy, bounds, start))
    for level in range(depth):
        following = []
        for session in frontier:
            before = {n: session.backend.observe(n) for n in session.known}
            for _, step in _plays(context.named, bounds, level, session, before):
                child = session.fork()
                mark, canonical = child.mark(), _canonical(child)
                try:
                    child.play(step)
                except NotApplicable:
                    continue
                if child.mark() == mark:
                    kept += 1
                    assert _canonical(child) == canonical, (policy_name, step.describe())
                else:
                    changed += 1
                following.append(child)
        frontier = following
    return kept, changed


@pytest.mark.parametrize("name", [p.name for p in registry.builtins()])
def test_a_step_that_keeps_the_mark_keeps_the_state(name: str) -> None:
    kept, changed = _walk(name, 2)
    assert kept > 0 and changed > 0  # both kinds of step occur


def test_a_refused_step_keeps_the_mark_and_a_relabel_changes_it() -> None:
    policy = registry.get("qemu-4.1")
    bounds = Bounds(depth=2, images=2)
    context = Context()
    session = context.session(policy, bounds, starts(2)[0])
    session.play(explore.to_step(explore.Action("start"), 0, session.chain, session.known))
    refused = session.fork()
    mark = refused.mark()
    record = refused.play(explore.to_step(explore.Action("detach-writer", 0), 1,
                                          refused.chain, refused.known))
    assert record.result == "error"
    assert refused.mark() == mark
    relabelled = session.fork()
    mark = relabelled.mark()
    relabelled.play(explore.to_step(explore.Action("relabel", 0, writable=True), 1,
                                    relabelled.chain, relabelled.known))
    assert relabelled.mark() != mark
