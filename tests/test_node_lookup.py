"""A name that QEMU's node lookup cannot find, in each release's words and with the
arguments each command passes to bdrv_lookup_bs() (measured live on 7.2 in
tests/test_differential.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optcompare.backends.model import ModelBackend
from optcompare.backends.qemu.backend import released_policy
from optcompare.model import messages
from optcompare.model.messages import Situation, Wording
from optcompare.model.options import READ_ONLY
from optcompare.policies import registry
from optcompare.policies.base import Build
from optcompare.scenario import load
from optcompare.scenario.backend import StepError
from optcompare.scenario.runner import run

OLD_ERAS = ("3.0", "3.1", "4.0", "4.1", "5.2")
QUOTING_ERAS = ("6.0", "7.2")


@pytest.mark.parametrize("era", OLD_ERAS)
def test_before_6_0_the_lookup_quotes_nothing_and_says_node_name(era: str) -> None:
    wording = Wording(era)
    assert wording.node_not_found("", "top") == "Cannot find device= nor node_name=top"
    assert wording.node_not_found("top", "top") == "Cannot find device=top nor node_name=top"
    assert wording.reopen_node_not_found("top-storage") == "Cannot find node named 'top-storage'"


@pytest.mark.parametrize("era", QUOTING_ERAS)
def test_from_6_0_the_lookup_quotes_both_names(era: str) -> None:
    wording = Wording(era)
    assert wording.node_not_found("", "top") == "Cannot find device='' nor node-name='top'"
    assert wording.node_not_found("top", "top") == (
        "Cannot find device='top' nor node-name='top'")
    assert wording.reopen_node_not_found("top-storage") == (
        "Failed to find node with node-name='top-storage'")


def test_the_real_backend_speaks_as_the_daemon() -> None:
    from optcompare.backends.qemu.backend import DAEMON_WORDING

    assert DAEMON_WORDING == released_policy().wording == Wording("7.2")
    assert DAEMON_WORDING.quotes_node_names


def test_the_catalogue_lists_the_lookup_in_the_era_s_words() -> None:
    for era, wanted in (("4.1", "Cannot find device=<device> nor node_name=<node>"),
                        ("7.2", "Cannot find device='<device>' nor node-name='<node>'")):
        found = {m.situation: m for m in messages.catalogue(Wording(era))}
        assert found[Situation.NODE_NOT_FOUND].text == wanted
        assert found[Situation.REOPEN_NODE_NOT_FOUND].source


START_FAILS_THEN = """
[scenario]
name = "start-fails-then-{step}"
summary = "the active layer is never added; a step names it"
source = "the model's own test"

[setup]
frontend = "{frontend}"

[[setup.images]]
name = "base"
writable = true

[[setup.images]]
name = "top"
writable = false

[[steps]]
do = "start"
expect = "error"

[[steps]]
do = "{step}"
{args}
"""

# The step after the failed start, the QMP (or HMP) command it stands for, and what the
# model says in each era: (step, arguments, frontend, before 6.0, from 6.0).
AFTER_A_FAILED_START = [
    # block-stream: bdrv_lookup_bs(device, device) (blockdev.c:3192 @v4.1.0)
    ("block-stream", 'top = "top"', "blockdev",
     "Cannot find device=top nor node_name=top",
     "Cannot find device='top' nor node-name='top'"),
    # blockdev-snapshot: bdrv_lookup_bs(node, node) (blockdev.c:1569 @v4.1.0)
    ("snapshot", 'image = "new"', "blockdev",
     "Cannot find device=top nor node_name=top",
     "Cannot find device='top' nor node-name='top'"),
    # libvirt's snapshot of a -drive disk, blockdev-snapshot-sync: bdrv_lookup_bs(device,
    # NULL), the drive's id (blockdev.c:1569 @v4.1.0)
    ("snapshot", 'image = "new"', "drive",
     "Cannot find device=top nor node_name=",
     "Cannot find device='top' nor node-name=''"),
    # HMP qemu-io: bdrv_lookup_bs(NULL, device) (monitor/hmp-cmds.c:2511 @v4.1.0)
    ("guest-write", "", "blockdev",
     "Cannot find device= nor node_name=top",
     "Cannot find device='' nor node-name='top'"),
    # 2019's nbd-server-add: bdrv_lookup_bs(device, device) (blockdev-nbd.c:172 @v4.1.0);
    # block-export-add (5.2+): bdrv_lookup_bs(NULL, node-name)
    ("attach-writer", 'image = "top"', "drive",
     "Cannot find device=top-storage nor node_name=top-storage",
     "Cannot find device='' nor node-name='top-storage'"),
    # nbd-server-remove, block-export-del: the export's id, no node looked up
    ("detach-writer", 'image = "top"', "drive",
     "Export 'top-export' is not found", "Export 'top-export' is not found"),
]


@pytest.mark.parametrize(("step", "args", "frontend", "old", "quoted"), AFTER_A_FAILED_START)
def test_each_step_names_the_missing_node_as_its_command_does(
        step: str, args: str, frontend: str, old: str, quoted: str, tmp_path: Path) -> None:
    path = tmp_path / f"{step}.toml"
    path.write_text(START_FAILS_THEN.format(step=step, args=args, frontend=frontend))
    scenario = load.load(path)
    for policy, wanted in ((registry.get("qemu-3.1"), old), (registry.get("qemu-4.1"), old),
                           (registry.get("option-3"), old), (released_policy(), quoted)):
        start, after = run(scenario, policy).trace
        assert start.result == "error"
        assert (after.result, after.message) == ("error", wanted), policy.name


def test_a_drive_s_snapshot_after_a_failed_start_opens_nothing(tmp_path: Path) -> None:
    """blockdev-snapshot-sync looks the drive up before it opens the overlay (live on 7.2:
    every image stays closed); the model used to open the overlay first."""
    path = tmp_path / "snapshot.toml"
    path.write_text(START_FAILS_THEN.format(step="snapshot", args='image = "new"',
                                            frontend="drive"))
    after = run(load.load(path), released_policy()).trace[1]
    assert {image: seen.fd.value for image, seen in after.state.items()} == {
        "base": "closed", "top": "closed", "new": "closed"}


def _backend(policy_name: str, era: str | None = None) -> ModelBackend:
    policy = registry.get(policy_name)
    return ModelBackend(Build(policy if era is None else policy.with_wording(era)))


FORMAT_OVER_A_MISSING_FILE = (
    (None, "Cannot find device=top-storage nor node_name=top-storage"),
    ("7.2", "Cannot find device='top-storage' nor node-name='top-storage'"))


def test_a_format_node_over_a_missing_file_reference() -> None:
    """blockdev-add's ``file`` reference: bdrv_lookup_bs(reference, reference) (block.c:2927
    @v4.1.0; live on 7.2). No workflow gets here: the runner adds the file node first."""
    for era, wanted in FORMAT_OVER_A_MISSING_FILE:
        backend = _backend("qemu-4.1", era)
        backend.create([("top", True)])
        with pytest.raises(StepError) as refused:
            backend.add_format("top", False, None)
        assert refused.value.message == wanted, era


def test_a_commit_s_base_node_is_looked_up_by_node_name_only() -> None:
    """block-commit's top-node and base-node: bdrv_lookup_bs(NULL, name) (blockdev.c:3337,
    3367 @v4.1.0; live on 7.2). No workflow gets here: the device is checked first."""
    for era, wanted in ((None, "Cannot find device= nor node_name=base"),
                        ("7.2", "Cannot find device='' nor node-name='base'")):
        backend = _backend("qemu-4.1", era)
        backend.create([("base", True), ("top", True)])
        backend.add_protocol("top", {READ_ONLY: False})
        backend.add_format("top", False, "base")
        with pytest.raises(StepError) as refused:
            backend.commit("top", "top", "base")
        assert refused.value.message == wanted, era


def test_a_reopen_of_a_missing_node() -> None:
    """x-blockdev-reopen (blockdev.c:4288 @v4.0.0), blockdev-reopen (live on 7.2): no
    lookup by device. No workflow gets here: the client reopens only nodes it added."""
    for era, wanted in ((None, "Cannot find node named 'top-storage'"),
                        ("7.2", "Failed to find node with node-name='top-storage'")):
        backend = _backend("explicit-reopen", era)
        backend.create([("top", True)])
        with pytest.raises(StepError) as refused:
            backend.reopen("top", {READ_ONLY: True})
        assert refused.value.message == wanted, era


def test_a_second_node_under_one_name() -> None:
    """blockdev-add of a node name taken already: 2019 names no node, 6.0 on (live on 7.2:
    the model's text before this test) names it."""
    for era, wanted in ((None, "Duplicate node name"),
                        ("7.2", "Duplicate nodes with node-name='top-storage'")):
        backend = _backend("qemu-4.1", era)
        backend.create([("top", True)])
        backend.add_protocol("top", {READ_ONLY: False})
        with pytest.raises(StepError) as refused:
            backend.add_protocol("top", {READ_ONLY: False})
        assert refused.value.message == wanted, era
    for era, wanted in (("4.1", "Duplicate node name"),
                        ("7.2", "Duplicate nodes with node-name='<node>'")):
        found = {m.situation: m for m in messages.catalogue(Wording(era))}
        assert found[Situation.DUPLICATE_NODE].text == wanted
