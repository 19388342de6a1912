"""The replay memo: one run per scenario, build and client, never shared across them."""

from __future__ import annotations

from dataclasses import replace

from optcompare.analysis.scenarios import replay
from optcompare.policies import registry
from optcompare.scenario import files, load
from optcompare.scenario.runner import Outcome, run


def builtin(name: str) -> load.Scenario:
    return {s.name: s for s in load.load_all(files.builtin_files())}[name]


def test_a_setup_on_another_platform_is_replayed_on_that_platform_s_build() -> None:
    scenario = builtin("blockdev-commit-selinux")
    windows = replace(scenario, setup=replace(scenario.setup, platform="windows"))
    policy = registry.get("option-1")
    on_posix, on_windows = replay(scenario, policy), replay(windows, policy)
    assert (on_posix.policy, on_windows.policy) == ("option-1", "option-1@windows")
    assert on_windows == run(windows, policy)


def test_policies_that_differ_in_one_field_are_replayed_each_on_its_own() -> None:
    scenario = builtin("blockdev-commit-selinux")
    released = registry.get("qemu-4.0")
    dynamic, fallback = replay(scenario, released), replay(scenario, replace(
        released, drive_defaults_auto=released.drive_defaults_auto,
        overrides=registry.get("qemu-3.1").overrides, release="3.1"))
    assert dynamic.outcome is Outcome.MEETS
    assert fallback.outcome is Outcome.FAILS


def test_an_equal_policy_of_its_own_is_served_the_same_replay() -> None:
    scenario = builtin("blockdev-commit-selinux")
    policy = registry.get("qemu-4.0")
    assert replay(scenario, replace(policy)) is replay(scenario, policy)
