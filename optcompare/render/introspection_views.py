"""Views for introspection: a schema, probe results, conclusions, visibility."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from optcompare.render.codec import encode
from optcompare.render.document import NO, YES, Document, Paragraph, Preformatted, Table, yes_no

if TYPE_CHECKING:
    from optcompare.analysis.shipped import Misread, ShippedConclusion
    from optcompare.analysis.visibility import Later, PolicyVisibility, Visibility
    from optcompare.schema.conclude import BuildMatch, Conclusion
    from optcompare.schema.corpus import Listing
    from optcompare.schema.query import Answers


def _join(items: Sequence[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


# -- optcompare schema ------------------------------------------------------------


def schema_view(data: dict[str, Any]) -> Document:
    entries = data["return"]
    doc = Document(f"query-qmp-schema of {data['policy']} ({data['platform']})")
    section = doc.section("SchemaInfo entries")
    section.add(Paragraph(
        f"{len(entries)} entries, one per line. Type names other than built-ins are "
        "masked numbers, as in a real reply; --format json gives the reply that "
        "'probe --schema' reads back."
    ))
    section.add(Preformatted(tuple(json.dumps(e, separators=(", ", ": ")) for e in entries)))
    return doc


# -- optcompare probe --schema list ----------------------------------------------------


def corpus_view(listing: Listing) -> Document:
    doc = Document("Real query-qmp-schema replies shipped with optcompare")
    section = doc.section("Replies")
    section.add(Paragraph(
        f"{len(listing.replies)} replies, each the answer of a real QEMU (x86_64), cut out "
        f"of libvirt's capability test data ({listing.libvirt_data}) with only the JSON "
        "layout changed. "
        "'probe --schema NAME' reads one. Entries are counted and the last column is "
        f"{listing.query}, evaluated on each reply."
    ))
    section.add(Table(
        ("name", "QEMU", "entries", "feature flag"),
        tuple((r.name, r.qemu, str(r.entries), yes_no(r.dynamic_auto_read_only))
              for r in listing.replies),
    ))
    origin = doc.section("Where each came from")
    origin.add(Table(("name", "file", "libvirt file"),
                     tuple((r.name, r.file, r.source) for r in listing.replies)))
    return doc


# -- optcompare probe QUERY... ---------------------------------------------------------


def probe_view(answers: Answers) -> Document:
    doc = Document("Schema queries")
    section = doc.section("Queries")
    section.add(Paragraph(f"Schema: {answers.source}."))
    rows = tuple((q.query, yes_no(q.holds)) for q in answers.queries)
    section.add(Table(("query", "holds"), rows))
    return doc


# -- optcompare probe (no query) -----------------------------------------------------------


def _and(names: Iterable[str]) -> str:
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def verdict(c: Conclusion) -> str:
    """The conclusion in plain words."""
    matches = c.consistent_with
    if not c.catalogue_drivers:
        return (
            "The schema has no blockdev-add driver that the model knows, so it cannot be "
            "compared with the known builds."
        )
    if not matches:
        return (
            "The schema is consistent with no known build by its auto-read-only signals; "
            f"nearest: {_and(c.nearest)}."
        )
    if len(matches) == 1:
        return f"The schema is consistent with {matches[0]} and no other known build."
    text = (
        f"The schema is consistent with {_and(matches)}: no auto-read-only signal "
        "tells them apart."
    )
    for difference in c.other_differences:
        where = "present" if difference.in_schema else "absent"
        text += (
            f" Not an auto-read-only signal: {difference.name} is {where}, as in "
            f"{_and(difference.agrees_with) or 'none of them'}."
        )
    return text


def conclusion_json(c: Conclusion) -> dict[str, object]:
    """``probe``'s JSON without a query: the typed conclusion, its verdict last."""
    return {
        "source": c.source,
        "entries": c.entries,
        "version": ".".join(str(n) for n in c.version) if c.version else None,
        "drivers": list(c.drivers),
        "catalogue_drivers": list(c.catalogue_drivers),
        "base_options": list(c.base_options),
        "own_options": {d: list(o) for d, o in c.own_options.items()},
        "advertised": [encode(a) for a in c.adverts],
        "fingerprint": list(c.fingerprint),
        "consistent_with": list(c.consistent_with),
        "indistinguishable": c.indistinguishable,
        "nearest": list(c.nearest),
        "builds": [encode(b) for b in c.builds],
        "other_differences": [{**encode(d), "agrees_with": list(d.agrees_with)}
                              for d in c.other_differences],
        "summary": verdict(c),
    }


def conclusions_view(c: Conclusion) -> Document:
    doc = Document("What a libvirt-style client concludes")
    section = doc.section("Verdict")
    section.add(Paragraph(verdict(c)))
    facts = f"Schema: {c.source}; {c.entries} entries"
    facts += f"; {len(c.drivers)} blockdev-add drivers"
    facts += f", {len(c.catalogue_drivers)} of them in the model's catalogue"
    if c.version:
        facts += f"; query-version says {'.'.join(str(n) for n in c.version)}"
    section.add(Paragraph(facts + "."))

    options = doc.section("auto-read-only options")
    rows = [(name, "every driver (blockdev-add base)") for name in c.base_options]
    by_option: dict[str, list[str]] = {}
    for driver, names in c.own_options.items():
        for name in names:
            by_option.setdefault(name, []).append(driver)
    rows += [(name, _join(drivers)) for name, drivers in by_option.items()]
    if rows:
        options.add(Table(("option", "accepted by"), tuple(rows)))
    else:
        options.add(Paragraph("No driver accepts an auto-read-only option."))

    advertised = doc.section("Drivers advertised dynamic")
    if c.adverts:
        advertised.add(Table(
            ("driver", "advertised by", "same struct as"),
            tuple(
                (
                    a.driver,
                    f"{a.how.value} {a.name}" + (" (value: run it)" if a.needs_command else ""),
                    _join(list(a.shared_with), "-"),
                )
                for a in c.adverts
            ),
        ))
        queries = list(dict.fromkeys(a.query for a in c.adverts))
        advertised.add(Paragraph("libvirt path queries that hold on this schema:"))
        advertised.add(Preformatted(tuple(queries)))
    else:
        advertised.add(Paragraph(
            "None: nothing in this schema says that any driver's auto-read-only is dynamic."
        ))

    builds = doc.section("Known builds")
    builds.add(Paragraph(
        "The auto-read-only fingerprint (the facts above, restricted to the drivers of "
        "the model's catalogue that the schema has) compared with each known build's "
        "generated schema."
    ))
    builds.add(Table(
        ("build", "consistent", "first difference"),
        tuple((b.build, yes_no(b.consistent), _first_difference(b)) for b in c.builds),
        notes=(
            "First difference: a fact only the schema (schema:) or only the build "
            "(build:) has; (+n): n more differing facts.",
        ),
    ))
    if c.other_differences:
        other = doc.section("Other differences between the consistent builds")
        other.add(Paragraph(
            "These commands or events are not auto-read-only signals; they only say "
            "which of the consistent builds the rest of the schema resembles."
        ))
        other.add(Table(
            ("command or event", "in schema", "builds with it", "builds without"),
            tuple(
                (
                    d.name,
                    yes_no(d.in_schema),
                    _join(list(d.builds_with)),
                    _join(list(d.builds_without)),
                )
                for d in c.other_differences
            ),
        ))
    return doc


def _first_difference(build: BuildMatch) -> str:
    ours, theirs = build.only_in_schema, build.only_in_build
    if not ours and not theirs:
        return "-"
    first = f"schema: {ours[0]}" if ours else f"build: {theirs[0]}"
    more = len(ours) + len(theirs) - 1
    return first + (f" (+{more})" if more else "")


# -- optcompare visibility ---------------------------------------------------------------------

VISIBILITY_LEGEND = (
    "Each policy's own client probes the model build through the generated "
    "query-qmp-schema, its extra commands and its version; truth is the mode the "
    "build gives the options that client passes under -blockdev. In schema alone: "
    "a probe that may only read query-qmp-schema reaches the same answer on posix "
    "and windows. Cacheable: the policy's promise. Granularity: measured by making "
    "each driver in turn change class in a later release and seeing which drivers' "
    "detection moves with it. False positives and negatives: every driver, both "
    "platforms (driver@windows)."
)


def _detectable(p: PolicyVisibility) -> str:
    if not p.dynamic_anywhere:
        return "-"
    if not p.detectable:
        return NO
    return f"{YES} (fragile)" if p.fragile else YES


def _verdict(policies: Sequence[PolicyVisibility]) -> list[str]:
    from optcompare.policies.base import Frontend

    def names(keep: Callable[[PolicyVisibility], object]) -> str:
        return _join([p.policy for p in policies if keep(p)])

    per = {
        g: [p.policy for p in policies if p.granularity is g]
        for g in dict.fromkeys(p.granularity for p in policies)
    }
    shipped = [c for p in policies for c in p.shipped]
    on_blockdev = [c.build for c in shipped if c.frontend is Frontend.BLOCKDEV]
    misread = [
        f"{c.build} ({', '.join(m.driver for m in c.wrongly_dynamic)})"
        for c in shipped if c.wrongly_dynamic
    ]
    return [
        f"Visible in query-qmp-schema alone: {names(lambda p: p.visible_in_schema)}.",
        f"Detectable only with fragile means (version): "
        f"{names(lambda p: p.detectable and p.fragile)}.",
        f"Needs an extra command: {names(lambda p: p.needs_extra_command)}.",
        "Granularity: "
        + "; ".join(f"{g.value}: {_join(names)}" for g, names in per.items()) + ".",
        f"False positives: {names(lambda p: p.false_positives)}. "
        f"False negatives: {names(lambda p: p.false_negatives)}.",
        f"An unchanged client learns that gluster became dynamic: "
        f"{names(lambda p: p.gluster is not None and p.gluster.learns)}.",
        f"A hard driver moving to fallback changes anything a client sees: "
        f"{names(lambda p: p.hard_to_fallback is not None and p.hard_to_fallback.visible)}.",
        f"The shipped libvirt uses -blockdev on: {_join(on_blockdev)}; under -blockdev it "
        f"would take for dynamic drivers that are not: {_join(misread)}.",
    ]


def visibility_view(visibility: Visibility) -> Document:
    from optcompare.analysis.visibility import Verdict

    policies = visibility.policies
    doc = Document("Introspection: can a client find out which drivers are dynamic?")
    verdict = doc.section("Findings")
    verdict.add(Paragraph(" ".join(_verdict(policies))))
    legend = doc.section("How it is measured")
    legend.add(Paragraph(VISIBILITY_LEGEND))

    signal = doc.section("The signal")
    signal.add(Table(
        ("policy", "signal", "in schema alone", "cacheable", "extra command"),
        tuple(
            (
                p.policy,
                p.signal.value,
                yes_no(p.visible_in_schema),
                yes_no(p.cacheable),
                _join(p.extra_commands, NO),
            )
            for p in policies
        ),
    ))
    signal.add(Table(
        ("policy", "detectable", "granularity", "false pos.", "false neg."),
        tuple(
            (
                p.policy,
                _detectable(p),
                p.granularity.value,
                str(len(p.false_positives)),
                str(len(p.false_negatives)),
            )
            for p in policies
        ),
        notes=("-: no driver is dynamic in that build, so there is nothing to detect.",),
    ))

    wrong = doc.section("Where the client is wrong")
    rows = tuple(
        (p.policy, d.driver, d.platform.value, d.mode.value, d.verdict.value)
        for p in policies
        for d in p.rows
        if d.verdict is not Verdict.OK
    )
    if rows:
        wrong.add(Table(("policy", "driver", "platform", "truth (mode)", "client says"), rows))
    else:
        wrong.add(Paragraph("Nowhere: every client's answer matches the truth."))

    _shipped_section(doc, policies)

    later = doc.section("Later releases (posix)")
    later.add(Table(
        ("policy", "gluster dynamic", "client learns", "hard to fallback", "seen"),
        tuple(
            (p.policy, *_later_cells(p.gluster, named=False),
             *_later_cells(p.hard_to_fallback, named=True))
            for p in policies
        ),
        notes=(
            "gluster dynamic / hard to fallback: whether the schema changes. Client "
            "learns: the unchanged client now detects gluster. Seen: anything a client "
            "can see changes (schema, command results, the client's answer).",
        ),
    ))
    return doc


def _by_mode(misreads: Sequence[Misread]) -> str:
    groups: dict[str, list[str]] = {}
    for m in misreads:
        groups.setdefault(m.mode.value, []).append(m.driver)
    return "; ".join(f"{mode}: {', '.join(names)}" for mode, names in groups.items()) or "-"


def _shipped_section(doc: Document, policies: Sequence[PolicyVisibility]) -> None:
    section = doc.section("What the shipped libvirt concludes")
    section.add(Paragraph(
        "The libvirt that shipped asks one query, blockdev-add/arg-type/+file/"
        "$dynamic-auto-read-only, and takes the answer for every protocol; it uses -blockdev "
        "for the whole binary only when the build also has scsi-disk's device_id and "
        "savevm-monitor-nodes (QEMU 4.2 on), -drive otherwise. The last columns say what it "
        "would get wrong under -blockdev: each protocol it takes for dynamic, by the mode "
        "the build really gives auto-read-only=on, and each dynamic one it misses."
    ))
    section.add(Table(
        ("build", "frontend", "lacks for -blockdev", "taken for dynamic, but is", "missed"),
        tuple(
            (
                c.build,
                f"-{c.frontend.value}",
                _join(c.missing, "-"),
                _by_mode(c.wrongly_dynamic),
                _join(c.missed, "-"),
            )
            for p in policies
            for c in p.shipped
        ),
    ))


def _later_cells(later: Later | None, *, named: bool) -> tuple[str, str]:
    """Whether the schema changes, and whether the client learns it (``named``:
    whether anything a client sees changes, the moved driver named)."""
    if later is None:
        return "-", "-"
    changed = "schema changes" if later.schema_changed else "schema same"
    if named:
        return f"{later.driver}: {changed}", yes_no(later.visible)
    return changed, yes_no(later.learns)


def visibility_json(visibility: Visibility) -> dict[str, object]:
    """``visibility``'s JSON: per policy its properties, then the evidence behind them."""
    from optcompare.analysis.visibility import PLATFORMS

    return {
        "platforms": [p.value for p in PLATFORMS],
        "policies": [_policy_json(p) for p in visibility.policies],
    }


def _policy_json(p: PolicyVisibility) -> dict[str, object]:
    return {
        "policy": p.policy,
        "title": p.title,
        "signal": p.signal.value,
        "evidence": p.evidence,
        "visible_in_schema": p.visible_in_schema,
        "cacheable": p.cacheable,
        "needs_extra_command": p.needs_extra_command,
        "extra_commands": list(p.extra_commands),
        "detectable": p.detectable,
        "fragile": p.fragile,
        "dynamic_anywhere": p.dynamic_anywhere,
        "granularity": p.granularity.value,
        "moves": {d: list(m) for d, m in p.moves.items()},
        "false_positives": list(p.false_positives),
        "false_negatives": list(p.false_negatives),
        "claimed_not_dynamic": list(p.claimed_not_dynamic),
        "later": {
            "gluster_dynamic": _later_json(p.gluster),
            "hard_to_fallback": _later_json(p.hard_to_fallback),
        },
        "probes": [
            {
                "build": probe.build,
                "signal": probe.detection.signal.value,
                "evidence": probe.detection.evidence,
                "detected": sorted(probe.detection.dynamic),
                "queries": probe.queries,
                "commands": list(probe.commands),
                "version_asked": probe.version_asked,
                "fragile": probe.fragile,
            }
            for probe in p.probes
        ],
        "schema_probes": [
            {
                "build": probe.build,
                "detected": sorted(s.detected),
                "by": s.by.value,
                "queries": list(s.queries),
                "why": s.why,
            }
            for probe, s in zip(p.probes, p.schema_probes, strict=True)
        ],
        "drivers": [
            {
                "driver": r.driver,
                "platform": r.platform.value,
                "mode": r.mode.value,
                "dynamic": r.dynamic,
                "detected": r.detected,
                "claimed": r.claimed,
                "verdict": r.verdict.value,
            }
            for r in p.rows
        ],
        "shipped_client": [_shipped_json(c) for c in p.shipped],
    }


def _later_json(later: Later | None) -> dict[str, object] | None:
    if later is None:
        return None
    return {
        "driver": later.driver,
        "before": later.before.value,
        "after": later.after.value,
        "dynamic_after": later.dynamic_after,
        "detected_before": later.detected_before,
        "detected_after": later.detected_after,
        "schema_changed": later.schema_changed,
        "results_changed": later.results_changed,
        "answer_changed": later.answer_changed,
        "visible": later.visible,
        "learns": later.learns,
    }


def _shipped_json(c: ShippedConclusion) -> dict[str, object]:
    return {
        "build": c.build,
        "file_probe": c.file_probe,
        "frontend": c.frontend.value,
        "missing": list(c.missing),
        "treated_dynamic": list(c.treated_dynamic),
        "wrongly_dynamic": [
            {"driver": m.driver, "mode": m.mode.value, "error": m.error}
            for m in c.wrongly_dynamic
        ],
        "missed": list(c.missed),
        "rejected": list(c.rejected),
    }
