"""The report's words: criterion titles, the legend, the sentence for each reason, and
the lines of a run's trace.

Every sentence about a verdict cell is written here, from the typed values
of :mod:`optcompare.analysis.report_model`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Sized
from typing import Protocol

from optcompare.analysis import report_model as m
from optcompare.render.counted import plural

TITLES = {
    "readonly-disks": "read-only disks refuse guest writes",
    "block-commit": "block-commit works under -blockdev on images writable "
                    "only later",
    "schema-alone": "visible in query-qmp-schema alone",
    "cacheable": "cacheable per binary",
    "extra-command": "needs no extra command",
    "detectable": "detectable without version sniffing",
    "granularity": "per-driver granularity",
    "accuracy": "no false positive or negative",
    "no-break": "no break for 3.1 users",
    "no-silent": "no silent change of meaning for 3.1 users",
    "later-dynamic": "sees a later driver go dynamic (gluster)",
    "later-fallback": "shows a later driver go hard to fallback",
    "shipped-libvirt": "the shipped libvirt reads it right",
    "no-experimental": "needs no experimental (x-) command",
    "no-denials": "(sVirt) no access denial at start",
    "no-write-fd": "(sVirt) no write fd left on a read-only image",
    "cost": "every combination of file's options valid",
    "facade": "no option whose values change no mode",
}

SHORT = {
    "readonly-disks": "ro-disks",
    "block-commit": "commit",
    "schema-alone": "schema",
    "cacheable": "cacheable",
    "extra-command": "no-cmd",
    "detectable": "detect",
    "granularity": "per-drv",
    "accuracy": "accurate",
    "no-break": "no-break",
    "no-silent": "no-silent",
    "later-dynamic": "later-dyn",
    "later-fallback": "later-fb",
    "shipped-libvirt": "shipped",
    "no-experimental": "no-x-cmd",
    "no-denials": "no-deny",
    "no-write-fd": "no-wr-fd",
    "cost": "all-valid",
    "facade": "no-facade",
}
"""Row labels of the matrix (at most 9 columns)."""

FAIRNESS = (
    "Fair comparison: a change a later release's own driver change causes "
    "(4.1's vmdk) is the release's and decides no cell; a change is announced "
    "only if the signal describes it right (dynamic means dynamic); a "
    "criterion the same for everyone is said once, above; n/a is neither "
    "better nor worse."
)


OPTION_SHORT = {"read-only": "ro", "auto-read-only": "auto",
                "auto-read-only-v2": "auto2", "dynamic-read-only": "dyn"}


def option(name: str) -> str:
    """A short name for a boolean option, for narrow tables."""
    return OPTION_SHORT.get(name, name)


def title(criterion: str) -> str:
    return TITLES.get(criterion, criterion)


def short(criterion: str) -> str:
    return SHORT.get(criterion, criterion)


def names(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def some(items: Sequence[str], word: str = "driver", most: int = 4) -> str:
    """The names, or their count and the first few when there are many."""
    items = list(items)
    if len(items) <= most:
        return names(items)
    return f"{len(items)} {word}s ({', '.join(items[:3])}, ...)"


_NA = {
    m.NotApplicable.NOTHING_DYNAMIC: "nothing is dynamic",
    m.NotApplicable.BASELINE: "3.1 or older",
    m.NotApplicable.NOT_RUN: "no scenario for it was run",
    m.NotApplicable.NO_SCENARIO_APPLIES: "no scenario for it applies",
    m.NotApplicable.NO_EXTRA_OPTION: "no extra option",
    m.NotApplicable.NO_SUCH_DRIVER: "the build has no such driver",
    m.NotApplicable.DRIVE_THROUGHOUT: "shipped libvirt on -drive",
}


NOTED = (m.ScenarioFailure, m.BackendBroke, m.ExtraCommands, m.Accuracy, m.CompatCount,
         m.ShippedMisread, m.Cost, m.Facade)
"""Reasons the matrix gives a numbered note; the others are said by the
criterion's title (version sniffing, no promise, granularity, a later
release) or, for n/a, once under the matrix."""


def note(cell: m.Cell) -> str | None:
    """The matrix note for a cell, or None when the mark and the legend say it all."""
    if not isinstance(cell.reason, NOTED):
        return None
    return reason(cell)


def considered_points(row: m.MatrixRow) -> tuple[str, ...]:
    """A policy's row as the points of the MADR block: every criterion it meets
    ("Good, because ..."), then every one it fails ("Bad, because it fails ...");
    n/a and ERR cells are neither."""
    good, bad = [], []
    for cell in row.cells:
        why = reason(cell)
        because = f" ({why})" if why else ""
        if cell.mark is m.Mark.YES:
            good.append(f"Good, because {title(cell.criterion)}{because}")
        elif cell.mark is m.Mark.NO:
            bad.append(f'Bad, because it fails "{title(cell.criterion)}"{because}')
    return (*good, *bad)


def reason(cell: m.Cell) -> str | None:
    """The note for a cell, or None when its mark says it all."""
    r = cell.reason
    if r is None:
        return None
    if isinstance(r, m.Inapplicable):
        return _NA[r.why]
    if isinstance(r, m.ScenarioFailure):
        return f"{r.scenario} step {r.step}: {r.why}"
    if isinstance(r, m.BackendBroke):
        return f"{r.scenario}: the backend broke: {r.why}"
    if isinstance(r, m.VersionOnly):
        return "only query-version tells (version sniffing)"
    if isinstance(r, m.NoPromise):
        return "no promise that the answer holds for the binary"
    if isinstance(r, m.ExtraCommands):
        return f"needs {names(r.commands)}"
    if isinstance(r, m.Grain):
        if cell.mark is m.Mark.YES:
            return None
        return {"global": "global: one answer for every driver",
                "per options struct": "per options struct: drivers sharing "
                                      "one move together"}.get(r.granularity, r.granularity)
    if isinstance(r, m.Accuracy):
        parts = []
        if r.false_positives:
            parts.append(f"advertises dynamic for {names(r.false_positives)}, "
                         f"which {'is' if len(r.false_positives) == 1 else 'are'} not")
        if r.false_negatives:
            parts.append(f"misses {names(r.false_negatives)}")
        return "; ".join(parts)
    if isinstance(r, m.CompatCount):
        return compat_reason(cell.mark, r)
    if isinstance(r, m.LaterRelease):
        if cell.mark is m.Mark.YES:
            return None
        return (f"nothing the client sees changes when {r.driver} goes {r.before} "
                f"to {r.after}" if cell.criterion == "later-fallback" else
                f"the unchanged client does not learn that {r.driver} is {r.after}")
    if isinstance(r, m.ShippedMisread):
        if cell.mark is m.Mark.YES:
            return None
        parts = []
        if r.wrongly_dynamic:
            parts.append(f"takes {some(r.wrongly_dynamic, 'protocol')} for dynamic")
        if r.missed:
            parts.append(f"misses {names(r.missed)}")
        if r.rejected:
            parts.append(f"its options are rejected on {names(r.rejected)}")
        wait = f" (waits for {names(r.missing)})" if r.missing else ""
        return "shipped libvirt " + "; ".join(parts) + f" on -blockdev{wait}"
    if isinstance(r, m.Cost):
        if r.valid == r.combinations:
            return None
        return (f"{r.combinations - r.valid} of {r.combinations} combinations of "
                f"file's {r.options} options rejected")
    if isinstance(r, m.Facade):
        return f"{names(r.options)} changes no mode"
    raise TypeError(type(r).__name__)


def brief(cell: m.Cell) -> str | None:
    """A shorter reason, for a sentence that names several."""
    r = cell.reason
    if isinstance(r, m.CompatCount) and cell.mark is m.Mark.NO:
        verb = "rejected" if r.level is m.Level.BREAK else "change silently"
        count = r.blockdev + r.drive
        text = f"{plural(count, 'combination')} {verb} on {some(r.drivers)}" if count else ""
        if r.workflows:
            text += ("; " if text else "") + plural(r.workflows, "workflow") + " fail"
        return text or None
    return reason(cell)


def compat_reason(mark: m.Mark, r: m.CompatCount) -> str | None:
    verb = "rejected" if r.level is m.Level.BREAK else "change silently"
    parts = []
    if mark is m.Mark.NO:
        front = [f"{n} -{name}" for n, name in ((r.blockdev, "blockdev"), (r.drive, "drive"))
                 if n]
        if front:
            parts.append(f"{', '.join(front)} combinations {verb} on {some(r.drivers)}")
        if r.workflows:
            parts.append(f"{plural(r.workflows, 'workflow')} of {r.against}'s libvirt fail")
        if r.misdescribed:
            parts.append(f"{names(r.misdescribed)} advertised as dynamic but not: "
                         f"unannounced")
    if r.release_findings:
        parts.append(f"{plural(r.release_findings, 'finding')} on "
                     f"{names(r.release_drivers)}: the release's, not the option's")
    return "; ".join(parts) or None


class Skewed(Protocol):
    """A skew cell, of the report's model or of the skew command's analysis."""

    @property
    def client(self) -> str: ...
    @property
    def build(self) -> str: ...
    @property
    def met(self) -> int: ...
    @property
    def ran(self) -> int: ...
    @property
    def false_positives(self) -> Sized: ...
    @property
    def false_negatives(self) -> Sized: ...


def skew_table(cells: Sequence[Skewed], labels: Mapping[str, str]
               ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...], int]:
    """The skew matrix's columns (the builds, by label where they have one), its rows (a
    client each) and how many workflows most cells ran: a cell that ran another number
    says ``met/ran``; FP and FN follow when the client's detection was wrong."""
    builds = list(dict.fromkeys(c.build for c in cells))
    index = {(c.client, c.build): c for c in cells}
    common = Counter(c.ran for c in cells).most_common(1)[0][0]

    def shown(c: Skewed) -> str:
        text = str(c.met) if c.ran == common else f"{c.met}/{c.ran}"
        marks = "+".join(name for name, wrong in (("FP", c.false_positives),
                                                   ("FN", c.false_negatives)) if wrong)
        return f"{text} {marks}" if marks else text

    rows = tuple((labels.get(client, client), *(shown(index[client, b]) for b in builds))
                 for client in dict.fromkeys(c.client for c in cells))
    return ("client", *(labels.get(b, b) for b in builds)), rows, common


def skew_legend(common: int) -> str:
    return (f"Each cell: workflows met (of {common} run; met/run where a cell ran another "
            "number), FP if the client claims a driver that is not dynamic, FN if it misses "
            "one.")


def skew_note(n: m.SkewNote, clients: int) -> str:
    """Why a client that never probes does as well as it does."""
    return (f"Why {n.client} does well: it never probes, so it never believes a driver "
            f"dynamic ({n.false_positives} false positives), and it only uses -{n.frontend}, "
            f"whose implicit backing nodes are reopened read-write with their format node "
            f"for a job: {n.jobs_met} block-job runs met, {n.met} of {n.ran} in all (rank "
            f"{n.rank} of {clients}).")


def label(name: str, taken: set[str]) -> str:
    """A short column label: ``qemu-4.1`` -> ``4.1``, ``option-2`` -> ``o2``."""
    if name.startswith("qemu-"):
        text = name[len("qemu-"):]
    elif name.startswith("option-"):
        text = "o" + name[len("option-"):]
    else:
        text = "".join(word[:1] for word in name.split("-") if word) or name[:2]
    text = text[:5]
    candidate, n = text, 2
    while candidate in taken:
        candidate, n = f"{text[:4]}{n}", n + 1
    taken.add(candidate)
    return candidate


def labels(policies: Sequence[str]) -> dict[str, str]:
    taken: set[str] = set()
    return {p: label(p, taken) for p in policies}


def reproduce(report: m.Report, fmt: str) -> str:
    """The command that makes this report again in ``fmt``, quoted for a shell."""
    import shlex

    command = ["optcompare", "report", "--format", fmt, *report.provenance.arguments]
    if report.full and fmt in ("markdown", "text", "json"):  # html and svg are always full
        command.append("--full")
    return shlex.join(command)


def trace_lines(run: m.Run, *, brief: bool = False) -> list[str]:
    """Every step with the client's actions and each image's state; ``brief``:
    every step on one line, the state only after the step that broke."""
    lines = []
    for step in run.trace:
        verdict = "ERR" if step.result == "error" else step.result
        message = f" {step.message}" if step.message else ""
        mark = "" if step.met else "  <-- broke" + (
            f": {step.why}" if step.why and step.why != step.message else "")
        lines.append(f"{step.index:>2} {step.step} -> {verdict}{message}{mark}")
        if brief and step.met:
            continue
        if step.actions:
            lines.append("   client: " + "; ".join(step.actions))
        for image in step.state:
            parts = [f"label {'rw' if image.writable else 'ro'}", f"fd {image.fd}"]
            if image.ro is not None:
                parts.append("node ro" if image.ro else "node rw")
            if image.mode:
                parts.append(image.mode)
            if image.denials:
                parts.append(plural(image.denials, "denial"))
            lines.append(f"   {image.name}: " + ", ".join(parts))
    return lines
