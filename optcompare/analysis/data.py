"""Plain data (JSON-ready) from analysis results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optcompare.analysis.truth_table import Cell, Table
from optcompare.model.modes import OpenOutcome


def outcome(value: OpenOutcome | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"ro": value.ro, "fd": value.fd.value, "error": value.error, "denial": value.denial}


def cell(value: Cell, options: Sequence[str]) -> dict[str, Any]:
    res = value.resolution
    return {
        "options": {name: res.written.get(name) for name in options},
        "effective": dict(res.effective),
        "shorthand": res.shorthand,
        "mode": res.mode.value,
        "error": res.error,
        "writable": outcome(value.writable),
        "unwritable": outcome(value.unwritable),
    }


def tables(items: Sequence[Table]) -> list[dict[str, Any]]:
    result = []
    for table in items:
        rows = []
        for row in table.rows:
            data = cell(row.cell, table.options)
            if table.against is not None:
                data["against"] = cell(row.against, table.options) if row.against else None
            rows.append(data)
        result.append({
            "policy": table.policy,
            "platform": table.platform.value,
            "frontend": table.frontend.value,
            "drivers": list(table.drivers),
            "options": list(table.options),
            "against": table.against,
            "rows": rows,
        })
    return result
