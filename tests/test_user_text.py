"""User text cannot forge output: control characters are shown escaped.

A scenario file (summary, source, option keys, expected error texts, probe
queries) and a plugin (title, source) carry an ESC sequence, a carriage
return, newlines followed by ``From `` and ``>``, a Unicode line separator
and a bidirectional override. In text, markdown, html and svg they are
written as escapes; no output line starts with ``From `` or ``>``; JSON
keeps every string as it was (escaped by JSON itself); stderr stays one
line.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
import test_plugins
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optcompare.cli import app
from optcompare.render import markdown, text
from optcompare.render.document import Document, Paragraph, Preformatted, Table
from optcompare.render.escape import ascii_text, printable, printable_model

runner = CliRunner()

# Raw control characters in output: anything below space but the newline,
# DEL and C1, the line and paragraph separators, bidi overrides.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

SUMMARY = "harmless\x1b[2J\x1b]0;pwned\x07\nFrom mallory@example.com\n> quoted"
SOURCE = "line\r\nFrom x\u2028> y\u202eevil"
OPTION = "\x1b[31mred\nFrom key"
ERROR = "\x1b[5mblink\n> x"
QUERY = "blockdev-add/arg-type/\x1b[1m\nFrom q"


def toml(text: str) -> str:
    """A TOML basic string: quotes, backslashes and the controls TOML forbids escaped."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '\x7f"\\' else c for c in text)
    return f'"{escaped}"'


SCENARIO = f"""\
[scenario]
name = "evil-text"
summary = {toml(SUMMARY)}
source = {toml(SOURCE)}

[setup]
frontend = "blockdev"

[[setup.images]]
name = "base"
[[setup.images]]
name = "top"

[[steps]]
do = "start"
[[steps]]
do = "blockdev-add"
image = "base"
options = {{ {toml(OPTION)} = true }}
expect = "error"
error = {toml(ERROR)}
[[steps]]
do = "probe"
query = {toml(QUERY)}
"""


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    directory = tmp_path / "scenarios"
    directory.mkdir()
    (directory / "evil-text.toml").write_text(SCENARIO, encoding="utf-8")
    return directory


def assert_safe(output: str) -> None:
    assert not RAW.findall(output), sorted(set(RAW.findall(output)))
    assert not [line for line in output.splitlines() if line.startswith(("From ", ">"))]


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def test_every_format_of_run_shows_scenario_text_escaped(scenarios: Path) -> None:
    path = str(scenarios / "evil-text.toml")
    for fmt in ("text", "markdown"):
        out = invoke("run", path, "-p", "qemu-4.1", "--format", fmt)
        assert_safe(out)
        assert printable(OPTION) in out.replace("\n", "")  # shown, as an escape
    data = json.loads(invoke("run", path, "-p", "qemu-4.1", "--format", "json"))
    assert_safe(json.dumps(data, indent=2))
    steps = [step["step"] for step in data["results"][0]["trace"]]
    assert any(OPTION in step for step in steps)  # JSON keeps the text as it was


@pytest.mark.parametrize("fmt", ["text", "markdown", "html", "svg"])
def test_every_format_of_the_report_shows_scenario_text_escaped(scenarios: Path, fmt: str
                                                                ) -> None:
    out = invoke("report", "--scenarios", str(scenarios), "-p", "qemu-3.1", "-p", "qemu-4.1",
                 "--full", "--format", fmt)
    assert_safe(out)
    assert "\x1b" not in out
    if fmt != "svg":  # the matrix slide names policies and criteria only
        assert "evil-text" in out


def test_the_report_json_has_no_raw_control_character(scenarios: Path) -> None:
    out = invoke("report", "--scenarios", str(scenarios), "-p", "qemu-4.1", "--format", "json")
    assert_safe(out)
    assert json.loads(out)["kind"] == "report"


def test_a_problem_on_stderr_stays_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SCENARIO.replace('[setup]\n', '[setup]\n"x\\nFrom y\\u001b[2J" = 1\n'),
                    encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "unknown key 'x\\nFrom y\\x1b[2J' in [setup]" in line
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("optcompare: error: ") and "\x1b" not in line


PLUGIN = """\
from dataclasses import replace
from optcompare.policies.qemu_3_1 import POLICY as BASE
POLICY = replace(BASE, name='loud', title='t\\x1b[2J\\nFrom plugin', source='s\\r\\n> q')
"""

install = test_plugins.install
site = test_plugins.site
fresh_registry = test_plugins.fresh_registry
plugins_on = test_plugins.plugins_on


@pytest.mark.usefixtures("plugins_on")
def test_plugin_text_is_shown_escaped(install: test_plugins.Install) -> None:
    install("optcompare-loud", "0.1", {"loud": "optcompare_other_loud:POLICY"},
            {"optcompare_other_loud": PLUGIN})
    for fmt in ("text", "markdown"):
        out = invoke("policies", "--width", "200", "--format", fmt)
        assert_safe(out)
        assert "t\\x1b[2J\\nFrom plugin" in out
    data = json.loads(invoke("policies", "--format", "json"))
    assert {p["name"]: p["title"] for p in data["policies"]}["loud"] == "t\x1b[2J\nFrom plugin"


def test_printable_escapes_each_kind_of_control_character() -> None:
    assert printable("plain text, UTF-8 \u00e9 too") == "plain text, UTF-8 \u00e9 too"
    assert printable("a\nb\rc\td\x00e\x1bf\x7fg\x85h") == (
        "a\\nb\\rc\\td\\x00e\\x1bf\\x7fg\\x85h")
    assert printable("\u2028\u2029\u202e\u2066") == "\\u2028\\u2029\\u202e\\u2066"


def test_every_string_of_a_document_is_escaped_whatever_its_block() -> None:
    document = Document("t\x1b", provenance=["p\n> x"])
    section = document.section("s\n")
    section.add(Paragraph("From a\nFrom b"))
    section.add(Table(("c\x1b",), (("v\nFrom w",),), caption="cap\r", notes=("n\x07",)))
    section.add(Preformatted(("l\n> m",)))
    safe = printable_model(document)
    assert_safe(markdown.render(safe))
    assert not RAW.findall(text.render(safe, 80))
    assert safe.title == "t\\x1b" and safe.provenance == ["p\\n> x"]
    table = safe.sections[0].blocks[1]
    assert isinstance(table, Table)
    assert (table.columns, table.rows, table.caption, table.notes) == (
        ("c\\x1b",), (("v\\nFrom w",),), "cap\\r", ("n\\x07",))
    assert document.title == "t\x1b"  # the original is left as it was
    clean = Document("t", provenance=["p"])
    assert printable_model(clean) is clean  # nothing to escape: no copy


def test_rich_markup_in_a_column_or_caption_is_shown_as_written() -> None:
    document = Document("t")
    document.section("s").add(Table(("[bold]name",), (("x",),), caption="[red]caption"))
    out = text.render(document, 80)
    assert "[bold]name" in out and "[red]caption" in out


unsafe_text = st.lists(st.one_of(
    st.sampled_from(list("\x1b\n\r\t\x00\x07\x08\x0b\x0c\x7f\x85\x9b\u2028\u2029\u202e\u2066")),
    st.sampled_from(["From ", "> ", "[bold]", "[/]", "|", "`", "a"]),
    st.characters(codec="utf-8"),
), min_size=1, max_size=12).map("".join)


@settings(max_examples=15, deadline=None)
@given(summary=unsafe_text, key=unsafe_text, error=unsafe_text)
def test_any_text_in_a_scenario_is_shown_safely(summary: str, key: str, error: str) -> None:
    text = (SCENARIO.replace(toml(SUMMARY), toml(summary)).replace(toml(OPTION), toml(key))
            .replace(toml(ERROR), toml(error)))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.toml"
        path.write_text(text, encoding="utf-8")
        for fmt in ("text", "markdown"):
            result = runner.invoke(app, ["run", str(path), "-p", "qemu-4.1", "--format", fmt])
            assert result.exit_code == 0, result.stderr
            if fmt == "markdown":  # a mail reply: no line may start with > or From
                assert_safe(result.stdout)
            assert not RAW.findall(result.stdout)


def test_ascii_text_spells_each_kind_of_character_plainly() -> None:
    assert ascii_text("caf\u00e9 na\u00efve") == "cafe naive"  # accents dropped
    assert ascii_text("\uff57\uff49\uff44\uff45 \ufb01le\u2026") == "wide file..."
    assert ascii_text("\u201cq\u201d \u2018x\u2019 a\u2013b a\u2014b a\u00a0b") == \
        '"q" \'x\' a-b a--b a b'
    assert ascii_text("\u4e2d \U0001f642") == "\\u4e2d \\U0001f642"  # escaped, never lost
    plain = "already ASCII: [x] | `y` > z"
    assert ascii_text(plain) is plain


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_ascii_text_is_always_ascii(text: str) -> None:
    assert ascii_text(text).isascii()


def test_markdown_spells_user_text_in_ascii_within_the_width(tmp_path: Path) -> None:
    key = "cl\u00e9\u2014\uff57\uff49\uff44\uff45" + "\u4e2d\u6587" * 12
    path = tmp_path / "unicode.toml"
    path.write_text(SCENARIO.replace(toml(OPTION), toml(key)), encoding="utf-8")
    out = invoke("run", str(path), "-p", "qemu-4.1", "--format", "markdown")
    assert all(line.isascii() and len(line) <= 76 for line in out.splitlines()), out
    assert "cle--wide" + "\\u4e2d\\u6587" * 12 in re.sub(r"\s+", "", out)
    assert "?" not in re.sub(r"\s+", "", out).split("cle--wide")[1][:10]
