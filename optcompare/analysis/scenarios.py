"""Scenario outcomes across builds, and the version-skew matrix."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.analysis.report_model import ScenarioInfo
from optcompare.frozen import frozen
from optcompare.model.modes import Behaviour
from optcompare.policies.base import Build, Detection, Policy, SignalKind
from optcompare.scenario.runner import Outcome, ScenarioResult, platform_of, run
from optcompare.scenario.spec import LEGACY, NATIVE, Scenario

if TYPE_CHECKING:
    from optcompare.backends.qemu.backend import BackendFailure

_REPLAYS: dict[tuple[object, ...], ScenarioResult] = {}


def replay(scenario: Scenario, policy: Policy, client: str | None = None) -> ScenarioResult:
    """``run`` on the model, remembered: a model run is a pure function of its inputs.

    A policy's own client on a scenario written for the native client is that
    native run: one replay serves the matrix, the skew and compat.
    """
    setup = scenario.setup
    if client == policy.name and setup.client == NATIVE:
        client = None
    # The build stands for the policy (equal builds are of equal policies on one
    # platform, the setup's) and keeps its hash: a policy's goes through all its fields.
    build = policy.build(platform_of(setup))
    key = (scenario.path, scenario.digest, setup, build, client)
    found = _REPLAYS.get(key)
    if found is None:
        found = _REPLAYS[key] = run(scenario, policy, client=client, build=build, detect=probe)
    return found


@functools.lru_cache(maxsize=1024)
def probe(client: Policy, build: Build) -> Detection:
    """What ``client``'s libvirt concludes on a model build: a pure function of the
    two, shared by the replays, the skew and compat's detection findings."""
    from optcompare.schema.target import BuildTarget

    return client.detect(BuildTarget(build), build.drivers)


def matrix(scenarios: Sequence[Scenario], policies: Sequence[Policy]) -> list[ScenarioResult]:
    """Every scenario on every policy's build, on the model."""
    return [replay(s, p) for s in scenarios for p in policies]


@frozen
class SkewCell:
    """One client on one build: its detection against the truth, and its runs."""

    client: str
    build: str
    detected: frozenset[str]
    truth: frozenset[str]
    evidence: str
    fragile: bool
    results: tuple[ScenarioResult, ...]
    blockdev: bool | None = None
    """The frontend a client that decides for the whole binary picks (None: per driver)."""
    missing: tuple[str, ...] = ()
    """What that client found missing for -blockdev."""

    @property
    def false_positives(self) -> frozenset[str]:
        return self.detected - self.truth

    @property
    def false_negatives(self) -> frozenset[str]:
        return self.truth - self.detected

    @property
    def met(self) -> int:
        return sum(r.outcome is Outcome.MEETS for r in self.results)

    @property
    def ran(self) -> int:
        return sum(r.outcome is not Outcome.NOT_APPLICABLE for r in self.results)


@frozen
class Skew:
    """Every client (the libvirt of each policy, the shipped libvirt, the legacy
    client) on every policy's build."""

    cells: tuple[SkewCell, ...]


def truth(policy: Policy) -> frozenset[str]:
    """The drivers whose auto-read-only is dynamic on the policy's POSIX build."""
    return frozenset(
        d.name for d in policy.drivers().values() if d.behaviour is Behaviour.DYNAMIC
    )


def skew(scenarios: Sequence[Scenario], policies: Sequence[Policy]) -> list[SkewCell]:
    """libvirt-for-policy x QEMU-build: detection against truth, workflows met.

    The workflows are the scenarios written for the native client; each runs
    with the client of the row instead.
    """
    from optcompare.policies import libvirt

    native = [s for s in scenarios if s.setup.client == NATIVE]
    cells = []
    for client in [*policies, libvirt.CLIENT, None]:
        name = client.name if client is not None else LEGACY
        for policy in policies:
            build = policy.build()
            if client is None:
                found = Detection(frozenset(), SignalKind.NONE, "never probes (always -drive)")
            else:
                found = probe(client, build)
            results = tuple(replay(s, policy, client=name) for s in native)
            cells.append(SkewCell(name, policy.name, found.dynamic, truth(policy),
                                  found.evidence, found.fragile, results, found.blockdev,
                                  found.missing))
    return cells


def scenario_infos(scenarios: Sequence[Scenario]) -> tuple[ScenarioInfo, ...]:
    """What names each scenario a run read (its file relative to the package's)."""
    return tuple(ScenarioInfo(s.name, s.summary, s.source, _short(s.path), s.digest)
                 for s in scenarios)


@frozen
class Runs:
    """Scenarios replayed on builds (``run``), in the matrix's order."""

    backend: str
    """``model`` or ``qemu``."""
    scenarios: tuple[ScenarioInfo, ...]
    results: tuple[ScenarioResult | BackendFailure, ...]


def _short(path: str) -> str:
    """A path that does not depend on where the package is installed."""
    from pathlib import Path

    p = Path(path)
    return f"scenarios/{p.name}" if p.parent.name in ("scenarios", "builtin_scenarios") else path
