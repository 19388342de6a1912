"""A build's drivers and where each fact about them comes from (``drivers``).

Facts of the model, gathered as data: the class of each driver, its
refusal in the build's era, QEMU's messages of that era and the clients'
rules, each with its source. ``render/views.py`` lays them out.
"""

from __future__ import annotations

from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.policies.base import Policy


@frozen
class Fact:
    fact: str
    source: str


@frozen
class Origins:
    """Where a driver's class and refusal come from (``--sources``)."""

    class_source: str
    refusal: str | None
    """The refusal as the driver states it (None: it never refuses the open)."""
    refusal_source: str | None
    """Where the refusal in the build's era is written."""
    facts: tuple[Fact, ...]


@frozen
class DriverFacts:
    name: str
    behaviour: str
    """hard, fallback, dynamic, sticky or self-read-only."""
    source: str
    cannot_write: str
    struct: str
    origins: Origins | None = None


@frozen
class MessageFact:
    situation: str
    text: str | None
    """None: no error in that situation."""
    source: str


@frozen
class ClientRule:
    client: str
    rule: str
    source: str


@frozen
class Sources:
    era: str
    messages: tuple[MessageFact, ...]
    client_rules: tuple[ClientRule, ...]


@frozen
class Drivers:
    policy: str
    platform: str
    drivers: tuple[DriverFacts, ...]
    sources: Sources | None = None
    """With ``--sources``."""


def drivers(policy: Policy, platform: Platform, sources: bool = False) -> Drivers:
    from optcompare.model import messages
    from optcompare.policies import libvirt

    build = policy.build(platform)
    era = policy.wording.era
    rows = []
    for d in build.drivers.values():
        origins = None
        if sources:
            refusal = d.refusal_in(era)
            origins = Origins(d.class_source, d.refusal, refusal.source if refusal else None,
                              tuple(Fact(fact, where) for fact, where in d.sources))
        rows.append(DriverFacts(d.name, d.behaviour.value, d.source, d.cannot_write,
                                policy.struct_of(d, build.drivers), origins))
    found = None
    if sources:
        found = Sources(
            era,
            tuple(MessageFact(m.situation.value, m.text, m.source)
                  for m in messages.catalogue(policy.wording)),
            (ClientRule(policy.name, policy.title, policy.source),
             *(ClientRule(libvirt.NAME, r.rule, r.source) for r in libvirt.RULES)),
        )
    return Drivers(policy.name, platform.value, tuple(rows), found)
