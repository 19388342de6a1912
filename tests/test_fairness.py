"""The report's fairness rules and its decision, each on the built-in inputs.

- a change that comes from a later release's own driver change (4.1's vmdk)
  is the release's: flagged, and it decides no cell;
- a change is announced only when the signal describes it correctly
  (option-2's flag says host_cdrom is dynamic; it is not);
- a criterion on which every policy scores the same is said once, not per
  option.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optcompare.analysis import compat
from optcompare.analysis import report as analysis
from optcompare.analysis import report_model as m
from optcompare.cli import app
from optcompare.policies import registry
from optcompare.scenario import files, load

SCENARIOS = load.load_all(files.builtin_files())
runner = CliRunner()


@pytest.fixture(scope="module")
def report() -> m.Report:
    return analysis.build_report(registry.reported([]), SCENARIOS)


@pytest.fixture(scope="module")
def reply() -> str:
    result = runner.invoke(app, ["report", "-f", "markdown"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _compare(policy: str, ground: str | None) -> compat.Report:
    return compat.compare(registry.get(policy), [registry.get("qemu-3.1")], SCENARIOS,
                          ground=registry.get(ground) if ground else None)


def test_vmdk_in_4_1_is_the_release_s_and_decides_no_cell() -> None:
    fair = _compare("qemu-4.1", "qemu-4.0")
    vmdk = [f for f in fair.findings if "vmdk" in f.drivers and f.level is compat.Level.SILENT]
    assert len(vmdk) == 12 and all(f.release for f in vmdk)
    assert not any(f.release for f in fair.findings if "vmdk" not in f.drivers)
    # Only vmdk's findings: the cell is met, and says where they came from.
    only = compat.Report(fair.policy, fair.against, tuple(vmdk))
    cell = analysis._compat_cell("no-silent", only, compat.Level.SILENT, "qemu-4.1")
    assert cell.mark is m.Mark.YES
    assert isinstance(cell.reason, m.CompatCount)
    assert cell.reason.release_drivers == ("vmdk",) and cell.reason.release_findings == 12
    # Without the rule the same findings would fail it.
    unfair = _compare("qemu-4.1", None)
    plain = [f for f in unfair.findings if "vmdk" in f.drivers
             and f.level is compat.Level.SILENT]
    assert plain and not any(f.release for f in plain)
    unfair_cell = analysis._compat_cell("no-silent", compat.Report(
        unfair.policy, unfair.against, tuple(plain)), compat.Level.SILENT, "qemu-4.1")
    assert unfair_cell.mark is m.Mark.NO


def test_the_rule_leaves_options_on_4_0_alone() -> None:
    assert compat.release_changes(registry.get("option-3"), registry.get("qemu-4.0")) == set()
    assert compat.release_changes(registry.get("qemu-4.1"),
                                  registry.get("qemu-4.0")) == {"vmdk"}


def test_option_2_host_cdrom_is_not_an_announcement() -> None:
    found = _compare("option-2", "qemu-4.0").findings
    cdrom = [f for f in found if f.kind == "cmdline" and f.drivers == ("host_cdrom",)
             and f.platform == "posix"]
    assert cdrom and all(f.level is compat.Level.SILENT and f.misdescribed for f in cdrom)
    # what it describes correctly stays announced
    announced = [f for f in found if f.kind == "cmdline" and f.level is compat.Level.INFO
                 and "file" in f.drivers and f.platform == "posix"]
    assert announced and not any(f.misdescribed for f in announced)
    # option-3 does not advertise host_cdrom at all: the same change, the same level
    three = _compare("option-3", "qemu-4.0").findings
    same = {(f.frontend, f.options) for f in three if f.drivers == ("host_cdrom",)
            and f.level is compat.Level.SILENT and f.platform == "posix"}
    assert same == {(f.frontend, f.options) for f in cdrom}


def test_the_option_2_cell_says_why(report: m.Report) -> None:
    cell = report.cell("option-2", "no-silent")
    assert cell.mark is m.Mark.NO
    assert isinstance(cell.reason, m.CompatCount)
    assert cell.reason.misdescribed == ("host_cdrom",)


def test_a_criterion_the_same_for_everyone_is_said_once(report: m.Report, reply: str) -> None:
    common = {c.criterion: c.mark for c in report.decision.common}
    assert common == {"readonly-disks": m.Mark.YES, "later-fallback": m.Mark.NO}
    assert "later-fallback" not in report.decision.deciding
    matrix = reply[reply.index("## Verdict matrix"):reply.index("## Evidence")]
    assert "| later-fb" not in matrix and "| ro-disks" not in matrix
    assert reply.count("later-fb,") == 1
    assert " ".join(reply.split()).count("read-only disks refuse guest writes (8 of 8)") == 1
    solves = reply.index("What no option solves:")
    assert solves < reply.index("later-fb, 8 of 8 no") < reply.index("## Verdict matrix")


def test_common_needs_two_policies_the_criterion_applies_to(report: m.Report) -> None:
    facade = [c.mark for c in (report.cell(r.policy, "facade") for r in report.matrix)
              if c.mark is not m.Mark.NA]
    assert facade == [m.Mark.NO]  # only option-3 has an extra option
    assert "facade" in report.decision.deciding


def test_the_decision(report: m.Report) -> None:
    d = report.decision
    assert d.meets_thread == ("qemu-4.0", "option-1", "option-2", "option-3",
                              "explicit-reopen", "qemu-4.1")
    assert d.non_dominated == ("option-3", "explicit-reopen", "qemu-4.1")
    assert {x.policy: x.by for x in d.dominated} == {
        "qemu-4.0": ("qemu-4.1",), "option-1": ("qemu-4.1",), "option-2": ("qemu-4.1",)}
    trade = {t.policy: t for t in d.trade_offs}
    assert "cost" in trade["option-3"].loses and "granularity" in trade["option-3"].wins
    assert trade["explicit-reopen"].loses == ("no-experimental",)
    assert "accuracy" in trade["qemu-4.1"].loses


def test_dominance_ignores_criteria_that_do_not_apply() -> None:
    def row(*marks: m.Mark) -> m.MatrixRow:
        source = m.Source(m.SourceKind.SCENARIO, "p")
        return m.MatrixRow("p", tuple(m.Cell(str(i), mark, None, source)
                                      for i, mark in enumerate(marks)))

    yes, no, na = m.Mark.YES, m.Mark.NO, m.Mark.NA
    assert analysis.dominates(row(yes, yes), row(yes, no), [0, 1])
    assert not analysis.dominates(row(yes, no), row(no, yes), [0, 1])
    assert analysis.dominates(row(yes, na), row(no, yes), [0, 1])
    assert not analysis.dominates(row(yes, yes), row(yes, yes), [0, 1])


def test_the_opening_names_them_with_counted_figures(reply: str) -> None:
    opening = " ".join(reply[:reply.index("## Verdict matrix")].split())
    assert "Of the 8 builds measured, 6 meet both of the thread's requirements" in opening
    assert "Not dominated: option-3, explicit-reopen and qemu-4.1." in opening
    assert "9 of 27 combinations of file's 3 options rejected" in opening
    assert "advertises dynamic for host_cdrom, which is not" in opening
    matrix = " ".join(reply[reply.index("## Verdict matrix"):reply.index("## Evidence")].split())
    assert "12 findings on vmdk: the release's, not the option's" in matrix


def test_the_skew_matrix_says_why_legacy_does_well() -> None:
    result = runner.invoke(app, ["report", "--full", "-f", "markdown"])
    text = " ".join(result.stdout.split())
    assert "Why legacy does well: it never probes" in text
    assert "it only uses -drive, whose implicit backing nodes are reopened" in text


def test_what_no_option_solves_names_each_reason(report: m.Report, reply: str) -> None:
    # nbd-chain-commit: fallback nodes refuse the commit on every dynamic option, and
    # the hands-on client cannot reopen an nbd node at all before 4.2.
    assert "nbd-chain-commit" in report.decision.unmet_everywhere
    solves = " ".join(reply[reply.index("What no option solves:"):
                            reply.index("## Verdict matrix")].split())
    assert ("nbd-chain-commit, the core commit on NBD exports that are read-only at start "
            "and writable later (a fallback driver), fails on every build: step 2 "
            "(block-commit top=mid base=base): Block node is read-only; explicit-reopen: "
            "Block format 'nbd' used by node "
            "'base-storage' does not support reopening files.") in solves
