"""Views: analysis data (the JSON payload) laid out as a Document."""

from __future__ import annotations

from typing import Any

from optcompare.model.options import Value, value_text
from optcompare.render.document import ERR, Document, Paragraph, Table


class Footnotes:
    """Error messages of one table, cited as ``ERR [n]`` to keep cells narrow."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def number(self, message: str) -> int:
        if message not in self.messages:
            self.messages.append(message)
        return self.messages.index(message) + 1

    def cite(self, message: str) -> str:
        return f"{ERR} [{self.number(message)}]"

    def notes(self) -> tuple[str, ...]:
        return tuple(f"[{i}] {m}" for i, m in enumerate(self.messages, 1))


def outcome_text(value: dict[str, Any] | None, notes: Footnotes) -> str:
    """``node ro, fd ro``, ``ERR [1]``; ``+denial`` when an access denial was logged."""
    if value is None:
        return "-"
    if value["error"]:
        text = notes.cite(value["error"])
    else:
        text = f"node {'ro' if value['ro'] else 'rw'}, fd {value['fd']}"
    return text + (" +denial" if value["denial"] else "")


def mode_text(row: dict[str, Any], notes: Footnotes) -> str:
    return notes.cite(row["error"]) if row["error"] else str(row["mode"])


def option_cell(written: Value | None, effective: Value | None) -> str:
    """``on``/``off`` (or an enum's value) as written; ``(on)`` when not given and
    the default is on; ``-`` when not given and unset."""
    if written is not None:
        return value_text(written)
    if effective is None:
        return "-"
    return f"({value_text(effective)})"


TABLE_LEGEND = (
    "Options: on/off as written; (on)/(off): not given, and what the default makes "
    "it (the row is shorthand for those values). Outcome of opening a writable and "
    "an unwritable image: the node's read-only flag, then the descriptor mode; "
    "+denial: an access denial was logged; ERR [n]: QEMU's message n below the table."
)


UNSET_LEGEND = " In a row that opens, -: not given, and left unset by the other options."


def leaves_unset(tables: list[dict[str, Any]]) -> bool:
    """Whether a valid row leaves an option unset (an enum that replaces the booleans)."""
    return any(row["options"][o] is None and o not in row["effective"]
               for table in tables for row in table["rows"] if not row["error"]
               for o in table["options"])


def table_view(data: dict[str, Any]) -> Document:
    doc = Document("Flag truth tables")
    legend = doc.section("Legend")
    legend.add(Paragraph(TABLE_LEGEND + (UNSET_LEGEND if leaves_unset(data["tables"]) else "")))
    for table in data["tables"]:
        title = f"{table['policy']}: {', '.join(table['drivers'])}"
        section = doc.section(title)
        section.add(Paragraph(
            f"frontend -{table['frontend']}, platform {table['platform']}"
            + (f"; only rows that differ from {table['against']}" if table["against"] else "")
        ))
        options = table["options"]
        columns = [*options, "mode", "writable image", "unwritable image"]
        if table["against"]:
            columns += [f"on {table['against']}"]
        rows = []
        notes = Footnotes()
        for row in table["rows"]:
            cells = [option_cell(row["options"][o], row["effective"].get(o)) for o in options]
            cells += [
                mode_text(row, notes),
                outcome_text(row["writable"], notes),
                outcome_text(row["unwritable"], notes),
            ]
            if table["against"]:
                cells.append(_against_text(row.get("against"), notes))
            rows.append(tuple(cells))
        if rows:
            section.add(Table(tuple(columns), tuple(rows), notes=notes.notes()))
        else:
            section.add(Paragraph("No row differs."))
    return doc


def _against_text(other: dict[str, Any] | None, notes: Footnotes) -> str:
    if other is None:
        return "(driver missing)"
    if other["error"]:
        return mode_text(other, notes)
    return f"{other['mode']}; {outcome_text(other['unwritable'], notes)}"


def policies_view(data: dict[str, Any]) -> Document:
    doc = Document("Policies")
    section = doc.section("Built-in and installed policies")
    rows = tuple((p["name"], p["title"], p["source"], p["origin"]) for p in data["policies"])
    section.add(Table(("name", "title", "source", "from"), rows))
    return doc


def drivers_view(data: dict[str, Any]) -> Document:
    doc = Document(f"Drivers of {data['policy']} ({data['platform']})")
    section = doc.section("Driver classes")
    rows = tuple(
        (d["name"], d["class"], d["source"], d["cannot_write"], d["struct"])
        for d in data["drivers"]
    )
    section.add(Table(("driver", "class", "source", "cannot write when", "options struct"), rows))
    if "messages" in data:
        _sources_sections(doc, data)
    return doc


def _sources_sections(doc: Document, data: dict[str, Any]) -> None:
    facts = doc.section("Where each fact comes from")
    facts.add(Paragraph(
        f"QEMU source as file:line@tag (a bare name is a file under block/, except block.c "
        f"itself) or a commit; refusals in the words of {data['era']}."
    ))
    rows: list[tuple[str, ...]] = []
    for d in data["drivers"]:
        rows.append((d["name"], f"class {d['class']}", d["class_source"]))
        text = d["refusal"] if d["refusal"] is not None else "(never refuses the open)"
        rows.append(("", f"refusal: {text}", d["refusal_source"] or "-"))
        rows += [("", f["fact"], f["source"]) for f in d["facts"]]
    facts.add(Table(("driver", "fact", "source"), tuple(rows)))
    words = doc.section(f"Messages ({data['era']})")
    words.add(Table(("situation", "text", "source"), tuple(
        (m["situation"], m["text"] if m["text"] is not None else "(none: no error)",
         m["source"])
        for m in data["messages"]
    )))
    clients = doc.section("Client rules")
    clients.add(Table(("client", "rule", "source"), tuple(
        (r["client"], r["rule"], r["source"]) for r in data["client_rules"]
    )))
