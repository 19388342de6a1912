"""The visibility analysis finds by itself what issue 3 says it must show."""

from __future__ import annotations

import json

import pytest

from optcompare.analysis.visibility import (
    Granularity,
    PolicyVisibility,
    Probes,
    analyse,
    visibility,
)
from optcompare.policies import option_2, option_3, registry
from optcompare.policies.base import SignalKind
from optcompare.render.introspection_views import visibility_json


@pytest.fixture(scope="module")
def results() -> dict[str, PolicyVisibility]:
    return {p.policy: p for p in visibility(list(registry.BUILTIN)).policies}


def test_qemu_4_0_has_no_schema_signal_only_its_version(
    results: dict[str, PolicyVisibility],
) -> None:
    v = results["qemu-4.0"]
    assert v.signal is SignalKind.VERSION
    assert not v.visible_in_schema
    assert v.detectable and v.fragile
    assert all(s.detected == frozenset() and s.by == "schema probes" for s in v.schema_probes)
    assert all(p.version_asked for p in v.probes)
    assert not v.needs_extra_command
    assert v.granularity is Granularity.GLOBAL


@pytest.mark.parametrize("name", ["qemu-4.1", "option-1", "option-2"])
def test_host_cdrom_is_a_false_positive(
    results: dict[str, PolicyVisibility], name: str
) -> None:
    assert "host_cdrom" in results[name].false_positives
    assert not results[name].false_negatives


def test_option_3_has_no_false_positive_unless_on_the_shared_struct(
    results: dict[str, PolicyVisibility],
) -> None:
    assert results["option-3"].false_positives == ()
    assert results["option-3"].false_negatives == ()
    shared = analyse(option_3.make(shared_struct=True))
    assert shared.false_positives == ("host_cdrom",)
    assert shared.granularity is Granularity.PER_STRUCT


def test_option_1_cannot_tell_drivers_and_is_advertised_on_windows(
    results: dict[str, PolicyVisibility],
) -> None:
    v = results["option-1"]
    assert v.granularity is Granularity.GLOBAL
    assert v.moves == {}  # no driver's detection follows its own class
    assert set(v.false_positives) == {"host_cdrom", "file@windows", "host_device@windows"}
    assert v.visible_in_schema and v.cacheable and not v.needs_extra_command


def test_option_2_visible_in_schema_cacheable_but_needs_a_command(
    results: dict[str, PolicyVisibility],
) -> None:
    v = results["option-2"]
    assert v.signal is SignalKind.COMMAND
    assert v.visible_in_schema
    posix, windows = v.schema_probes
    assert posix.by == "schema probes"  # the client itself runs the command
    assert posix.queries == ("query-qemu-features/ret-type/*file-dynamic-auto-read-only",)
    assert windows.detected == frozenset()
    assert v.cacheable
    assert v.needs_extra_command and v.extra_commands == (option_2.COMMAND,)
    assert not analyse(option_2.make(promise="run")).cacheable
    assert v.gluster is not None
    assert v.gluster.schema_changed and not v.gluster.learns  # the client asks for file only


def test_option_3_is_per_driver_and_survives_gluster(
    results: dict[str, PolicyVisibility],
) -> None:
    v = results["option-3"]
    assert v.granularity is Granularity.PER_DRIVER
    assert all(moved == (driver,) for driver, moved in v.moves.items())
    assert v.gluster is not None and v.gluster.learns and v.gluster.detected_after
    assert v.visible_in_schema and v.cacheable


def test_qemu_4_1_is_per_options_struct(results: dict[str, PolicyVisibility]) -> None:
    v = results["qemu-4.1"]
    assert v.granularity is Granularity.PER_STRUCT
    assert v.moves["bochs"] == ("bochs", "cloop", "dmg")
    assert "file" not in v.moves  # host_device keeps the flag on the shared struct
    assert v.gluster is not None and v.gluster.learns


def test_no_policy_signals_a_hard_to_fallback_move(
    results: dict[str, PolicyVisibility],
) -> None:
    for v in results.values():
        move = v.hard_to_fallback
        assert move is not None
        assert not move.visible, v.policy
        assert not move.schema_changed and not move.results_changed
    assert results["qemu-4.0"].hard_to_fallback is not None
    assert results["qemu-4.0"].hard_to_fallback.driver == "vmdk"
    assert results["qemu-4.1"].hard_to_fallback is not None
    assert results["qemu-4.1"].hard_to_fallback.driver == "ssh"  # vmdk is fallback in 4.1


@pytest.mark.parametrize("name", ["qemu-3.0", "qemu-3.1"])
def test_before_4_0_there_is_nothing_to_detect(
    results: dict[str, PolicyVisibility], name: str
) -> None:
    v = results[name]
    assert not v.dynamic_anywhere and not v.detectable
    assert v.granularity is Granularity.NONE
    assert v.signal is SignalKind.NONE


def test_truth_rows_cover_every_driver_on_both_platforms(
    results: dict[str, PolicyVisibility],
) -> None:
    v = results["qemu-4.1"]
    posix = [r for r in v.rows if r.platform == "posix"]
    windows = [r for r in v.rows if r.platform == "windows"]
    assert [r.driver for r in posix] == list(registry.get("qemu-4.1").build().drivers)
    assert "host_cdrom" not in [r.driver for r in windows]
    assert {r.driver for r in v.rows if r.dynamic} == {"file", "host_device"}
    assert not any(r.dynamic for r in windows)


def test_data_is_json_ready_and_deterministic() -> None:
    one = json.dumps(visibility_json(visibility(list(registry.BUILTIN))))
    two = json.dumps(visibility_json(visibility(list(registry.BUILTIN))))
    assert one == two
    data = json.loads(one)
    assert [p["policy"] for p in data["policies"]] == [p.name for p in registry.BUILTIN]
    cdrom = next(d for d in data["policies"][-1]["drivers"] if d["driver"] == "host_cdrom")
    assert cdrom == {"driver": "host_cdrom", "platform": "posix", "mode": "sticky-ro",
                     "dynamic": False, "detected": True, "claimed": False,
                     "verdict": "false positive"}


def test_probes_share_a_run_between_equal_builds_only() -> None:
    from optcompare.model.drivers import Platform
    from optcompare.model.modes import Behaviour

    probes = Probes()
    policy = option_3.POLICY
    first = probes(policy.later("gluster", Behaviour.DYNAMIC).build(Platform.POSIX))
    again = probes(policy.later("gluster", Behaviour.DYNAMIC).build(Platform.POSIX))
    assert again is first
    base = probes(policy.build(Platform.POSIX))
    assert base is not first
    assert "gluster" in first.detection.dynamic and "gluster" not in base.detection.dynamic
    assert probes(policy.build(Platform.WINDOWS)) is not base
