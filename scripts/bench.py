#!/usr/bin/env python3
"""Benchmark optcompare against its import floor (issue 9, with the speed
targets of issues 4, 6 and 7), and print one plain table with a target and
PASS / FAIL per line.

Usage::

    python scripts/bench.py                  # everything, best of 5 / best of 3
    python scripts/bench.py --rounds 9       # more repetitions on a noisy machine
    python scripts/bench.py --no-scaling --no-conformance   # the CLI lines only

Options: ``--rounds N`` (repetitions of each CLI timing, default 5),
``--scale-rounds N`` (repetitions of each scaling size, default 3),
``--no-scaling``, ``--no-conformance``. The exit status is always 0: this is
a report, not a test; read the PASS / FAIL column.

What it measures, each in the same run against its baseline:

- the **floor**: ``python -c "import typer, rich, tabulate"``, the least any
  command of a typer / rich / tabulate CLI can cost; and, for context only,
  a one-option typer command that does nothing (recent typer, 0.29 here,
  imports pydantic to convert a command's parameters: the floor does not
  pay that, every optcompare command that takes options does);
- ``optcompare report --format markdown`` (everything built in) against the
  floor: ratio <= 1.3 (issue 6), twice: as a reviewer runs it again on
  unchanged inputs (the result cache holds the output: a fresh, empty cache
  directory is made for the benchmark and the warm-up run fills it), and
  with ``--no-cache``, which replays every workflow as the first run after
  any change of code or input does;
- ``optcompare --help`` and ``optcompare table option-3`` against the
  floor: ratio <= 1.1 (issue 9: import what a command needs, when it needs
  it);
- issue 13's two lines, from the same runs: ``optcompare table option-3``
  at most 1.3x the floor, and the first, uncached report (``report
  --no-cache``: every workflow replayed) at most 3x;
- ``optcompare run`` (every built-in scenario on every policy) as its time
  minus the floor, the CLI's own time: "well under a second" (issue 4),
  taken here as <= 0.5 s;
- scaling: synthetic inputs of 10, 20 and 40 policies x 20 drivers x 6
  boolean options (3^6 = 729 written combinations per driver) x 100
  scenarios, generated in a temporary directory. Each size runs in a fresh
  subprocess (this script with ``--scale-child``) that builds the synthetic
  policies in-process, loads the scenario files (timed apart: the same 100
  files at every size) and times the analysis: the truth tables of every
  policy plus every scenario run on every policy, as the child's CPU time
  (``time.process_time``; other processes on a shared machine disturb it
  less than wall time, which the notes give too). Targets: 2x input -> at
  most 2.2x time, and the 40-policy analysis under 3 s; the peak memory
  (``ru_maxrss``) of the largest child is printed;
- the plugin guard (``policies/guard.py`` checks every hook call of a plugin):
  the truth tables of 10 synthetic policies (the scaling test's, about
  129,000 rows after grouping) computed plain and through ``guarded``, each
  in a fresh child (``--guard-child``), as CPU time; the line gives guarded
  / plain (``--no-guard``);
- ``optcompare explore`` with its defaults (every built-in policy, ``file``,
  3 images, depth 5) through the CLI: under 10 s (issue 18); then the search
  alone in a fresh child: states per second (CPU time) and peak memory, and
  how the state count grows for depth 3 to 7 (3 images) and 1 to 4 images
  (depth 5) (``--no-explore``, ``--no-explore-growth``);
- ``optcompare conformance`` wall time (issue 7: under 20 s), when the
  command exists and QEMU (``qemu-storage-daemon``, ``qemu-img``) is
  installed; otherwise the line says why it was skipped.

Every subprocess runs the same interpreter as this script (``sys.executable``;
``optcompare`` through the console script installed next to it), so a
version manager's shim (pyenv) costs neither side anything. Timings are the
best of N runs, with the floor interleaved with the commands in every round,
so that load from other processes on the machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from optcompare.model.drivers import DRIVER_NAMES, Driver, Platform, catalogue
from optcompare.model.modes import Behaviour, Mode
from optcompare.model.options import AUTO_READ_ONLY, READ_ONLY, Value
from optcompare.policies.base import (
    Detection,
    Frontend,
    Policy,
    SignalKind,
    Target,
)

FLOOR_CODE = "import typer, rich, tabulate"
TYPER_FLOOR_CODE = """
import typer, rich, tabulate
app = typer.Typer(add_completion=False)
@app.command()
def main(name: str = "x") -> None:
    pass
app(["--name", "y"])
"""
"""A second baseline, for context only: the least a typer command that takes
an option costs (recent typer imports pydantic to convert parameters)."""
SIZES = (10, 20, 40)
SCALE_DRIVERS = 20
SCALE_SCENARIOS = 100
EXTRA_OPTIONS = 4
"""Driver options beyond read-only and auto-read-only: 6 booleans per driver."""
FEATURE = "x-synthetic-dynamic"

RUN_OWN_LIMIT = 0.5
"""Issue 4's "well under a second" of the CLI's own time, made a number."""


# -- synthetic inputs for the scaling test ------------------------------------

_BEHAVIOURS = (Behaviour.HARD, Behaviour.FALLBACK, Behaviour.DYNAMIC, Behaviour.STICKY)


@cache
def _synthetic_catalogue(seed: int) -> tuple[Driver, ...]:
    """20 drivers (the first 20 real names, so scenario files validate), five
    of each class, shuffled by the seed: every synthetic policy has its own
    mix, and all cost about the same to analyse."""
    rng = random.Random(seed)
    behaviours = list(_BEHAVIOURS) * (SCALE_DRIVERS // len(_BEHAVIOURS))
    rng.shuffle(behaviours)
    real = catalogue("4.1")
    return tuple(
        Driver(
            name=name,
            behaviour=behaviours[index],
            source=real[name].source,
            struct=f"BlockdevOptionsSynthetic{index}",
            cannot_write=real[name].cannot_write,
            refusal=real[name].refusal,
            local=real[name].local,
            writes=real[name].writes,
        )
        for index, name in enumerate(DRIVER_NAMES[:SCALE_DRIVERS])
    )


@cache
def _synthetic_drivers(seed: int) -> dict[str, Driver]:
    return {d.name: d for d in _synthetic_catalogue(seed)}


@dataclass(frozen=True)
class SyntheticPolicy(Policy):
    """A made-up option with 6 boolean options on each of 20 drivers.

    The four extra options (``x-<seed>-0`` .. ``x-<seed>-3``) change the
    mode or make a combination invalid, so the 729 rows of a driver's table
    are not all alike. Its client probes a QAPI feature, as 4.1's does.
    """

    seed: int = 0
    extras: tuple[str, ...] = field(default=())

    def drivers(self, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
        # A fresh dict each call, as Policy.drivers gives.
        return dict(_synthetic_drivers(self.seed))

    def driver_options(self, driver: Driver, drivers: Mapping[str, Driver]) -> tuple[str, ...]:
        return self.extras

    def defaults(self, frontend: Frontend, written: Mapping[str, Value]) -> dict[str, Value]:
        values = super().defaults(frontend, written)
        values[self.extras[0]] = written.get(AUTO_READ_ONLY, values[AUTO_READ_ONLY])
        for name in self.extras[1:]:
            values[name] = False
        return values

    def invalid(self, effective: Mapping[str, Value], driver: Driver) -> str | None:
        first, _second, third, fourth = self.extras
        if effective[READ_ONLY] and effective[first] and not effective[AUTO_READ_ONLY]:
            return f"{first}=on needs {AUTO_READ_ONLY}=on with {READ_ONLY}=on"
        if effective[third] and effective[fourth]:
            return f"{third} and {fourth} are mutually exclusive"
        return None

    def mode(self, effective: Mapping[str, Value], driver: Driver) -> Mode:
        first, second, third, _fourth = self.extras
        if effective[READ_ONLY]:
            return Mode.HARD_RO
        if not effective[AUTO_READ_ONLY]:
            return Mode.HARD_RW
        if effective[second]:
            return Mode.FALLBACK_RO
        if effective[third] and driver.behaviour is Behaviour.DYNAMIC:
            return Mode.STICKY_RO
        if not effective[first] and driver.behaviour is Behaviour.DYNAMIC:
            return Mode.FALLBACK_RO
        return driver.behaviour.mode

    def struct_features(self, struct: str, members: list[Driver], platform: Platform) -> list[str]:
        return [FEATURE] if any(d.behaviour is Behaviour.DYNAMIC for d in members) else []

    def detect(self, target: Target, drivers: Mapping[str, Driver]) -> Detection:
        return target.probe_each(f"blockdev-add/arg-type/+{{driver}}/${FEATURE}", drivers)


def synthetic_policies(count: int) -> list[SyntheticPolicy]:
    return [
        SyntheticPolicy(
            name=f"synthetic-{index}",
            title=f"synthetic option {index}",
            source="scripts/bench.py",
            release="4.1",
            version="4.1.0",
            signal=SignalKind.SCHEMA,
            cacheable=True,
            origin="bench",
            seed=index,
            extras=tuple(f"x-{index}-{k}" for k in range(EXTRA_OPTIONS)),
        )
        for index in range(count)
    ]


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)


_SYNTHETIC_NAMES = DRIVER_NAMES[:SCALE_DRIVERS]
_WRITING = tuple(n for n in _SYNTHETIC_NAMES if catalogue("4.1")[n].writes)


def synthetic_scenario(index: int) -> str:
    """One scenario file: a chain of 1-5 images, a workflow of 3-9 steps
    shaped like libvirt's (relabel before a job, writers in pairs), then
    checks (asserts, a probe) that some builds meet and others do not."""
    rng = random.Random(1000 + index)
    size = rng.randint(1, 5)
    chain = [f"img-{k}" for k in range(size)]
    lines = [
        "[scenario]",
        f'name = "synthetic-{index:03d}"',
        f"summary = {_toml_string(f'synthetic workflow {index}')}",
        'source = "scripts/bench.py"',
        "",
        "[setup]",
        f'frontend = "{rng.choice(("blockdev", "blockdev", "drive", "auto"))}"',
        f'driver = "{rng.choice(_WRITING if rng.random() < 0.8 else _SYNTHETIC_NAMES)}"',
        f'client = "{rng.choice(("native", "native", "native", "legacy"))}"',
    ]
    for position, name in enumerate(chain):
        lines += ["[[setup.images]]", f'name = "{name}"']
        if position < size - 1 and rng.random() < 0.3:
            lines.append("writable = true")
    steps: list[list[str]] = [['do = "start"']]
    snapshots = 0
    for _ in range(rng.randint(3, 9)):
        kind = rng.choice(("commit", "stream", "snapshot", "guest-write", "writer"))
        named = [i for i, c in enumerate(chain) if c.startswith("img-")]
        if kind == "commit" and len(named) >= 2:
            top = rng.choice(named[1:])
            base = rng.choice([i for i in named if i < top])
            steps.append(['do = "relabel"', f'image = "{chain[base]}"', "writable = true"])
            steps.append(['do = "block-commit"', f'top = "{chain[top]}"',
                          f'base = "{chain[base]}"'])
            if top < len(chain) - 1:
                steps.append(['do = "relabel"', f'image = "{chain[base]}"', "writable = false"])
            del chain[base + 1 : top + 1]
        elif kind == "stream" and len(named) >= 2:
            top = rng.choice(named[1:])
            steps.append(['do = "block-stream"', f'top = "{chain[top]}"'])
            del chain[:top]
        elif kind == "snapshot":
            snapshots += 1
            steps.append(['do = "snapshot"', f'image = "snap-{snapshots}"'])
            chain.append(f"snap-{snapshots}")
        elif kind == "guest-write":
            steps.append(['do = "guest-write"'])
        else:
            image = chain[-1]
            if image.startswith("img-"):
                steps.append(['do = "attach-writer"', f'image = "{image}"'])
                steps.append(['do = "detach-writer"', f'image = "{image}"'])
    images = [c for c in chain if c.startswith("img-")]
    for image in rng.sample(images, min(len(images), 2)):
        steps.append(['do = "assert"', f'image = "{image}"',
                      f'fd = "{"rw" if image == chain[-1] else "ro"}"', "denials = 0"])
    if rng.random() < 0.5:
        driver = rng.choice(DRIVER_NAMES[:SCALE_DRIVERS])
        steps.append(['do = "probe"', f'query = "blockdev-add/arg-type/+{driver}/${FEATURE}"',
                      f"expect = {'true' if rng.random() < 0.5 else 'false'}"])
    for step in steps:
        lines += ["", "[[steps]]", *step]
    return "\n".join(lines) + "\n"


def write_scenarios(directory: Path) -> None:
    for index in range(SCALE_SCENARIOS):
        (directory / f"synthetic-{index:03d}.toml").write_text(
            synthetic_scenario(index), encoding="utf-8"
        )


def scale_child(count: int, directory: Path) -> None:
    """The measured part of the scaling test, in this (fresh) process."""
    from optcompare.analysis.scenarios import matrix
    from optcompare.analysis.truth_table import tables
    from optcompare.scenario.files import discover
    from optcompare.scenario.load import load_all

    policies = synthetic_policies(count)
    clock = time.process_time
    start = clock()
    scenarios = load_all(discover(directory))
    loaded, wall = clock(), time.perf_counter()
    rows = 0
    for policy in policies:
        rows += sum(len(table.rows) for table in tables(policy))
    tabled = clock()
    results = matrix(scenarios, policies)
    ran, wall = clock(), time.perf_counter() - wall
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.outcome.value] = outcomes.get(result.outcome.value, 0) + 1
    print(json.dumps({
        "policies": count,
        "scenarios": len(scenarios),
        "rows": rows,
        "results": len(results),
        "outcomes": outcomes,
        "load": loaded - start,
        "tables": tabled - loaded,
        "runs": ran - tabled,
        "analysis": ran - loaded,
        "wall": wall,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


# -- running and timing subprocesses ------------------------------------------

@dataclass
class Timing:
    argv: list[str]
    samples: list[float] = field(default_factory=list)
    """Wall times."""
    cpu: list[float] = field(default_factory=list)
    """User + system CPU times of the same runs."""
    returncode: int | None = None
    error: str | None = None

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)

    def add(self, sample: tuple[float, float, int, str]) -> None:
        self.samples.append(sample[0])
        self.cpu.append(sample[1])


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"NO_COLOR": "1", "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"})
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def optcompare_argv() -> list[str]:
    """The console script next to this interpreter, else ``python -m optcompare``."""
    script = Path(sys.executable).parent / "optcompare"
    try:
        first = script.read_bytes()[:200].splitlines()[0]
    except (OSError, IndexError):
        first = b""
    if first.startswith(b"#!") and b"python" in first:
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "optcompare"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, float, int, str]:
    """Wall time, CPU time, exit code and the last line of stderr of one run."""
    with tempfile.TemporaryFile() as err:
        cpu = _children_cpu()
        start = time.perf_counter()
        code = subprocess.call(list(argv), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, env=dict(env))
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu
        err.seek(0)
        text = err.read().decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return elapsed, cpu, code, (lines[-1] if lines else "")


def measure(timings: Mapping[str, Timing], rounds: int, env: Mapping[str, str],
            ok_codes: Mapping[str, tuple[int, ...]]) -> None:
    """Best-of-``rounds``; the floor runs between every two commands."""
    names = [n for n in timings if n != "floor"]
    for name, timing in timings.items():  # warm-up, and is the command there at all?
        _elapsed, _cpu, code, last = run_once(timing.argv, env)
        timing.returncode = code
        if code not in ok_codes.get(name, (0,)):
            timing.error = last or f"exit {code}"
    live = [n for n in names if timings[n].error is None]
    for index in range(rounds):
        order = live[index % len(live):] + live[: index % len(live)] if live else []
        for name in order:
            timings["floor"].add(run_once(timings["floor"].argv, env))
            timings[name].add(run_once(timings[name].argv, env))
        if not order:
            timings["floor"].add(run_once(timings["floor"].argv, env))


# -- the report ----------------------------------------------------------------

@dataclass
class Line:
    measure: str
    value: str
    baseline: str
    result: str
    target: str
    verdict: str


def ratio_line(name: str, timing: Timing, floor: Timing, limit: float) -> Line:
    if timing.error is not None:
        return Line(name, "-", f"{floor.best:.3f} s", "-", f"<= {limit:.2f}x",
                    f"SKIP ({timing.error})")
    ratio = timing.best / floor.best
    return Line(name, f"{timing.best:.3f} s", f"{floor.best:.3f} s", f"{ratio:.2f}x",
                f"<= {limit:.2f}x", "PASS" if ratio <= limit else "FAIL")


def info_ratio_line(name: str, timing: Timing, floor: Timing) -> Line:
    if timing.error is not None:
        return Line(name, "-", f"{floor.best:.3f} s", "-", "info", f"SKIP ({timing.error})")
    return Line(name, f"{timing.best:.3f} s", f"{floor.best:.3f} s",
                f"{timing.best / floor.best:.2f}x", "info", "-")


def machine() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    versions = []
    for package in ("optcompare", "typer", "rich", "tabulate"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"{package} ?")
    return [
        f"machine: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        f"python:  {platform.python_version()} ({sys.executable}); {', '.join(versions)}",
        f"load:    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min) at start",
    ]


def print_table(lines: Sequence[Line]) -> None:
    header = Line("measure", "time", "baseline", "result", "target", "verdict")
    rows = [header, *lines]
    widths = [max(len(getattr(r, f)) for r in rows)
              for f in ("measure", "value", "baseline", "result", "target")]
    for index, row in enumerate(rows):
        cells = [row.measure, row.value, row.baseline, row.result, row.target]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  "
              + row.verdict)
        if index == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * 7)


def cli_lines(rounds: int, env: Mapping[str, str]) -> tuple[list[Line], list[str]]:
    oc = optcompare_argv()
    timings = {
        "floor": Timing([sys.executable, "-c", FLOOR_CODE]),
        "typer-floor": Timing([sys.executable, "-c", TYPER_FLOOR_CODE]),
        "help": Timing([*oc, "--help"]),
        "table": Timing([*oc, "table", "option-3"]),
        "report": Timing([*oc, "report", "--format", "markdown"]),
        "report-replay": Timing([*oc, "report", "--format", "markdown", "--no-cache"]),
        "run": Timing([*oc, "run"]),
    }
    measure(timings, rounds, env, {})
    floor = timings["floor"]
    lines = [
        Line("floor: python -c 'import typer, rich, tabulate'", f"{floor.best:.3f} s", "-", "-",
             "baseline", "-"),
        info_ratio_line("context: a 1-option typer command (no work)", timings["typer-floor"],
                        floor),
        ratio_line("optcompare report --format markdown (stored)", timings["report"], floor,
                   1.3),
        ratio_line("optcompare report --format markdown --no-cache", timings["report-replay"],
                   floor, 1.3),
        ratio_line("optcompare --help", timings["help"], floor, 1.1),
        ratio_line("optcompare table option-3", timings["table"], floor, 1.1),
        ratio_line("issue 13: optcompare table option-3", timings["table"], floor, 1.3),
        ratio_line("issue 13: first, uncached report (--no-cache)", timings["report-replay"],
                   floor, 3.0),
    ]
    run = timings["run"]
    if run.error is not None:
        lines.append(Line("optcompare run (own time = time - floor)", "-", "-", "-",
                          f"<= {RUN_OWN_LIMIT:.1f} s", f"SKIP ({run.error})"))
    else:
        own = run.best - floor.best
        lines.append(Line("optcompare run (own time = time - floor)", f"{run.best:.3f} s",
                          f"{floor.best:.3f} s", f"{own:.3f} s", f"<= {RUN_OWN_LIMIT:.1f} s",
                          "PASS" if own <= RUN_OWN_LIMIT else "FAIL"))
    cpu = ", ".join(
        f"{name} {timing.best_cpu:.3f} s ({timing.best_cpu / floor.best_cpu:.2f}x)"
        for name, timing in timings.items() if timing.cpu and name != "floor"
    )
    notes = [
        f"optcompare is run as: {' '.join(oc)}",
        f"best CPU times (user+sys) against the floor's {floor.best_cpu:.3f} s: {cpu or '-'}",
    ]
    typer_floor = timings["typer-floor"]
    if typer_floor.error is None:
        against = ", ".join(
            f"{name} {timing.best / typer_floor.best:.2f}x"
            for name, timing in timings.items()
            if timing.samples and timing.error is None and name not in ("floor", "typer-floor")
        )
        notes.append(f"against the 1-option typer command ({typer_floor.best:.3f} s): "
                     f"{against or '-'}")
    return lines, notes


def scaling_lines(rounds: int, env: Mapping[str, str]) -> tuple[list[Line], list[str]]:
    """Fresh child per size and round, sizes interleaved; best CPU time per size."""
    notes: list[str] = []
    best: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="optcompare-bench-") as tmp:
        directory = Path(tmp)
        write_scenarios(directory)
        for _ in range(rounds):
            for count in SIZES:
                argv = [sys.executable, str(Path(__file__).resolve()), "--scale-child",
                        str(count), str(directory)]
                done = subprocess.run(argv, capture_output=True, text=True, env=dict(env),
                                      check=False)
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                    return [Line(f"scaling ({count} policies)", "-", "-", "-", "-",
                                 f"ERROR ({last})")], notes
                data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
                if count not in best or data["analysis"] < best[count]["analysis"]:
                    best[count] = data
    lines: list[Line] = []
    for count in SIZES:
        data = best[count]
        lines.append(Line(
            f"scaling: {count} policies x 20 drivers x 729 x 100 scenarios",
            f"{data['analysis']:.3f} s", "-",
            f"tables {data['tables']:.2f} s + runs {data['runs']:.2f} s", "info", "-"))
        notes.append(
            f"{count} policies: {data['rows']} table rows after grouping, {data['results']} "
            f"runs ({', '.join(f'{k} {v}' for k, v in sorted(data['outcomes'].items()))}); "
            f"wall {data['wall']:.3f} s; loading the {data['scenarios']} scenario files "
            f"took {data['load']:.3f} s (not counted: the same at every size)")
    for small, large in pairwise(SIZES):
        ratio = best[large]["analysis"] / best[small]["analysis"]
        lines.append(Line(f"scaling ratio {large}/{small} policies (input x2)",
                          f"{best[large]['analysis']:.3f} s", f"{best[small]['analysis']:.3f} s",
                          f"{ratio:.2f}x", "<= 2.20x", "PASS" if ratio <= 2.2 else "FAIL"))
    largest = best[SIZES[-1]]
    lines.append(Line(f"scaling: {SIZES[-1]}-policy analysis", f"{largest['analysis']:.3f} s",
                      "-", f"wall {largest['wall']:.3f} s", "< 3.0 s",
                      "PASS" if largest["analysis"] < 3.0 else "FAIL"))
    lines.append(Line(f"peak memory (ru_maxrss), {SIZES[-1]}-policy child", "-", "-",
                      f"{largest['maxrss_kb'] / 1024:.1f} MiB", "info", "-"))
    notes.append("scaling times are the child's CPU time (time.process_time), which other "
                 "processes on the machine disturb less than wall time")
    return lines, notes


GUARD_POLICIES = 10


def guard_child(mode: str) -> None:
    """The truth tables of the synthetic policies, plain or guarded, in this process."""
    from optcompare.analysis.truth_table import tables
    from optcompare.policies.guard import guarded

    policies = synthetic_policies(GUARD_POLICIES)
    if mode == "guarded":
        policies = [guarded(p) for p in policies]
    start = time.process_time()
    rows = sum(len(table.rows) for policy in policies for table in tables(policy))
    print(json.dumps({"cpu": time.process_time() - start, "rows": rows}))


def guard_line(rounds: int, env: Mapping[str, str]) -> Line:
    name = f"plugin guard: truth tables of {GUARD_POLICIES} synthetic policies, guarded/plain"
    best: dict[str, float] = {}
    for _ in range(rounds):
        for mode in ("plain", "guarded"):
            argv = [sys.executable, str(Path(__file__).resolve()), "--guard-child", mode]
            done = subprocess.run(argv, capture_output=True, text=True, env=dict(env),
                                  check=False)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                return Line(name, "-", "-", "-", "info", f"ERROR ({last})")
            cpu = float(json.loads(done.stdout.strip().splitlines()[-1])["cpu"])
            best[mode] = min(best.get(mode, cpu), cpu)
    return Line(name, f"{best['guarded']:.3f} s", f"{best['plain']:.3f} s",
                f"{best['guarded'] / best['plain']:.2f}x", "info", "-")


def conformance_line(env: Mapping[str, str]) -> Line:
    name = "optcompare conformance (wall time, 1 run)"
    missing = [b for b in ("qemu-storage-daemon", "qemu-img") if shutil.which(b) is None]
    if missing:
        return Line(name, "-", "-", "-", "< 20 s", f"SKIP (not installed: {', '.join(missing)})")
    oc = optcompare_argv()
    _elapsed, _cpu, code, last = run_once([*oc, "conformance", "--help"], env)
    if code != 0:
        return Line(name, "-", "-", "-", "< 20 s", f"SKIP (no conformance command: {last})")
    elapsed, _cpu, code, last = run_once([*oc, "conformance"], env)
    if code not in (0, 1):
        return Line(name, f"{elapsed:.2f} s", "-", "-", "< 20 s", f"ERROR (exit {code}: {last})")
    note = "" if code == 0 else " (exit 1: disagreements)"
    return Line(name, f"{elapsed:.2f} s", "-", f"{elapsed:.2f} s", "< 20 s",
                ("PASS" if elapsed < 20 else "FAIL") + note)


EXPLORE_LIMIT = 10.0
"""Issue 18: the default explore under 10 s on a 2-core machine."""
EXPLORE_DEPTHS = (3, 4, 5, 6, 7)
EXPLORE_IMAGES = (1, 2, 3, 4)


def explore_child(depth: int, images: int) -> None:
    """One search of every built-in policy, in this (fresh) process."""
    from optcompare.analysis import explore
    from optcompare.policies import registry

    clock, wall = time.process_time(), time.perf_counter()
    found = explore.explore(registry.BUILTIN, explore.Bounds(depth=depth, images=images),
                            explore.Context())
    cpu, wall = time.process_time() - clock, time.perf_counter() - wall
    print(json.dumps({
        "depth": depth, "images": images, "states": found.states,
        "transitions": found.transitions, "cpu": cpu, "wall": wall,
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


def _explore_run(depth: int, images: int, env: Mapping[str, str]) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--explore-child", str(depth),
            str(images)]
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(env), check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise RuntimeError(last)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def explore_lines(rounds: int, env: Mapping[str, str], growth: bool
                  ) -> tuple[list[Line], list[str]]:
    """The default ``explore`` through the CLI, then the search in a child per size."""
    oc = optcompare_argv()
    command = Timing([*oc, "explore"])
    measure({"floor": Timing([sys.executable, "-c", FLOOR_CODE]), "explore": command},
            rounds, env, {})
    from optcompare.policies import registry

    name = (f"optcompare explore ({len(registry.BUILTIN)} built-in policies, file, 3 images, "
            "depth 5)")
    if command.error is not None:
        return [Line(name, "-", "-", "-", f"< {EXPLORE_LIMIT:.0f} s",
                     f"SKIP ({command.error})")], []
    lines = [Line(name, f"{command.best:.2f} s", "-", f"cpu {command.best_cpu:.2f} s",
                  f"< {EXPLORE_LIMIT:.0f} s",
                  "PASS" if command.best < EXPLORE_LIMIT else "FAIL")]
    notes: list[str] = []
    try:
        default = min((_explore_run(5, 3, env) for _ in range(rounds)),
                      key=lambda d: float(d["cpu"]))
    except RuntimeError as error:
        return [*lines, Line("explore search", "-", "-", "-", "-", f"ERROR ({error})")], notes
    lines.append(Line("explore search: states per second (depth 5, 3 images)",
                      f"{default['cpu']:.2f} s", "-",
                      f"{default['states'] / default['cpu']:.0f} states/s", "info", "-"))
    lines.append(Line("explore search: peak memory (ru_maxrss)", "-", "-",
                      f"{default['maxrss_kb'] / 1024:.1f} MiB", "info", "-"))
    notes.append(f"explore depth 5, 3 images: {default['states']} states, "
                 f"{default['transitions']} steps played "
                 f"({default['transitions'] / default['cpu']:.0f} steps/s), CPU time")
    if growth:
        sizes = [(d, 3) for d in EXPLORE_DEPTHS] + [(5, k) for k in EXPLORE_IMAGES if k != 3]
        for depth, images in sizes:
            data = default if (depth, images) == (5, 3) else _explore_run(depth, images, env)
            lines.append(Line(f"explore growth: depth {depth}, {images} image(s)",
                              f"{data['cpu']:.2f} s", "-",
                              f"{data['states']} states, {data['transitions']} steps",
                              "info", f"{data['maxrss_kb'] / 1024:.0f} MiB"))
    return lines, notes


def compile_bytecode() -> str:
    """Bytecode for optcompare, as an installed package has it.

    ``pip install`` compiles a package's modules; the floor's typer, rich and
    tabulate were compiled that way. An editable checkout under
    ``PYTHONDONTWRITEBYTECODE=1`` never gets its ``__pycache__``, and every
    run would compile optcompare from source: a cost of the checkout, not of
    the tool.
    """
    import compileall

    import optcompare

    roots = list(optcompare.__path__)
    ok = all(compileall.compile_dir(root, quiet=1) for root in roots)
    return f"bytecode: compiled {', '.join(roots)}{'' if ok else ' (with errors)'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark optcompare against its import floor (see the module docstring)."
    )
    parser.add_argument("--rounds", type=int, default=5, help="CLI timings: best of N")
    parser.add_argument("--scale-rounds", type=int, default=3, help="scaling: best of N")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling test")
    parser.add_argument("--no-conformance", action="store_true",
                        help="skip optcompare conformance")
    parser.add_argument("--no-explore", action="store_true", help="skip optcompare explore")
    parser.add_argument("--no-explore-growth", action="store_true",
                        help="skip the explore state counts for depth 3-7 and 1-4 images")
    parser.add_argument("--scale-child", nargs=2, metavar=("POLICIES", "DIR"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--explore-child", nargs=2, metavar=("DEPTH", "IMAGES"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--no-guard", action="store_true",
                        help="skip the plugin guard's cost on the truth tables")
    parser.add_argument("--guard-child", choices=("plain", "guarded"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        scale_child(int(args.scale_child[0]), Path(args.scale_child[1]))
        return 0
    if args.explore_child:
        explore_child(int(args.explore_child[0]), int(args.explore_child[1]))
        return 0
    if args.guard_child:
        guard_child(args.guard_child)
        return 0
    print(compile_bytecode(), flush=True)
    cache = tempfile.TemporaryDirectory(prefix="optcompare-bench-cache-")
    env = {**child_env(), "OPTCOMPARE_CACHE_DIR": cache.name}
    env.pop("OPTCOMPARE_NO_CACHE", None)
    for text in machine():
        print(text, flush=True)
    print(f"runs:    best of {args.rounds} (CLI, floor interleaved), "
          f"best of {args.scale_rounds} (scaling)", flush=True)
    print()
    lines, notes = cli_lines(max(1, args.rounds), env)
    if not args.no_scaling:
        more, scaling_notes = scaling_lines(max(1, args.scale_rounds), env)
        lines += more
        notes += scaling_notes
    if not args.no_guard:
        lines.append(guard_line(max(1, args.scale_rounds), env))
    if not args.no_explore:
        more, explore_notes = explore_lines(max(1, min(args.rounds, 3)), env,
                                            not args.no_explore_growth)
        lines += more
        notes += explore_notes
    if not args.no_conformance:
        lines.append(conformance_line(env))
    print_table(lines)
    print()
    for note in notes:
        print(f"note: {note}")
    cache.cleanup()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    if any(a in sys.argv for a in ("--scale-child", "--explore-child", "--guard-child")):
        sys.exit(main())
    signal.signal(signal.SIGTERM, _interrupt)  # clean up the temporary directory too
    try:
        main()
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
    except Exception:
        import traceback

        traceback.print_exc()
        print("bench: the benchmark itself failed (report above); exit 0 all the same",
              file=sys.stderr)
    sys.exit(0)
