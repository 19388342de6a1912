"""Compatibility findings: each level, both directions, --accept, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optcompare.analysis import compat, truth_table
from optcompare.analysis.scenarios import probe
from optcompare.cli import app
from optcompare.inputs import ACCEPT_LIMIT
from optcompare.model.drivers import Driver
from optcompare.model.modes import Behaviour, Mode
from optcompare.model.options import Written
from optcompare.policies import registry
from optcompare.policies.base import Frontend, Policy
from optcompare.render.compat_views import notes
from optcompare.scenario import files, load

runner = CliRunner()
SCENARIOS = load.load_all(files.builtin_files())


def report(policy: str, base: str) -> compat.Report:
    return compat.compare(registry.get(policy), [registry.get(base)], SCENARIOS)


def by_level(r: compat.Report, level: compat.Level) -> list[compat.Finding]:
    return [f for f in r.findings if f.level is level]


def test_option_1_breaks_every_auto_read_only_combination_on_every_driver() -> None:
    r = report("option-1", "qemu-3.1")
    breaks = [f for f in by_level(r, compat.Level.BREAK) if f.kind == "cmdline"]
    base = registry.get("qemu-3.1")
    for platform in ("posix", "windows"):
        build = base.build(compat.Platform(platform))
        for frontend in ("blockdev", "drive"):
            # -drive words a format's rejection and a protocol's apart: two findings.
            found: dict[str, set[str]] = {}
            for f in breaks:
                if f"/{platform}/{frontend}/" in f.id:
                    found.setdefault(f.id.split("/")[5], set()).update(
                        f.id.split("/")[6].split("+"))
            using = [k for k in found if "auto-read-only" in k]
            assert len(using) == 6  # 2 x 3 tri-state combinations that give auto-read-only
            # iser is no -blockdev driver: rejected on both builds, so no break.
            drivers = {d for d, v in build.drivers.items() if frontend == "drive" or v.blockdev}
            for combo in using:
                assert found[combo] == drivers, combo
    assert not [f for f in breaks if "auto-read-only" not in f.id.split("/")[5]]
    # and the 3.1 libvirt's literal command line no longer works
    assert "qemu-3.1/break/workflow/cmdline-3-1-backing" in {f.id for f in r.findings}


def test_options_2_and_3_do_not_break_3_1() -> None:
    for policy in ("option-2", "option-3"):
        assert by_level(report(policy, "qemu-3.1"), compat.Level.BREAK) == [], policy


def test_4_0_changes_file_posix_silently_and_leaves_network_drivers_alone() -> None:
    r = report("qemu-4.0", "qemu-3.1")
    silent = by_level(r, compat.Level.SILENT)
    ids = {f.id for f in silent}
    assert ("qemu-3.1/silent/cmdline/posix/blockdev/read-only=off,auto-read-only=on/"
            "file+host_device") in ids
    assert ("qemu-3.1/silent/cmdline/posix/blockdev/read-only=off,auto-read-only=on/"
            "host_cdrom") in ids
    # every -drive user: the default auto-read-only=on now opens the image read-only
    assert "qemu-3.1/silent/cmdline/posix/drive/(none)/file+host_device" in ids
    assert not any("gluster" in f.id or "nbd" in f.id for f in silent)
    reopening = [f for f in silent if "file+host_device" in f.id]
    assert reopening and all(f.reopen_by_path for f in reopening)
    assert all("/dev/fdset" in notes(f)[0] for f in reopening)


def test_option_3_announces_the_same_change_for_file_and_host_device() -> None:
    r = report("option-3", "qemu-3.1")
    announced = {f.id for f in by_level(r, compat.Level.INFO)}
    assert ("qemu-3.1/info/cmdline/posix/blockdev/read-only=off,auto-read-only=on/"
            "file+host_device") in announced
    silent = {f.id for f in by_level(r, compat.Level.SILENT)}
    assert not any("file+host_device" in i for i in silent)
    # host_cdrom's change is not announced by option 3 either
    assert any(i.endswith("/host_cdrom") for i in silent)


def test_new_client_on_old_build_stays_safe_or_breaks() -> None:
    safe = report("option-3", "qemu-3.1")
    assert "qemu-3.1/info/detection/safe" in {f.id for f in safe.findings}
    sniffing = report("qemu-4.0", "qemu-3.1")
    assert "qemu-3.1/info/detection/safe" in {f.id for f in sniffing.findings}


def test_cli_exit_codes_and_accept_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["compat", "option-1", "--against", "qemu-3.1", "-f", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["kind"] == "compat"
    breaks = [f["id"] for f in data["findings"] if f["level"] == "break"]
    assert breaks
    failing = runner.invoke(app, ["compat", "option-1", "--against", "qemu-3.1",
                                  "--fail-on", "break"])
    assert failing.exit_code == 1
    accept = tmp_path / "accepted.txt"
    accept.write_text("# reviewed in the option-1 thread\n" + "\n".join(breaks) + "\n")
    accepted = runner.invoke(app, ["compat", "option-1", "--against", "qemu-3.1",
                                   "--fail-on", "break", "--accept", str(accept)])
    assert accepted.exit_code == 0
    silent = runner.invoke(app, ["compat", "qemu-4.0", "--against", "qemu-3.1",
                                 "--fail-on", "silent"])
    assert silent.exit_code == 1
    assert runner.invoke(app, ["compat", "qemu-4.0", "--against", "qemu-3.1",
                               "--fail-on", "break"]).exit_code == 0


def test_malformed_accept_file_is_an_input_error(tmp_path: Path) -> None:
    accept = tmp_path / "bad.txt"
    accept.write_text("qemu-3.1/break/x\nthis is not an id\n")
    result = runner.invoke(app, ["compat", "option-1", "--accept", str(accept)])
    assert result.exit_code == 2
    assert f"{accept}:2: expected one finding id per line" in result.stderr
    missing = runner.invoke(app, ["compat", "option-1", "--accept", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_an_accept_file_id_that_names_no_finding_is_a_warning(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["compat", "option-1", "--against", "qemu-3.1", "-f", "json"])
    breaks = [f["id"] for f in json.loads(listed.stdout)["findings"] if f["level"] == "break"]
    accept = tmp_path / "accepted.txt"
    accept.write_text("\n".join([breaks[0], "# a typo:", breaks[1] + "x", *breaks[1:],
                                  breaks[0]]) + "\n")
    result = runner.invoke(app, ["compat", "option-1", "--against", "qemu-3.1",
                                 "--fail-on", "break", "--accept", str(accept)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"optcompare: warning: {accept}:3: {breaks[1]}x is no finding of option-1 against "
        "qemu-3.1"]


@pytest.mark.parametrize("kind", ["fifo", "device", "too large"])
def test_an_accept_file_is_read_within_the_input_limits(tmp_path: Path, kind: str) -> None:
    accept = tmp_path / "accepted.txt"
    if kind == "fifo":
        os.mkfifo(accept)
    elif kind == "device":
        accept.symlink_to("/dev/zero")
    else:
        accept.write_text("# padding\n" * ((ACCEPT_LIMIT // 10) + 1))
    proc = subprocess.run([sys.executable, "-m", "optcompare", "compat", "option-1",
                           "--against", "qemu-3.1", "--accept", str(accept)],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"optcompare: error: {accept}: "), lines
    assert ("not a regular file" if kind != "too large" else "too large") in lines[0]


def test_no_older_baseline() -> None:
    result = runner.invoke(app, ["compat", "qemu-3.0"])
    assert result.exit_code == 2
    assert "no released build is older than qemu-3.0" in result.stderr


def test_output_groups_by_level_with_counts_first() -> None:
    result = runner.invoke(app, ["compat", "qemu-4.0", "--against", "qemu-3.1", "-f", "markdown"])
    text = result.stdout
    assert text.index("| break") < text.index("## silent") < text.index("## info")


# -- what compat computes once and shares ---------------------------------------------


@dataclass(frozen=True)
class _OneCellDiffers(Policy):
    """qemu-3.1, except that nbd given read-only=off alone opens read-only."""

    def mode(self, effective: Written, driver: Driver) -> Mode:
        if driver.name == "nbd" and effective == {"read-only": False, "auto-read-only": False}:
            return Mode.HARD_RO
        return super().mode(effective, driver)


def test_a_single_combination_that_changes_is_found() -> None:
    base = registry.get("qemu-3.1")
    changed = replace_policy(_OneCellDiffers, base, name="one-cell")
    found = compat.compare(changed, [base], ())  # not registered: no workflows
    cmdline = {f.id for f in found.findings if f.kind == "cmdline"}
    # what leaves both off: -drive defaults auto-read-only on, -blockdev off
    written = {"blockdev": ("read-only=off,auto-read-only=off", "read-only=off",
                            "auto-read-only=off", "(none)"),
               "drive": ("read-only=off,auto-read-only=off", "auto-read-only=off")}
    assert cmdline == {f"qemu-3.1/silent/cmdline/{platform}/{frontend}/{options}/nbd"
                       for platform in ("posix", "windows")
                       for frontend, combinations in written.items()
                       for options in combinations}


def replace_policy(kind: type[Policy], policy: Policy, **changes: object) -> Policy:
    values = {f.name: getattr(policy, f.name) for f in fields(policy)}
    return kind(**{**values, **changes})  # type: ignore[arg-type]


def test_the_truth_table_outcomes_are_its_rows_outcomes() -> None:
    for policy in registry.all_policies():
        for platform in compat.Platform:
            build = policy.build(platform)
            for frontend in Frontend:
                for driver in build.drivers:
                    rows = truth_table.driver_rows(build, driver, frontend)
                    assert truth_table.driver_outcomes(build, driver, frontend) == tuple(
                        (r.cell.mode, r.cell.writable, r.cell.unwritable) for r in rows)


def test_combinations_are_kept_per_build_and_options_written() -> None:
    old, new = registry.get("qemu-3.1").build(), registry.get("option-1").build()
    on_old = compat._cells(new, "file", Frontend.BLOCKDEV, old)
    on_own = compat._cells(new, "file", Frontend.BLOCKDEV, new)
    assert on_old is not on_own
    assert "auto-read-only" in on_old.cells[0].resolution.written
    assert "auto-read-only-v2" in on_own.cells[0].resolution.written
    assert compat._cells(old, "file", Frontend.BLOCKDEV, old).outcomes != on_old.outcomes


def test_texts_follow_the_domains() -> None:
    boolean = (("read-only", (True, False)),)
    enum = (("read-only", ("on", "auto")),)
    assert compat._texts(boolean) == ("read-only=on", "read-only=off", "(none)")
    assert compat._texts(enum) == ("read-only=on", "read-only=auto", "(none)")


def test_schema_names_are_kept_per_build() -> None:
    old, new = registry.get("qemu-3.1").build(), registry.get("option-2").build()
    assert "query-qemu-features" in compat._names(new)[compat.SchemaPart.COMMAND]
    assert "query-qemu-features" not in compat._names(old)[compat.SchemaPart.COMMAND]


def test_the_probing_copy_is_the_scenario_s_own() -> None:
    first, second = [s for s in SCENARIOS if any(step.do == "start" for step in s.steps)][:2]
    for scenario in (first, second, first):
        probing = compat._probing(scenario)
        assert probing.setup.frontend == "auto"
        assert probing.steps == scenario.steps and probing.name == scenario.name


def test_a_probe_is_kept_per_client_and_build() -> None:
    option_2, option_3 = registry.get("option-2"), registry.get("option-3")
    assert probe(option_2, option_2.build()).evidence != probe(option_3, option_2.build()).evidence
    assert probe(option_2, option_2.build()).dynamic != probe(
        option_2, registry.get("qemu-3.1").build()).dynamic


def test_verdicts_are_kept_per_build_driver_and_frontend() -> None:
    policy = registry.get("qemu-4.0")
    build, later = policy.build(), policy.later("file", Behaviour.FALLBACK).build()
    dynamic = truth_table.driver_outcomes(build, "file", Frontend.BLOCKDEV)
    assert Mode.DYNAMIC_RO in {mode for mode, *_ in dynamic}
    assert Mode.DYNAMIC_RO not in {mode for mode, *_ in truth_table.driver_outcomes(
        later, "file", Frontend.BLOCKDEV)}
    assert truth_table.driver_outcomes(build, "file", Frontend.DRIVE) != dynamic
    assert truth_table.driver_outcomes(build, "nbd", Frontend.BLOCKDEV) != dynamic
    assert truth_table.driver_outcomes(build, "file", Frontend.BLOCKDEV) == dynamic


def test_only_the_findings_named_accepted_are_accepted() -> None:
    base = registry.get("qemu-3.1")
    found = report("option-1", "qemu-3.1").findings
    named = frozenset({found[0].id, found[-1].id})
    marked = compat.compare(registry.get("option-1"), [base], SCENARIOS,
                            accepted=named).findings
    assert [f.id for f in marked] == [f.id for f in found]
    assert {f.id for f in marked if f.accepted} == named
    assert not any(f.accepted for f in found)
