"""The view of compatibility findings: counts first, then findings by level."""

from __future__ import annotations

from typing import Any

from optcompare.render.document import Document, Paragraph, Preformatted, Table

LEVELS = ("break", "silent", "info")


def findings_blocks(doc: Document, data: dict[str, Any], title: str = "") -> None:
    counts = data["counts"]
    accepted = sum(f["accepted"] for f in data["findings"])
    head = doc.section(title or f"{data['policy']} against {', '.join(data['against'])}")
    head.add(Table(("level", "findings", "accepted"), tuple(
        (level, str(counts[level]),
         str(sum(f["accepted"] for f in data["findings"] if f["level"] == level)))
        for level in LEVELS
    )))
    if accepted:
        head.add(Paragraph(f"{accepted} finding(s) accepted by the accept file."))
    for level in LEVELS:
        items = [f for f in data["findings"] if f["level"] == level]
        if not items:
            continue
        section = doc.section(f"{level} ({len(items)})")
        for f in items:
            mark = " (accepted)" if f["accepted"] else ""
            lines = [f"{f['summary']}{mark}", f"  id: {f['id']}", f"  direction: {f['direction']}"]
            lines += [f"  {e}" for e in f["evidence"]]
            lines += [f"  note: {n}" for n in f["notes"]]
            section.add(Preformatted(tuple(lines)))


def compat_view(data: dict[str, Any]) -> Document:
    doc = Document(f"Compatibility of {data['policy']}")
    findings_blocks(doc, data)
    return doc
