"""Scenario outcomes across builds, and the version-skew matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optcompare.model.modes import Behaviour
from optcompare.policies.base import Detection, Policy, SignalKind
from optcompare.scenario.runner import Outcome, ScenarioResult, run
from optcompare.scenario.spec import LEGACY, NATIVE, Scenario

_REPLAYS: dict[tuple[object, ...], ScenarioResult] = {}


def replay(scenario: Scenario, policy: Policy, client: str | None = None) -> ScenarioResult:
    """``run`` on the model, remembered: a model run is a pure function of its inputs.

    A policy's own client on a scenario written for the native client is that
    native run: one replay serves the matrix, the skew and compat.
    """
    if client == policy.name and scenario.setup.client == NATIVE:
        client = None
    key = (scenario.path, scenario.digest, scenario.setup, policy, client)
    if key not in _REPLAYS:
        _REPLAYS[key] = run(scenario, policy, client=client)
    return _REPLAYS[key]


def matrix(scenarios: Sequence[Scenario], policies: Sequence[Policy]) -> list[ScenarioResult]:
    """Every scenario on every policy's build, on the model."""
    return [replay(s, p) for s in scenarios for p in policies]


@dataclass(frozen=True)
class SkewCell:
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


@dataclass(frozen=True)
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
    from optcompare.schema.target import BuildTarget

    native = [s for s in scenarios if s.setup.client == NATIVE]
    cells = []
    for client in [*policies, libvirt.CLIENT, None]:
        name = client.name if client is not None else LEGACY
        for policy in policies:
            build = policy.build()
            if client is None:
                found = Detection(frozenset(), SignalKind.NONE, "never probes (always -drive)")
            else:
                found = client.detect(BuildTarget(build), build.drivers)
            results = tuple(replay(s, policy, client=name) for s in native)
            cells.append(SkewCell(name, policy.name, found.dynamic, truth(policy),
                                  found.evidence, found.fragile, results, found.blockdev,
                                  found.missing))
    return cells


def result_data(result: ScenarioResult, *, trace: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "scenario": result.scenario,
        "policy": result.policy,
        "client": result.client,
        "backend": result.backend,
        "outcome": result.outcome.value,
        "frontend": result.frontend,
        "step": result.step,
        "step_text": result.step_text,
        "reason": result.reason,
        "detection": None if result.detection is None else {
            "dynamic": sorted(result.detection.dynamic),
            "signal": result.detection.signal.value,
            "evidence": result.detection.evidence,
            "fragile": result.detection.fragile,
        },
    }
    if trace:
        data["trace"] = [
            {
                "index": r.index,
                "step": r.step,
                "line": r.line,
                "result": r.result,
                "message": r.message,
                "met": r.met,
                "why": r.why,
                "actions": list(r.actions),
                "state": {
                    name: {"label": "writable" if o.label else "read-only", "fd": o.fd.value,
                           "ro": o.ro, "mode": o.mode, "denials": o.denials}
                    for name, o in r.state.items()
                },
            }
            for r in result.trace
        ]
    return data


def scenario_data(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    return [
        {"name": s.name, "summary": s.summary, "source": s.source, "file": _short(s.path),
         "sha256": s.digest}
        for s in scenarios
    ]


def _short(path: str) -> str:
    """A path that does not depend on where the package is installed."""
    from pathlib import Path

    p = Path(path)
    return f"scenarios/{p.name}" if p.parent.name in ("scenarios", "builtin_scenarios") else path
