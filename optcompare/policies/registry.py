"""Finding policies by name: the built-ins, then installed plugins."""

from __future__ import annotations

from collections.abc import Iterable

from optcompare.errors import UnknownNameError
from optcompare.policies import option_1, option_2, option_3, qemu_3_0, qemu_3_1, qemu_4_0, qemu_4_1
from optcompare.policies.base import Policy

BUILTIN: tuple[Policy, ...] = (
    qemu_3_0.POLICY,
    qemu_3_1.POLICY,
    qemu_4_0.POLICY,
    option_1.POLICY,
    option_2.POLICY,
    option_3.POLICY,
    qemu_4_1.POLICY,
)

RELEASED = ("qemu-3.0", "qemu-3.1", "qemu-4.0")
"""Builds that users had in their hands when the thread was written."""


def all_policies() -> list[Policy]:
    return list(BUILTIN)


def by_name() -> dict[str, Policy]:
    return {p.name: p for p in all_policies()}


def get(name: str) -> Policy:
    known = by_name()
    if name not in known:
        raise UnknownNameError(f"unknown policy {name!r}; known: {', '.join(known)}")
    return known[name]


def select(names: Iterable[str]) -> list[Policy]:
    """The named policies in the order given, or all of them when none is."""
    chosen = [get(n) for n in names]
    return chosen or all_policies()
