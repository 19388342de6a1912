"""The report: golden output, mailing-list rules, JSON schema, determinism."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from optcompare.cli import app

runner = CliRunner()
HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SELECTION = ["report", "-p", "qemu-3.1", "-p", "qemu-4.1", "--scenarios", "tests/golden/scenarios"]
"""The golden files record the command that made them, so the scenarios are named as
a user at the top of the checkout would name them (see ``at_top``)."""


@pytest.fixture(autouse=True)
def at_top(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN.parent.parent)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def full_markdown() -> str:
    return invoke("report", "--format", "markdown")


@pytest.fixture(scope="module")
def full_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(invoke("report", "--full", "--format", "json"))
    return data


def test_the_reply_replays_no_skew_and_full_does(full_json: dict[str, Any]) -> None:
    """The reply shows no skew matrix: its every client on every build is --full's."""
    reply = json.loads(invoke("report", "--format", "json"))
    assert (reply["full"], reply["skew"], reply["skew_notes"]) == (False, [], [])
    assert full_json["full"] is True
    clients = {c["client"] for c in full_json["skew"]}
    builds = {c["build"] for c in full_json["skew"]}
    assert len(full_json["skew"]) == len(clients) * len(builds) > 0
    assert [n["client"] for n in full_json["skew_notes"]] == ["legacy"]
    assert reply["matrix"] == full_json["matrix"]


def test_golden_markdown() -> None:
    assert invoke(*SELECTION, "-f", "markdown") == (GOLDEN / "report-3.1-4.1.md").read_text()


def test_golden_reply() -> None:
    """The default report on the built-in inputs, as a reviewer would send it."""
    assert invoke("report", "-f", "markdown") == (GOLDEN / "reply.md").read_text()


def test_golden_full() -> None:
    assert invoke("report", "--full", "-f", "markdown") == \
        (GOLDEN / "report-full.md").read_text()


def test_golden_text() -> None:
    expected = (GOLDEN / "report-3.1-4.1.txt").read_text()
    assert invoke(*SELECTION, "-f", "text", "--width", "100") == expected


def assert_mailing_list_rules(markdown: str) -> list[str]:
    """Every line, fenced ones included, within 76 columns; ASCII; nothing quoted."""
    lines = markdown.splitlines()
    for number, line in enumerate(lines, 1):
        assert line.isascii(), number
        assert line == line.rstrip(), f"trailing space on line {number}"
        assert not line.startswith(">") and not line.startswith("From "), number
        assert len(line) <= 76, f"line {number} is {len(line)} columns"
        assert "(s)" not in line, f"line {number} does not count: {line}"
    assert sum(line.startswith("```") for line in lines) % 2 == 0
    assert "---" in lines
    return lines


def test_the_reply_follows_every_mailing_list_rule(full_markdown: str) -> None:
    lines = assert_mailing_list_rules(full_markdown)
    assert len(lines) <= 160
    assert lines[2] == "## Decision"
    assert lines.index("---") > lines.index("## Evidence")
    assert any(line.startswith("Reproduce with optcompare ") and line.endswith(
        ": optcompare report --format markdown") for line in lines[lines.index("---"):])


def test_full_follows_every_mailing_list_rule() -> None:
    lines = assert_mailing_list_rules(invoke("report", "--full", "--format", "markdown"))
    assert lines.index("---") > lines.index("## Considered options")


def test_full_sections_come_in_order() -> None:
    text = invoke("report", "--full", "--format", "markdown")
    order = ["## Decision", "## Verdict matrix", "## Evidence", "## Truth tables",
             "## Introspection visibility", "## Compatibility\n", "## Scenario results",
             "## Scenario failures", "## Version skew", "## Considered options", "\n---\n"]
    positions = [text.index(mark) for mark in order]
    assert positions == sorted(positions)


def test_json_validates_against_the_shipped_schema(full_json: dict[str, Any]) -> None:
    schema = json.loads(
        resources.files("optcompare.render").joinpath("report.schema.json").read_text()
    )
    jsonschema.validate(full_json, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**full_json, "kind": "other"}, schema)


def test_verdict_matrix_reads_as_computed(full_json: dict[str, Any]) -> None:
    criteria = [c["id"] for c in full_json["criteria"]]
    matrix = {row["policy"]: dict(zip(criteria, row["cells"], strict=True))
              for row in full_json["matrix"]}
    commit = matrix["qemu-3.1"]["block-commit"]
    assert commit["mark"] == "no"
    assert commit["reason"]["type"] == "ScenarioFailure"
    assert "Block node is read-only" in commit["reason"]["why"]
    assert matrix["qemu-4.0"]["block-commit"]["mark"] == "yes"
    assert matrix["qemu-4.0"]["schema-alone"]["reason"]["type"] == "VersionOnly"
    assert matrix["qemu-4.0"]["detectable"]["mark"] == "no"
    assert matrix["option-1"]["no-break"]["mark"] == "no"
    assert "host_cdrom" in matrix["option-1"]["accuracy"]["reason"]["false_positives"]
    assert "file@windows" in matrix["option-1"]["accuracy"]["reason"]["false_positives"]
    assert matrix["option-2"]["schema-alone"]["mark"] == "yes"
    assert matrix["option-2"]["cacheable"]["mark"] == "yes"
    assert matrix["option-2"]["extra-command"]["reason"]["commands"] == ["query-qemu-features"]
    assert matrix["option-3"]["granularity"]["reason"]["granularity"] == "per driver"
    assert matrix["option-3"]["later-dynamic"]["mark"] == "yes"
    assert matrix["option-3"]["facade"]["mark"] == "no"
    cost = matrix["option-3"]["cost"]["reason"]
    assert (cost["valid"], cost["combinations"]) == (18, 27)
    assert matrix["qemu-4.1"]["schema-alone"]["mark"] == "yes"
    assert matrix["qemu-4.1"]["accuracy"]["reason"]["false_positives"] == ["host_cdrom"]
    for cells in matrix.values():
        assert all(cell["source"]["policy"] for cell in cells.values())
        assert all(cell["mark"] in ("yes", "no", "n/a", "ERR") for cell in cells.values())


def test_every_format_is_deterministic(tmp_path: Path) -> None:
    for fmt in ("markdown", "json", "text", "html", "svg"):
        first = tmp_path / f"a.{fmt}"
        second = tmp_path / f"b.{fmt}"
        invoke(*SELECTION, "-f", fmt, "-o", str(first))
        invoke(*SELECTION, "-f", fmt, "-o", str(second))
        assert first.read_bytes() == second.read_bytes(), fmt
        assert first.stat().st_size > 1000
    assert (tmp_path / "a.html").read_text().lstrip().startswith("<!DOCTYPE html>")
    assert "<svg" in (tmp_path / "a.svg").read_text()


def test_html_is_only_for_report() -> None:
    result = runner.invoke(app, ["table", "-f", "html"])
    assert result.exit_code == 2
    assert "'html' is not one of text, markdown, json" in result.stderr


def test_the_stored_form_of_the_full_report_renders_the_same() -> None:
    """The result cache keeps the report data as JSON: nothing may be lost on the way."""
    from optcompare.analysis.report import build_report
    from optcompare.analysis.report_model import Report
    from optcompare.policies import registry
    from optcompare.render import codec
    from optcompare.render.formats import Format, render
    from optcompare.render.report_views import report_view
    from optcompare.scenario import files, load

    data = build_report(registry.select([]), load.load_all(files.discover(None)), full=True)
    stored = codec.decode(Report, json.loads(json.dumps(codec.encode(data), ensure_ascii=True)))
    assert stored == data
    for fmt in (Format.MARKDOWN, Format.JSON, Format.TEXT):
        assert render(fmt, "report", stored, report_view, width=100) == \
            render(fmt, "report", data, report_view, width=100), fmt


def test_the_report_is_a_tree_of_frozen_dataclasses() -> None:
    """Analysis hands render a typed model, never a dict read back by key."""
    import dataclasses
    import typing

    from optcompare.analysis import report_model
    from optcompare.analysis.report import build_report
    from optcompare.render.report_views import report_view

    assert typing.get_type_hints(report_view)["report"] is report_model.Report
    assert typing.get_type_hints(build_report)["return"] is report_model.Report
    seen: set[type] = set()

    def walk(hint: object) -> None:
        for arg in typing.get_args(hint):
            walk(arg)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint not in seen:
            seen.add(hint)
            assert hint.__dataclass_params__.frozen, hint  # type: ignore[attr-defined]
            for field_type in typing.get_type_hints(hint).values():
                assert field_type is not typing.Any, hint
                walk(field_type)

    walk(report_model.Report)
    assert report_model.Cell in seen and report_model.Finding in seen
    for name in ("report.py", "report_model.py"):
        source = (Path(report_model.__file__).parent / name).read_text()
        assert "dict[str, Any]" not in source and "Any" not in source.split('"""', 2)[2]


def test_text_reply_fits_a_mail_in_a_wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --width the text reply keeps the mail's 76 columns and 160 lines."""
    monkeypatch.setenv("COLUMNS", "200")
    lines = invoke("report", "-f", "text").splitlines()
    assert len(lines) <= 160
    assert max(len(line) for line in lines) <= 76
    monkeypatch.setenv("COLUMNS", "60")
    assert max(len(line) for line in invoke(*SELECTION, "-f", "text").splitlines()) <= 60


def _reproduce_command(markdown: str) -> list[str]:
    """The command the provenance names, its wrapped continuation lines joined."""
    import shlex

    lines = markdown.split("\n---\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Reproduce with"))
    text = lines[start].split(": ", 1)[1]
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        text += " " + line.strip()
    return shlex.split(text)


@pytest.mark.parametrize("extra", [[], ["--full"]])
def test_the_reproduce_line_makes_the_same_report(extra: list[str]) -> None:
    """Run as it is written, the command gives back the very reply it is printed in."""
    markdown = invoke(*SELECTION, "-f", "markdown", *extra)
    command = _reproduce_command(markdown)
    assert command[:2] == ["optcompare", "report"]
    assert "--policy" in command and "--scenarios" in command
    assert invoke(*command[1:]) == markdown


def test_text_lines_end_without_spaces() -> None:
    """A text reply pasted into a mail or a patch review carries no trailing spaces."""
    for width in ("40", "76", "100"):
        out = invoke(*SELECTION, "-f", "text", "--width", width)
        assert out.count("\n") > 20
        assert all(line == line.rstrip() for line in out.splitlines()), width


@pytest.mark.parametrize("policy, verb", [("qemu-4.1", "meets"), ("qemu-3.0", "does not meet")])
def test_a_report_on_one_build_speaks_of_one_build(policy: str, verb: str) -> None:
    text = invoke("report", "-p", policy, "-f", "markdown")
    decision = " ".join(text[text.index("## Decision"):text.index("## Verdict")].split())
    assert decision.startswith(f"## Decision The one build measured, {policy}, {verb} both "
                               "of the thread's requirements"), decision
    for wrong in ("Of the 1 builds", "Not dominated", "elsewhere"):
        assert wrong not in decision


def test_the_madr_block_says_what_each_option_fails() -> None:
    """A failed criterion is named as failed: "Bad, because no break for 3.1 users"
    said the opposite of what it meant."""
    lines = invoke("report", "--full", "-f", "markdown").splitlines()
    bad = [line for line in lines if line.startswith("- Bad, because")]
    good = [line for line in lines if line.startswith("- Good, because")]
    assert bad and good
    assert all(line.startswith('- Bad, because it fails "') for line in bad), bad[:3]
    assert not any("fails" in line.split("(")[0] for line in good)


def test_full_nests_each_table_and_comparison_under_its_section() -> None:
    headings = [line for line in invoke("report", "--full", "-f", "markdown").splitlines()
                if line.startswith("#")]
    parent = None
    children: dict[str | None, int] = {}
    for heading in headings:
        if heading.startswith("### "):
            children[parent] = children.get(parent, 0) + 1
        elif heading.startswith("## "):
            parent = heading[3:]
    assert set(children) == {"Truth tables", "Compatibility"}
    assert children["Compatibility"] == 6
    assert not any(h.startswith("## qemu-") or h.startswith("## option-") for h in headings)


def _table_after(markdown: str, heading: str) -> list[list[str]]:
    """The rows (header first) of every table under ``heading``, split tables joined."""
    lines = markdown[markdown.index(heading):].splitlines()[1:]
    end = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
    rows: list[list[str]] = []
    for line in lines[:end]:
        if line.startswith("|") and not line.startswith("|-"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_skew_cell_says_how_many_workflows_it_ran(full_json: dict[str, Any]) -> None:
    """The legend gives the usual count; a cell that ran another number says met/ran
    (explicit-reopen's libvirt ran 8 of the workflows on qemu-3.1, not 15)."""
    cells = full_json["skew"]
    runs = [c["ran"] for c in cells]
    usual = max(set(runs), key=runs.count)
    odd = [c for c in cells if c["ran"] != usual]
    assert odd, "the built-in inputs have a cell that ran fewer workflows"
    markdown = invoke("report", "--full", "-f", "markdown")
    assert f"workflows met (of {usual} run; met/run where a cell ran another number)" in \
        " ".join(markdown.split())
    rows = _table_after(markdown, "## Version skew")
    header = rows[0]
    shown = {(row[0], column): cell for row in rows[1:]
             for column, cell in zip(header[1:], row[1:], strict=True)}
    short = {p["name"]: label for p, label in zip(
        full_json["policies"], header[1:], strict=True)}
    for c in cells:
        text = shown[(short.get(c["client"], c["client"]), short[c["build"]])]
        count = text.split()[0]
        assert count == (str(c["met"]) if c["ran"] == usual else f"{c['met']}/{c['ran']}"), c
        assert ("FP" in text) == bool(c["false_positives"])
        assert ("FN" in text) == bool(c["false_negatives"])


def test_the_skew_command_fits_its_columns_with_short_labels() -> None:
    text = invoke("skew", "-f", "text", "--width", "100")
    assert "| client  | 3.0 | 3.1 | 4.0   | 4.0.0 | o1" in text
    assert "er explicit-reopen" in " ".join(text.split())
    row = next(line for line in text.splitlines() if line.startswith("| er "))
    assert row.split("|")[3].strip() == "7/8"
