"""Views: the typed results of analyses laid out as a Document, and their JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from optcompare.model.options import Value, value_text
from optcompare.render.codec import encode
from optcompare.render.document import ERR, Document, Paragraph, Table

if TYPE_CHECKING:
    from optcompare.analysis.driver_facts import Drivers, Sources
    from optcompare.analysis.truth_table import Cell, TruthTables
    from optcompare.analysis.truth_table import Table as TruthTable
    from optcompare.model.modes import OpenOutcome
    from optcompare.policies.base import Resolution
    from optcompare.policies.registry import Listing as PolicyListing


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


def outcome_text(value: OpenOutcome | None, notes: Footnotes) -> str:
    """``node ro, fd ro``, ``ERR [1]``; ``+denial`` when an access denial was logged."""
    if value is None:
        return "-"
    if value.error:
        text = notes.cite(value.error)
    else:
        text = f"node {'ro' if value.ro else 'rw'}, fd {value.fd.value}"
    return text + (" +denial" if value.denial else "")


def mode_text(resolution: Resolution, notes: Footnotes) -> str:
    return notes.cite(resolution.error) if resolution.error else resolution.mode.value


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


def leaves_unset(tables: Sequence[TruthTable]) -> bool:
    """Whether a valid row leaves an option unset (an enum that replaces the booleans)."""
    return any(row.written.get(o) is None and o not in row.cell.resolution.effective
               for table in tables for row in table.rows if not row.cell.resolution.error
               for o in table.options)


def table_view(result: TruthTables) -> Document:
    doc = Document("Flag truth tables")
    legend = doc.section("Legend")
    legend.add(Paragraph(TABLE_LEGEND + (UNSET_LEGEND if leaves_unset(result.tables) else "")))
    for table in result.tables:
        title = f"{table.policy}: {', '.join(table.drivers)}"
        section = doc.section(title)
        section.add(Paragraph(
            f"frontend -{table.frontend.value}, platform {table.platform.value}"
            + (f"; only rows that differ from {table.against}" if table.against else "")
        ))
        options = table.options
        columns = [*options, "mode", "writable image", "unwritable image"]
        if table.against:
            columns += [f"on {table.against}"]
        rows = []
        notes = Footnotes()
        for row in table.rows:
            cell = row.cell
            cells = [option_cell(row.written.get(o), cell.resolution.effective.get(o))
                     for o in options]
            cells += [
                mode_text(cell.resolution, notes),
                outcome_text(cell.writable, notes),
                outcome_text(cell.unwritable, notes),
            ]
            if table.against:
                cells.append(_against_text(row.against, notes))
            rows.append(tuple(cells))
        if rows:
            section.add(Table(tuple(columns), tuple(rows), notes=notes.notes()))
        else:
            section.add(Paragraph("No row differs."))
    return doc


def _against_text(other: Cell | None, notes: Footnotes) -> str:
    if other is None:
        return "(driver missing)"
    if other.resolution.error:
        return mode_text(other.resolution, notes)
    return f"{other.mode.value}; {outcome_text(other.unwritable, notes)}"


def _outcome_json(value: OpenOutcome | None) -> dict[str, object] | None:
    if value is None:
        return None
    return {"ro": value.ro, "fd": value.fd.value, "error": value.error, "denial": value.denial}


def _cell_json(value: Cell, options: Sequence[str]) -> dict[str, object]:
    res = value.resolution
    return {
        "options": {name: res.written.get(name) for name in options},
        "effective": dict(res.effective),
        "shorthand": res.shorthand,
        "mode": res.mode.value,
        "error": res.error,
        "writable": _outcome_json(value.writable),
        "unwritable": _outcome_json(value.unwritable),
    }


def table_json(result: TruthTables) -> dict[str, object]:
    """``table``'s JSON: each row's cell, and with ``--diff`` the other build's under
    ``against``."""
    tables = []
    for table in result.tables:
        rows = []
        for row in table.rows:
            data = _cell_json(row.cell, table.options)
            if table.against is not None:
                data["against"] = _cell_json(row.against, table.options) if row.against else None
            rows.append(data)
        tables.append({
            "policy": table.policy,
            "platform": table.platform.value,
            "frontend": table.frontend.value,
            "drivers": list(table.drivers),
            "options": list(table.options),
            "against": table.against,
            "rows": rows,
        })
    return {"frontend": result.frontend.value, "platform": result.platform.value,
            "against": result.against, "tables": tables}


def policies_view(listing: PolicyListing) -> Document:
    doc = Document("Policies")
    section = doc.section("Built-in and installed policies")
    rows = tuple((p.name, p.title, p.source, p.origin) for p in listing.policies)
    section.add(Table(("name", "title", "source", "from"), rows))
    return doc


def drivers_json(d: Drivers) -> dict[str, object]:
    """The ``drivers`` command's JSON: a driver's class under ``class``, its sources with
    ``--sources``."""
    rows = []
    for row in d.drivers:
        entry: dict[str, object] = {"name": row.name, "class": row.behaviour,
                                    "source": row.source, "cannot_write": row.cannot_write,
                                    "struct": row.struct}
        if row.origins is not None:
            entry.update(encode(row.origins))
        rows.append(entry)
    data: dict[str, object] = {"policy": d.policy, "platform": d.platform, "drivers": rows}
    if d.sources is not None:
        data.update(encode(d.sources))
    return data


def drivers_view(d: Drivers) -> Document:
    doc = Document(f"Drivers of {d.policy} ({d.platform})")
    section = doc.section("Driver classes")
    rows = tuple(
        (row.name, row.behaviour, row.source, row.cannot_write, row.struct) for row in d.drivers
    )
    section.add(Table(("driver", "class", "source", "cannot write when", "options struct"), rows))
    if d.sources is not None:
        _sources_sections(doc, d, d.sources)
    return doc


def _sources_sections(doc: Document, d: Drivers, sources: Sources) -> None:
    facts = doc.section("Where each fact comes from")
    facts.add(Paragraph(
        f"QEMU source as file:line@tag (a bare name is a file under block/, except block.c "
        f"itself) or a commit; refusals in the words of {sources.era}."
    ))
    rows: list[tuple[str, ...]] = []
    for row in d.drivers:
        origins = row.origins
        assert origins is not None
        rows.append((row.name, f"class {row.behaviour}", origins.class_source))
        text = origins.refusal if origins.refusal is not None else "(never refuses the open)"
        rows.append(("", f"refusal: {text}", origins.refusal_source or "-"))
        rows += [("", f.fact, f.source) for f in origins.facts]
    facts.add(Table(("driver", "fact", "source"), tuple(rows)))
    words = doc.section(f"Messages ({sources.era})")
    words.add(Table(("situation", "text", "source"), tuple(
        (m.situation, m.text if m.text is not None else "(none: no error)", m.source)
        for m in sources.messages
    )))
    clients = doc.section("Client rules")
    clients.add(Table(("client", "rule", "source"), tuple(
        (r.client, r.rule, r.source) for r in sources.client_rules
    )))
