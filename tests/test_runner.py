"""The model backend and the runner: each step kind, each expectation, each failure mode."""

from __future__ import annotations

import pytest

from optcompare.policies import registry
from optcompare.scenario import files, load
from optcompare.scenario.runner import Outcome, ScenarioResult, run

DYNAMIC_BUILDS = ("qemu-4.0", "option-1", "option-2", "option-3", "qemu-4.1")
ALL = ("qemu-3.0", "qemu-3.1", *DYNAMIC_BUILDS)


def builtin(name: str) -> load.Scenario:
    return {s.name: s for s in load.load_all(files.builtin_files())}[name]


def play(text: str, policy: str) -> ScenarioResult:
    return run(load.parse(text, "t.toml"), registry.get(policy))


def chain(*images: str, frontend: str = "blockdev", extra: str = "") -> str:
    body = "".join(f'[[setup.images]]\nname = "{i}"\n' for i in images)
    return (f'[scenario]\nname = "t"\nsummary = "s"\nsource = "x"\n[setup]\n'
            f'frontend = "{frontend}"\n{extra}{body}')


def test_core_case_fails_on_3_1_because_fallback_degraded_the_base() -> None:
    result = run(builtin("blockdev-commit-selinux"), registry.get("qemu-3.1"))
    assert result.outcome is Outcome.FAILS
    assert result.step_text == "block-commit top=mid base=base"
    assert result.reason == "Block node is read-only"
    start = result.trace[0].state["base"]
    assert (start.ro, start.mode, start.denials) == (True, "fallback-ro", 1)


@pytest.mark.parametrize("policy", DYNAMIC_BUILDS)
def test_core_case_meets_on_dynamic_builds(policy: str) -> None:
    result = run(builtin("blockdev-commit-selinux"), registry.get(policy))
    assert result.outcome is Outcome.MEETS, result.reason
    commit = next(r for r in result.trace if r.step.startswith("block-commit"))
    assert commit.state["mid"].fd.value == "closed"
    assert result.trace[-1].state["base"].denials == 0


@pytest.mark.parametrize("policy", ALL)
def test_drive_variant_meets_everywhere(policy: str) -> None:
    assert run(builtin("drive-commit-selinux"), registry.get(policy)).outcome is Outcome.MEETS


@pytest.mark.parametrize("policy", ALL)
def test_readonly_disk_refuses_guest_writes_under_every_option(policy: str) -> None:
    assert run(builtin("readonly-disk-guest-write"), registry.get(policy)).outcome is (
        Outcome.MEETS)
    assert run(builtin("readonly-disk-drive"), registry.get(policy)).outcome is Outcome.MEETS


def test_denials_at_start_fallback_builds_log_one_per_read_only_image() -> None:
    text = chain("a", "b", "c", "d") + '[[steps]]\ndo = "start"\n'
    fallback = play(text, "qemu-3.1").trace[0].state
    assert [fallback[i].denials for i in "abcd"] == [1, 1, 1, 0]
    for policy in DYNAMIC_BUILDS:
        state = play(text, policy).trace[0].state
        assert [state[i].denials for i in "abcd"] == [0, 0, 0, 0], policy
    # the 3.0 client passes read-only=on to backing storage: no try, no denial
    assert [play(text, "qemu-3.0").trace[0].state[i].denials for i in "abcd"] == [0, 0, 0, 0]


def test_active_commit_leaves_the_base_read_write() -> None:
    result = run(builtin("blockdev-active-commit"), registry.get("qemu-4.1"))
    assert result.outcome is Outcome.MEETS, result.reason
    assert result.trace[-1].state["base"].fd.value == "rw"


def test_expect_error_with_message() -> None:
    result = run(builtin("blockdev-commit-without-relabel"), registry.get("qemu-4.1"))
    assert result.outcome is Outcome.MEETS
    commit = result.trace[2]
    assert commit.result == "error"
    assert commit.message == "Could not reopen file: Permission denied"
    modern = run(builtin("blockdev-commit-without-relabel"),
                 registry.get("qemu-4.1").with_wording("7.2"))
    assert modern.trace[2].message == "Could not open 'base.qcow2': Permission denied"


def test_expect_error_that_does_not_come_fails() -> None:
    text = chain("base", "top") + '[[steps]]\ndo = "start"\n[[steps]]\ndo = "guest-write"\n' \
        'expect = "error"\n'
    result = play(text, "qemu-4.1")
    assert result.outcome is Outcome.FAILS
    assert result.reason == "succeeded, but an error was expected"


def test_error_substring_mismatch_fails() -> None:
    text = chain("base", "top") + '[[steps]]\ndo = "start"\n[[steps]]\ndo = "block-commit"\n' \
        'top = "top"\nbase = "base"\nexpect = "error"\nerror = "Permission denied"\n'
    result = play(text, "qemu-3.1")
    assert result.outcome is Outcome.FAILS
    assert "does not contain 'Permission denied'" in (result.reason or "")


def test_blockdev_add_options_and_mode_assert() -> None:
    text = chain("img") + (
        '[[steps]]\ndo = "blockdev-add"\nimage = "img"\n'
        'options = { "read-only" = false, "auto-read-only" = true }\n'
        '[[steps]]\ndo = "assert"\nimage = "img"\nmode = "dynamic-ro"\nfd = "ro"\nro = false\n'
    )
    assert play(text, "qemu-4.0").outcome is Outcome.MEETS
    failed = play(text, "qemu-3.1")
    assert failed.outcome is Outcome.FAILS
    assert "mode is fallback-ro, expected dynamic-ro" in (failed.reason or "")
    option_1 = play(text, "option-1")
    assert option_1.reason == "Parameter 'auto-read-only' is unexpected"


def test_writers_attach_upgrade_and_detach_downgrade() -> None:
    text = chain("img", extra="") + (
        '[[steps]]\ndo = "blockdev-add"\nimage = "img"\noptions = { "auto-read-only" = true }\n'
        '[[steps]]\ndo = "attach-writer"\nimage = "img"\nexpect = "error"\n'
        'error = "Permission denied"\n'
        '[[steps]]\ndo = "relabel"\nimage = "img"\nwritable = true\n'
        '[[steps]]\ndo = "attach-writer"\nimage = "img"\n'
        '[[steps]]\ndo = "assert"\nimage = "img"\nfd = "rw"\ndenials = 1\n'
        '[[steps]]\ndo = "detach-writer"\nimage = "img"\n'
        '[[steps]]\ndo = "assert"\nimage = "img"\nfd = "ro"\n'
    )
    result = play(text.replace('name = "img"\n', 'name = "img"\nwritable = false\n', 1),
                  "qemu-4.1")
    assert result.outcome is Outcome.MEETS, result.reason
    fallback = play(text.replace('name = "img"\n', 'name = "img"\nwritable = false\n', 1),
                    "qemu-3.1")
    # 2019's nbd-server-add exported a read-only node read-only, without an error
    # (blockdev-nbd.c:173 @v3.1.0).
    assert fallback.reason == "succeeded, but an error was expected"


def test_snapshot_then_commit_leaves_no_write_fd_on_dynamic_builds_only() -> None:
    assert run(builtin("snapshot-then-commit"), registry.get("qemu-4.1")).outcome is (
        Outcome.MEETS)
    old = run(builtin("snapshot-then-commit"), registry.get("qemu-3.1"))
    assert old.outcome is Outcome.FAILS
    assert old.reason == "top: fd is rw, expected ro"


def test_4_0_0_as_released_keeps_the_write_fd_after_the_last_writer() -> None:
    # file-posix.c:2802, 899 @v4.0.0: raw_set_perm never reopened read-only.
    shipped = run(builtin("snapshot-then-commit"), registry.get("qemu-4.0.0"))
    assert shipped.outcome is Outcome.FAILS
    assert shipped.step_text == "assert image=top fd=ro"
    assert shipped.reason == "top: fd is rw, expected ro"
    assert run(builtin("snapshot-then-commit"), registry.get("qemu-4.0")).outcome is (
        Outcome.MEETS)


def test_4_0_0_differs_from_the_thread_s_4_0_only_in_the_downgrade() -> None:
    shipped, intended = registry.get("qemu-4.0.0"), registry.get("qemu-4.0")
    assert not shipped.downgrades and intended.downgrades
    assert shipped.build().drivers == intended.build().drivers
    from optcompare.policies.base import Frontend

    for frontend in Frontend:
        for options in ({}, {"read-only": False, "auto-read-only": True}):
            assert shipped.build().resolve(options, "file", frontend) == (
                intended.build().resolve(options, "file", frontend))


def test_the_report_leaves_4_0_0_out_unless_named() -> None:
    names = [p.name for p in registry.reported([])]
    assert "qemu-4.0.0" not in names and "qemu-4.0" in names
    assert [p.name for p in registry.reported(["qemu-4.0.0"])] == ["qemu-4.0.0"]


def test_intermediate_stream() -> None:
    result = run(builtin("intermediate-block-stream"), registry.get("qemu-4.1"))
    assert result.outcome is Outcome.MEETS, result.reason
    stream = result.trace[1]
    assert stream.actions == ("relabel mid-2 writable", "relabel mid-2 read-only",
                              "blockdev-del mid-1")


def test_probe_step() -> None:
    text = chain("base", "top") + (
        '[[steps]]\ndo = "probe"\nquery = "blockdev-add/arg-type/+file/$dynamic-auto-read-only"\n'
        '[[steps]]\ndo = "probe"\nquery = "query-qemu-features"\nexpect = false\n'
    )
    assert play(text, "qemu-4.1").outcome is Outcome.MEETS
    result = play(text, "qemu-4.0")
    assert result.outcome is Outcome.FAILS
    assert result.step == 0


def test_unknown_driver_on_a_platform_is_not_applicable() -> None:
    text = chain("cd", extra='driver = "host_cdrom"\nplatform = "windows"\n') + \
        '[[steps]]\ndo = "start"\n'
    result = play(text, "qemu-4.1")
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "host_cdrom" in (result.reason or "")


def test_nbd_chain_fails_everywhere_fallback_is_not_fixed_by_any_option() -> None:
    for policy in (*ALL, "explicit-reopen"):
        result = run(builtin("nbd-chain-commit"), registry.get(policy))
        assert result.outcome is Outcome.FAILS
        assert result.trace[0].state["base"].denials == 0  # network images: no audit log
    # Nor by the hands-on approach: nbd has no .bdrv_reopen_prepare before 4.2 (Maxim
    # Levitsky's "nbd: add empty .bdrv_reopen_prepare"), so block.c refuses the reopen.
    hands_on = run(builtin("nbd-chain-commit"), registry.get("explicit-reopen"))
    assert hands_on.step_text == "block-commit top=mid base=base"
    assert hands_on.reason == ("Block format 'nbd' used by node 'base-storage' does not "
                               "support reopening files")


def test_auto_clients_stay_safe_on_3_1() -> None:
    for name in ("libvirt-option-1-auto", "libvirt-option-2-auto", "libvirt-option-3-auto",
                 "libvirt-qemu-4-1-auto"):
        result = run(builtin(name), registry.get("qemu-3.1"))
        assert result.outcome is Outcome.MEETS, (name, result.reason)
        assert result.frontend == "drive"


def test_auto_client_on_its_own_build_uses_blockdev() -> None:
    result = run(builtin("libvirt-option-3-auto"), registry.get("option-3"))
    assert result.frontend == "blockdev"
    assert result.outcome is Outcome.MEETS


def test_windows_build_option_1_client_believes_in_dynamic_and_breaks() -> None:
    result = run(builtin("windows-commit"), registry.get("option-1"))
    assert result.frontend == "blockdev"
    assert result.outcome is Outcome.FAILS
    assert "Permission denied" in (result.reason or "")
    for policy in ("option-2", "option-3", "qemu-4.1"):
        safe = run(builtin("windows-commit"), registry.get(policy))
        assert safe.frontend == "drive" and safe.outcome is Outcome.MEETS, policy


def test_explicit_reopen_client_reverts_its_reopens_when_the_job_fails() -> None:
    # libvirt's block-commit error path (qemuDomainBlockCommit, endjob) revokes the
    # write access it granted the base and the overlay of top: under the hands-on
    # approach that is a reopen read-only=on of each, before the labels go back.
    text = chain("base", "mid", "top") + (
        '[[steps]]\ndo = "start"\n'
        '[[steps]]\ndo = "snapshot"\nimage = "snap"\n'
        '[[steps]]\ndo = "block-commit"\ntop = "mid"\nbase = "base"\nexpect = "error"\n'
        'error = "Permission denied"\n'
        '[[steps]]\ndo = "assert"\nimage = "top"\nfd = "ro"\nro = true\n'
        '[[steps]]\ndo = "assert"\nimage = "base"\nfd = "ro"\n'
    )
    result = play(text, "explicit-reopen")
    assert result.outcome is Outcome.MEETS, result.reason
    commit = result.trace[2]
    assert commit.actions == ("relabel top writable", "reopen top read-only=off",
                              "reopen top read-only=on", "relabel top read-only")



@pytest.mark.parametrize("job", ['do = "block-commit"\ntop = "mid"\nbase = "base"\n',
                                 'do = "block-stream"\ntop = "top"\nbase = "base"\n'])
def test_a_job_completes_when_an_export_keeps_a_dropped_node(job: str) -> None:
    # 2019's nbd-server-add exported the read-only mid silently read-only
    # (blockdev-nbd.c:187 @v4.0.0); the job drops mid, and blockdev-del of
    # mid-storage is refused while the export holds it. libvirt's clean-up after
    # a concluded job ignores that (qemuBlockJobEventProcessConcludedRemoveChain ->
    # qemuBlockStorageSourceChainDetach, void): the job is reported completed.
    text = chain("base", "mid", "top").replace('name = "base"\n',
                                               'name = "base"\nwritable = true\n') + (
        '[[steps]]\ndo = "start"\n'
        '[[steps]]\ndo = "attach-writer"\nimage = "mid"\n'
        f'[[steps]]\n{job}'
        '[[steps]]\ndo = "assert"\nimage = "mid"\nfd = "ro"\nnode = "protocol"\n'
    )
    result = play(text, "explicit-reopen")
    assert result.outcome is Outcome.MEETS, result.reason
    record = result.trace[2]
    assert record.result == "ok" and record.chain[0] == "base" and "mid" not in record.chain
    assert "blockdev-del mid refused: Node mid-storage is in use" in record.actions
    # QEMU deleted the format node; only the exported protocol node stays
    assert record.state["mid"].format_ro is None and record.state["mid"].ro is True


def test_active_commit_on_a_read_only_disk_leaves_no_write_fd_under_explicit_reopen() -> None:
    # The base becomes the active layer of a read-only disk: QEMU reopens its format
    # node read-only (mirror_exit_common), and the client gives its storage node what
    # it gives a read-only disk's active layer, read-only=on.
    text = chain("base", "top", extra="readonly = true\n").replace(
        'name = "base"\n', 'name = "base"\nwritable = true\n') + (
        '[[steps]]\ndo = "start"\n'
        '[[steps]]\ndo = "block-commit"\ntop = "top"\nbase = "base"\n'
        '[[steps]]\ndo = "relabel"\nimage = "base"\nwritable = false\n'
        '[[steps]]\ndo = "assert"\nimage = "base"\nfd = "ro"\nproperty = "no-write-fd"\n'
    )
    result = play(text, "explicit-reopen")
    assert result.outcome is Outcome.MEETS, result.reason
    assert result.trace[1].actions == ("reopen base read-only=off",
                                       "reopen base read-only=on", "blockdev-del top")
    # on a read/write disk the base stays read/write: it is the active layer
    rw = play(text.replace("readonly = true\n", ""), "explicit-reopen")
    assert rw.trace[1].state["base"].fd.value == "rw"
    assert rw.trace[1].actions == ("reopen base read-only=off", "blockdev-del top")
