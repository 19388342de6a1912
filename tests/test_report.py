"""The report: golden output, mailing-list rules, JSON schema, determinism."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from optcompare.cli import app

runner = CliRunner()
HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
SELECTION = ["report", "-p", "qemu-3.1", "-p", "qemu-4.1", "--scenarios",
             str(GOLDEN / "scenarios")]


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def full_markdown() -> str:
    return invoke("report", "--format", "markdown")


@pytest.fixture(scope="module")
def full_json() -> dict[str, object]:
    data: dict[str, object] = json.loads(invoke("report", "--format", "json"))
    return data


def test_golden_markdown() -> None:
    assert invoke(*SELECTION, "-f", "markdown") == (GOLDEN / "report-3.1-4.1.md").read_text()


def test_golden_text() -> None:
    expected = (GOLDEN / "report-3.1-4.1.txt").read_text()
    assert invoke(*SELECTION, "-f", "text", "--width", "100") == expected


def test_markdown_follows_every_mailing_list_rule(full_markdown: str) -> None:
    fenced = False
    lines = full_markdown.splitlines()
    for number, line in enumerate(lines, 1):
        assert line.isascii(), number
        assert line == line.rstrip(), f"trailing space on line {number}"
        assert not line.startswith(">") and not line.startswith("From "), number
        if line.startswith("```"):
            fenced = not fenced
            continue
        assert fenced or len(line) <= 76, f"line {number} is {len(line)} columns"
    assert not fenced
    assert "---" in lines
    assert lines.index("---") > lines.index("## Considered options")
    # the verdict paragraph comes first
    assert lines[2] == "## Verdict"


def test_sections_come_in_order(full_markdown: str) -> None:
    order = ["## Verdict", "## Verdict matrix", "## Truth tables", "## Introspection visibility",
             "## Compatibility:", "## Scenario results", "## Scenario failures",
             "## Version skew", "## Considered options", "\n---\n"]
    positions = [full_markdown.index(mark) for mark in order]
    assert positions == sorted(positions)


def test_json_validates_against_the_shipped_schema(full_json: dict[str, object]) -> None:
    schema = json.loads(
        resources.files("optcompare.render").joinpath("report.schema.json").read_text()
    )
    jsonschema.validate(full_json, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**full_json, "kind": "other"}, schema)


def test_verdict_matrix_reads_as_computed(full_json: dict[str, object]) -> None:
    matrix = {row["policy"]: row["cells"] for row in full_json["matrix"]}  # type: ignore[attr-defined]
    assert matrix["qemu-3.1"]["block-commit"]["good"] is False
    assert "Block node is read-only" in matrix["qemu-3.1"]["block-commit"]["value"]
    assert matrix["qemu-4.0"]["block-commit"]["good"] is True
    assert matrix["qemu-4.0"]["schema-alone"]["value"] == "no (version only)"
    assert matrix["qemu-4.0"]["detectable"]["value"].startswith("fragile")
    assert matrix["option-1"]["no-break"]["good"] is False
    assert "host_cdrom" in matrix["option-1"]["accuracy"]["value"]
    assert "file@windows" in matrix["option-1"]["accuracy"]["value"]
    assert matrix["option-2"]["schema-alone"]["good"] is True
    assert matrix["option-2"]["cacheable"]["good"] is True
    assert matrix["option-2"]["extra-command"]["good"] is False
    assert matrix["option-3"]["granularity"]["value"] == "per driver"
    assert matrix["option-3"]["later-dynamic"]["good"] is True
    assert matrix["option-3"]["facade"]["good"] is False
    assert "18/27 valid" in matrix["option-3"]["cost"]["value"]
    assert matrix["qemu-4.1"]["schema-alone"]["good"] is True
    assert matrix["qemu-4.1"]["accuracy"]["value"] == "no: FP host_cdrom"
    for cells in matrix.values():
        assert all(cell["source"] for cell in cells.values())


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
    assert "only available for 'report'" in result.stderr


def test_the_stored_form_of_the_full_report_renders_the_same() -> None:
    """The result cache keeps the report data as JSON: nothing may be lost on the way."""
    from optcompare.analysis.report import build_report
    from optcompare.policies import registry
    from optcompare.render.formats import Format, render
    from optcompare.render.report_views import report_view
    from optcompare.scenario import files, load

    data = build_report(registry.select([]), load.load_all(files.discover(None)))
    stored = json.loads(json.dumps(data, ensure_ascii=True))
    for fmt in (Format.MARKDOWN, Format.JSON, Format.TEXT):
        assert render(fmt, "report", stored, report_view, width=100) == \
            render(fmt, "report", data, report_view, width=100), fmt
