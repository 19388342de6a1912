"""Reading query-qmp-schema replies: the three file shapes and every bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from optcompare.errors import InputError
from optcompare.schema import corpus
from optcompare.schema.load import load_schema, parse_schema_text

SCHEMAS = Path(str(corpus.directory()))

ENTRIES: list[dict[str, Any]] = [
    {"name": "query-status", "meta-type": "command", "arg-type": "0", "ret-type": "1"},
    {"name": "0", "meta-type": "object", "members": []},
    {"name": "1", "meta-type": "object", "members": [{"name": "running", "type": "bool"}]},
    {"name": "bool", "meta-type": "builtin", "json-type": "boolean"},
]

GREETING = {"QMP": {"version": {"qemu": {"major": 4, "minor": 0, "micro": 0}}, "capabilities": []}}
EVENT = {"event": "JOB_STATUS_CHANGE", "data": {"id": "j", "status": "created"}}


def write(tmp_path: Path, text: str | bytes, name: str = "schema.json") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def transcript(*messages: object) -> str:
    return "".join(json.dumps(message) + "\n" for message in messages)


def raises_input_error(path: Path, message: str, line: int | None = None) -> InputError:
    with pytest.raises(InputError, match=message) as caught:
        load_schema(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    return caught.value


# --- accepted shapes ------------------------------------------------------------------


def test_bare_array(tmp_path: Path) -> None:
    assert load_schema(write(tmp_path, json.dumps(ENTRIES, indent=1))) == ENTRIES


def test_qmp_reply(tmp_path: Path) -> None:
    assert load_schema(write(tmp_path, json.dumps({"return": ENTRIES, "id": 3}))) == ENTRIES


def test_qmp_transcript_skips_greeting_capabilities_and_events(tmp_path: Path) -> None:
    text = transcript(GREETING, {"return": {}}, EVENT, {"return": ENTRIES}, EVENT)
    assert load_schema(write(tmp_path, text, "session.log")) == ENTRIES


def test_qmp_transcript_skips_other_list_replies(tmp_path: Path) -> None:
    other = {"return": [{"name": "query-status"}, {"name": "blockdev-add"}]}  # query-commands
    text = transcript(GREETING, {"return": {}}, other, {"return": []}, {"return": ENTRIES})
    assert load_schema(write(tmp_path, text)) == ENTRIES


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    assert load_schema(write(tmp_path, b"\xef\xbb\xbf" + json.dumps(ENTRIES).encode())) == ENTRIES


def test_parse_schema_text_names_its_source() -> None:
    assert parse_schema_text(transcript(GREETING, {"return": ENTRIES}), "daemon") == ENTRIES
    with pytest.raises(InputError, match=r"^daemon: empty input"):
        parse_schema_text("", "daemon")


@pytest.mark.parametrize("schema", sorted(SCHEMAS.glob("qmp-schema-*.json")), ids=lambda p: p.name)
def test_real_replies_load_unchanged(schema: Path) -> None:
    entries = load_schema(schema)
    assert entries == json.loads(schema.read_text(encoding="utf-8"))
    assert any(entry["name"] == "blockdev-add" for entry in entries)


def test_real_reply_inside_a_transcript(tmp_path: Path) -> None:
    entries = load_schema(SCHEMAS / "qmp-schema-4.1.0-dev.json")
    text = transcript(GREETING, {"return": {}}, {"return": entries})
    assert load_schema(write(tmp_path, text)) == entries


# --- bad input ------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    raises_input_error(tmp_path / "absent.json", "cannot read: No such file or directory")


def test_directory(tmp_path: Path) -> None:
    raises_input_error(tmp_path, "cannot read")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(ENTRIES))
    path.chmod(0)
    raises_input_error(path, "cannot read: Permission denied")


def test_not_utf8(tmp_path: Path) -> None:
    raises_input_error(write(tmp_path, b'[{"name": "\xff"}]'), "not UTF-8 text")


@pytest.mark.parametrize("text", ["", "  \n\n\t "])
def test_empty_file(tmp_path: Path, text: str) -> None:
    raises_input_error(write(tmp_path, text), "empty input")


def test_not_json_reports_the_line(tmp_path: Path) -> None:
    text = '[\n {"name": "0", "meta-type": "object", "members": []},\n {"name": oops}\n]\n'
    raises_input_error(write(tmp_path, text), "not JSON: Expecting value", line=3)


def test_not_json_inside_a_transcript_reports_the_line(tmp_path: Path) -> None:
    text = transcript(GREETING, {"return": {}}) + '{"return": oops}\n' + transcript(EVENT)
    raises_input_error(write(tmp_path, text), r"not JSON: Expecting value \(column 12\)", line=3)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"QMP": {}}, "not a query-qmp-schema reply"),
        ({"return": {}}, "not a query-qmp-schema reply"),
        ("schema", "not a query-qmp-schema reply"),
        ([], "no entry has a meta-type"),
        ([1, 2, 3], "no entry has a meta-type"),
        ([{"name": "a"}, {"name": "b"}], "no entry has a meta-type"),
        ({"return": [1, 2]}, "no entry has a meta-type"),
        ([*ENTRIES, "oops"], "schema entry 4 is not an object"),
        ([*ENTRIES, {"name": "x"}], "schema entry 4 .'x'. has no string 'meta-type'"),
        ([{"meta-type": "object"}, *ENTRIES], "schema entry 0 has no string 'name'"),
        ([*ENTRIES, ENTRIES[1]], "schema entry 4: duplicate name '0'"),
    ],
)
def test_not_a_schema(tmp_path: Path, document: object, message: str) -> None:
    raises_input_error(write(tmp_path, json.dumps(document)), message)


def test_transcript_without_a_schema_reply(tmp_path: Path) -> None:
    text = transcript(GREETING, {"return": {}}, {"error": {"class": "GenericError", "desc": "x"}})
    raises_input_error(write(tmp_path, text), "no query-qmp-schema reply")


def test_transcript_with_a_message_that_is_not_an_object(tmp_path: Path) -> None:
    raises_input_error(write(tmp_path, transcript(GREETING, [1], 2)), "not a QMP message", line=2)


def test_transcript_with_a_broken_schema_reports_its_line(tmp_path: Path) -> None:
    text = transcript(GREETING, {"return": {}}, {"return": [*ENTRIES, 5]})
    raises_input_error(write(tmp_path, text), "schema entry 4 is not an object", line=3)
