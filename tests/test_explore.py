"""explore: the bounded search, its shortest findings, emitted files, the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optcompare.analysis import explore as ex
from optcompare.analysis import questions
from optcompare.cli import build_app
from optcompare.model.drivers import Driver, Platform
from optcompare.policies import registry
from optcompare.policies.base import Policy, Resolution
from optcompare.scenario import load
from optcompare.scenario.properties import Property

runner = CliRunner()
SMALL = ex.Bounds(depth=3, images=2)


def steps_of(found: ex.PolicySearch, prop: Property) -> list[str]:
    example = found.result(prop).counterexample
    assert example is not None, f"{found.policy}: {prop} holds"
    return [s.describe() for s in example.workflow.steps]


def test_qemu_3_1_shortest_commit_counterexample_is_start_relabel_commit() -> None:
    found = ex.search(ex.Context(), registry.get("qemu-3.1"), ex.Bounds())
    example = found.result(Property.BLOCK_COMMIT).counterexample
    assert example is not None
    assert [s.do for s in example.workflow.steps] == ["start", "relabel", "block-commit"]
    assert example.workflow.steps[1].args == {"image": "base", "writable": True}
    assert example.trace[-1].result == "error"
    assert example.trace[-1].message == "Block node is read-only"
    assert example.workflow.start.labels[0] is False  # base unwritable at start


def test_qemu_4_1_has_no_block_job_counterexample_up_to_the_default_depth() -> None:
    found = ex.search(ex.Context(), registry.get("qemu-4.1"), ex.Bounds())
    for prop in (Property.BLOCK_COMMIT, Property.BLOCK_STREAM):
        assert found.result(prop).counterexample is None
    assert found.states > 100
    assert found.transitions > found.states


def test_qemu_4_0_0_keeps_a_write_descriptor_the_thread_s_4_0_drops() -> None:
    context = ex.Context()
    shipped = ex.search(context, registry.get("qemu-4.0.0"), ex.Bounds())
    example = shipped.result(Property.NO_WRITE_FD).counterexample
    assert example is not None and example.image == "top"
    assert [s.describe() for s in example.workflow.steps] == ["start", "snapshot image=snap"]
    seen = example.trace[-1].state["top"]
    assert (seen.label, seen.fd.value, seen.writers) == (False, "rw", 0)
    thread = ex.search(context, registry.get("qemu-4.0"), ex.Bounds())
    assert thread.result(Property.NO_WRITE_FD).counterexample is None


def test_qemu_3_1_other_counterexamples() -> None:
    found = ex.search(ex.Context(), registry.get("qemu-3.1"), ex.Bounds())
    assert steps_of(found, Property.NO_DENIALS) == ["start"]
    assert found.result(Property.NO_DENIALS).counterexample.image == "base"  # type: ignore[union-attr]
    assert steps_of(found, Property.NO_WRITE_FD) == ["start", "snapshot image=snap"]
    assert found.result(Property.READONLY_DISKS).counterexample is None


def _brute_force_shortest(policy: str, bounds: ex.Bounds) -> dict[Property, int]:
    """Every sequence, no deduplication: the length of the shortest violation."""
    from optcompare.scenario.backend import NotApplicable
    from optcompare.scenario.properties import violations

    context = ex.Context()
    best: dict[Property, int] = {}

    def walk(session: ex.Session, start: ex.Start, before: dict, depth: int) -> None:
        if depth == bounds.depth:
            return
        chain = session.chain
        choices = ([ex.Action("start")] if session.frontend is None
                   else ex.actions([before[n].label for n in chain]))
        for action in choices:
            child = session.fork()
            step = ex.to_step(action, depth, chain, session.known)
            try:
                record = child.play(step)
            except NotApplicable:
                continue
            for v in violations(step.do, step.args, record.result, readonly=start.readonly,
                                chain=chain, before=before, after=dict(record.state)):
                best[v.property] = min(best.get(v.property, 99), depth + 1)
            if not (action.do == "start" and record.result == "error"):
                walk(child, start, dict(record.state), depth + 1)

    for start in ex.starts(bounds.images):
        session = context.session(registry.get(policy), bounds, start)
        walk(session, start, {n: session.backend.observe(n) for n in session.known}, 0)
    return best


@pytest.mark.parametrize("policy", ["qemu-3.0", "qemu-3.1", "qemu-4.1"])
def test_deduplication_keeps_every_shortest_violation(policy: str) -> None:
    bounds = ex.Bounds(depth=3, images=2)
    found = ex.search(ex.Context(), registry.get(policy), bounds)
    searched = {r.property: len(r.counterexample.workflow.steps)
                for r in found.results if r.counterexample is not None}
    assert searched == _brute_force_shortest(policy, bounds)


def test_states_not_sequences() -> None:
    graph = ex.Context().graph(registry.get("qemu-4.1"), ex.Bounds(depth=4))
    assert graph.states < graph.transitions / 5


def test_context_memoises_graphs_and_probes() -> None:
    context = ex.Context()
    policy = registry.get("qemu-4.1")
    assert context.graph(policy, SMALL) is context.graph(policy, SMALL)
    build = context.build(policy, "posix")
    assert build is context.build(policy, "posix")
    assert context.detect(policy, build) is context.detect(policy, build)
    session = context.session(policy, SMALL, ex.starts(1)[0])
    assert session.backend.build is build
    workflow = ex.Workflow(ex.starts(1)[0], (ex.to_step(ex.Action("start"), 0, ("top",), ()),))
    assert context.replay(policy, SMALL, workflow) is context.replay(policy, SMALL, workflow)


def test_shortest_differences() -> None:
    context = ex.Context()
    get = registry.get
    same = ex.difference(context, get("qemu-4.0"), get("option-2"), ex.Bounds())
    assert same.workflow is None and same.pairs > 100
    apart = ex.difference(context, get("qemu-3.1"), get("qemu-4.1"), SMALL)
    assert apart.workflow is not None
    assert [s.do for s in apart.workflow.steps] == ["start"]
    assert apart.what()


def test_emitted_files_pass_check_and_replay_as_meets(tmp_path: Path) -> None:
    app = build_app()
    result = runner.invoke(app, ["explore", "-p", "qemu-3.0", "-p", "qemu-3.1", "-p",
                                 "qemu-4.1", "--depth", "4", "--emit", str(tmp_path),
                                 "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    emitted = data["emitted"]
    assert "explore-qemu-3-1-block-commit.toml" in emitted
    assert "explore-qemu-3-1-vs-qemu-4-1.toml" in emitted
    paths = sorted(tmp_path.glob("*.toml"))
    assert [p.name for p in paths] == sorted(emitted)
    checked = runner.invoke(app, ["check", *map(str, paths)])
    assert checked.exit_code == 0, checked.output
    for path in paths:
        scenario = load.load(path)
        policy = path.stem.removeprefix("explore-").split("-vs-")[0]
        name = next(p.name for p in registry.all_policies()
                    if policy.startswith(p.name.replace(".", "-")))
        run = runner.invoke(app, ["run", str(path), "--policy", name, "-f", "json"])
        assert run.exit_code == 0, run.output
        assert json.loads(run.stdout)["results"][0]["outcome"] == "meets", scenario.name
    other = runner.invoke(app, ["run", str(tmp_path / "explore-qemu-3-1-vs-qemu-4-1.toml"),
                                "--policy", "qemu-4.1", "-f", "json"])
    assert json.loads(other.stdout)["results"][0]["outcome"] == "fails"


def test_write_fd_property_in_a_scenario_assert() -> None:
    from optcompare.scenario.runner import Outcome, run

    text = ('[scenario]\nname = "t"\nsummary = "s"\nsource = "x"\n[setup]\n'
            '[[setup.images]]\nname = "top"\nwritable = true\n'
            '[[steps]]\ndo = "start"\n[[steps]]\ndo = "snapshot"\nimage = "snap"\n'
            '[[steps]]\ndo = "assert"\nimage = "top"\nproperty = "no-write-fd"\n')
    scenario = load.parse(text, "t.toml")
    assert run(scenario, registry.get("qemu-4.1")).outcome is Outcome.MEETS
    failed = run(scenario, registry.get("qemu-3.1"))
    assert failed.outcome is Outcome.FAILS
    assert failed.reason == "top: no-write-fd is violated, expected it to hold"
    # a relabel may name the overlay a snapshot created
    later = text + '[[steps]]\ndo = "relabel"\nimage = "snap"\nwritable = false\n'
    assert load.parse(later, "t.toml").steps[-1].args["image"] == "snap"


def test_unknown_property_is_a_load_error_with_its_line() -> None:
    text = ('[scenario]\nname = "t"\nsummary = "s"\nsource = "x"\n[setup]\n'
            '[[setup.images]]\nname = "top"\n'
            '[[steps]]\ndo = "assert"\nimage = "top"\nproperty = "fast"\n')
    problems = load.check_text(text, "t.toml")
    assert isinstance(problems, list)
    assert str(problems[0]) == ("t.toml:11: key 'property': expected one of no-write-fd, "
                                "no-denials, got 'fast'")


def test_text_output_and_bad_input() -> None:
    app = build_app()
    result = runner.invoke(app, ["explore", "-p", "qemu-3.1", "-p", "qemu-4.1",
                                 "--depth", "3", "--images", "2"])
    assert result.exit_code == 0
    assert "qemu-3.1, block-commit: read/write disk; labels at start: base read-only, " \
        "top writable" in result.stdout
    assert "  3. block-commit top=top base=base -> ERR Block node is read-only" in result.stdout
    again = runner.invoke(app, ["explore", "-p", "qemu-3.1", "-p", "qemu-4.1",
                                "--depth", "3", "--images", "2"])
    assert again.stdout == result.stdout
    bad = runner.invoke(app, ["explore", "--driver", "floppy"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().startswith("optcompare: error: unknown driver 'floppy'")
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_shipped_libvirt_client_on_qemu_4_1() -> None:
    found = ex.search(ex.Context(), registry.get("qemu-4.1"), ex.Bounds(depth=3,
                                                                          client="libvirt"))
    # forced to -blockdev, libvirt as shipped passes auto-read-only=on to every
    # storage node: on 4.1's dynamic file driver every commit works
    assert found.result(Property.BLOCK_COMMIT).counterexample is None
    result = runner.invoke(build_app(), ["explore", "-p", "qemu-4.1", "--client", "libvirt",
                                         "--depth", "2", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["bounds"]["client"] == "libvirt"


def test_console_script_json() -> None:
    env = {**os.environ, "OPTCOMPARE_NO_PLUGINS": "1"}
    done = subprocess.run([sys.executable, "-m", "optcompare", "explore", "--depth", "2",
                           "-p", "qemu-4.1", "-f", "json"], capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "explore"
    assert data["summary"]["violations"] == 0
    assert data["bounds"]["depth"] == 2


def test_exhibited_uses_the_same_properties_as_the_search() -> None:
    from optcompare.scenario.runner import run

    scenario = load.select(["blockdev-commit-selinux"])[0]
    shown = ex.exhibited(scenario, run(scenario, registry.get("qemu-3.1")))
    assert Property.BLOCK_COMMIT in shown and Property.NO_DENIALS in shown
    assert ex.exhibited(scenario, run(scenario, registry.get("qemu-4.1"))) == frozenset()


def test_report_found_by_search_lists_what_no_built_in_scenario_shows() -> None:
    from optcompare.analysis.report import build_report
    from optcompare.render.report_views import report_view

    scenarios = load.select(["readonly-disk-guest-write"])
    report = build_report([registry.get("qemu-3.1"), registry.get("qemu-4.1")], scenarios)
    search = report.search
    assert search is not None and search.depth == 3 and search.states > 0
    unshown = {f.property: f for f in search.unshown}
    # the read-only disk's start logs a denial on 3.1: that one is shown
    assert search.violations == len(unshown) + search.shown == 4 and search.shown == 1
    commit = unshown["block-commit"]
    assert commit.policy == "qemu-3.1"
    assert [t.step for t in commit.trace] == ["start", "relabel image=base writable=true",
                                              "block-commit top=top base=base"]
    from optcompare.render import markdown

    text = markdown.render(report_view(report), 76)
    assert "explore --emit writes it as explore-qemu-3-1-block-commit.toml:" in " ".join(
        text.split())
    assert "3. block-commit top=top base=base -> ERR Block node is read-only" in text
    everything = build_report([registry.get("qemu-3.1"), registry.get("qemu-4.1")],
                              load.select([]))
    assert everything.search is not None
    assert everything.search.unshown == ()
    assert everything.search.shown == everything.search.violations == 4


def test_a_fork_shares_nothing_it_could_change() -> None:
    context = ex.Context()
    bounds = ex.Bounds()
    session = context.session(registry.get("qemu-4.1"), bounds, ex.Start((True, True), False))
    session.play(ex.to_step(ex.Action("start"), 0, session.chain, session.known))
    before = {n: session.backend.observe(n) for n in session.known}
    chain_before = session.chain
    child = session.fork()
    for action in (ex.Action("relabel", 0, writable=False), ex.Action("attach-writer", 0),
                   ex.Action("snapshot"), ex.Action("block-commit", 1, 0)):
        child.play(ex.to_step(action, 1, child.chain, child.known))
    assert {n: child.backend.observe(n) for n in session.known} != before
    assert {n: session.backend.observe(n) for n in session.known} == before
    assert session.chain == chain_before and child.chain != chain_before
    assert session.known != child.known
    # The other way round: the original goes on, the fork stays as it was.
    after = {n: child.backend.observe(n) for n in child.known}
    session.play(ex.to_step(ex.Action("attach-writer", 1), 1, session.chain, session.known))
    session.play(ex.to_step(ex.Action("relabel", 0, writable=False), 2, session.chain,
                            session.known))
    assert {n: session.backend.observe(n) for n in session.known} != before
    assert {n: child.backend.observe(n) for n in child.known} == after


class _Sticky(type(registry.get("qemu-4.0"))):  # type: ignore[misc]
    """qemu-4.0, except that its libvirt asks for a read-only backing chain."""

    def storage_options(self, backing: bool, readonly: bool) -> dict[str, bool]:
        return {"read-only": True} if backing else super().storage_options(backing, readonly)


def test_a_search_is_shared_only_by_builds_that_answer_alike() -> None:
    """The same graph for a build that answers every question of the search alike (here:
    another name), a search of its own for one that answers one question otherwise."""
    context = ex.Context()
    base = registry.get("qemu-4.0")
    renamed = replace(base, name="qemu-4.0-again")
    kept = replace(base, downgrades=False)  # what 4.0.0 did
    sticky = _Sticky(**{f: v for f, v in asdict(base).items() if f != "wording"})
    graph = context.graph(base, SMALL)
    assert context.graph(renamed, SMALL) is graph
    for other in (kept, sticky):
        assert context.graph(other, SMALL) is not graph
    for policy in (base, renamed, kept, sticky):
        alone = ex.search(ex.Context(), policy, SMALL)
        assert ex.search(context, policy, SMALL) == alone
    assert ex.search(context, kept, SMALL) != ex.search(context, base, SMALL)


@dataclass(frozen=True)
class _Driven(type(registry.get("qemu-4.0"))):  # type: ignore[misc]
    """qemu-4.0, with one field of its file driver changed."""

    changed: tuple[tuple[str, object], ...] = ()

    def drivers(self, platform: Platform = Platform.POSIX) -> dict[str, Driver]:
        found = super().drivers(platform)
        found["file"] = replace(found["file"], **dict(self.changed))
        return found


def _driven(**changed: object) -> Policy:
    base = registry.get("qemu-4.0")
    fields = {f: v for f, v in asdict(base).items() if f != "wording"}
    return _Driven(**fields, changed=tuple(changed.items()))


class _Resolved(type(registry.get("qemu-4.0"))):  # type: ignore[misc]
    """qemu-4.0, whose resolutions list one more effective option (nobody reads it)."""

    def resolve(self, *args: Any, **kwargs: Any) -> Resolution:
        found: Resolution = super().resolve(*args, **kwargs)
        return found._replace(effective={**found.effective, "noted": True})


def test_a_search_reads_into_the_objects_a_build_answers_with() -> None:
    """A build whose driver, wording or resolution differs only in what the search never
    reads shares the search; one that differs in what it reads has its own."""
    context = ex.Context()
    base = registry.get("qemu-4.0")
    graph = context.graph(base, SMALL)
    fields = {f: v for f, v in asdict(base).items() if f != "wording"}
    alike = (base.with_wording("4.1"), _driven(class_source="elsewhere"),
             _Resolved(**fields))
    unlike = (base.with_wording("7.2"), _driven(local=False), _driven(writes=False))
    for policy in alike:
        assert context.graph(policy, SMALL) is graph, policy
    for policy in unlike:
        assert context.graph(policy, SMALL) is not graph, policy
    for policy in unlike[1:]:  # and rightly: what a driver does changes the graph
        assert context.graph(policy, SMALL) != graph, policy
    for policy in (base, *alike, *unlike):
        assert ex.search(context, policy, SMALL) == ex.search(ex.Context(), policy, SMALL)


@pytest.mark.parametrize("name", ["qemu-3.0", "qemu-4.0", "option-3", "explicit-reopen"])
@pytest.mark.parametrize("frontend", ["blockdev", "auto"])
def test_a_search_through_a_witness_is_the_search_on_the_build(name: str, frontend: str
                                                                ) -> None:
    context = ex.Context()
    policy = registry.get(name)
    bounds = replace(SMALL, frontend=frontend)
    build = context.build(policy, bounds.platform)
    asked, _ = questions.witness(build)
    assert ex._search(context, policy, bounds, asked) == ex._search(context, policy, bounds,
                                                                     build)


def test_the_hands_on_client_has_no_block_job_counterexample_up_to_depth_4() -> None:
    # What the search used to find were the client's model bugs: an export that held
    # a node the job dropped failed the job (libvirt ignores blockdev-del there), a
    # failed commit left the overlay reopened read/write. None is left at depth 4.
    found = ex.search(ex.Context(), registry.get("explicit-reopen"), ex.Bounds(depth=4))
    for prop in (Property.BLOCK_COMMIT, Property.BLOCK_STREAM, Property.NO_WRITE_FD,
                 Property.NO_DENIALS, Property.READONLY_DISKS):
        assert found.result(prop).counterexample is None, prop


def _started(policy: str, labels: tuple[bool, ...]) -> ex.Session:
    session = ex.Context().session(registry.get(policy), SMALL, ex.Start(labels, False))
    session.play(ex.to_step(ex.Action("start"), 0, session.chain, session.known))
    return session


def test_steps_are_named_once_per_depth_chain_images_and_labels() -> None:
    named: dict[Any, ex.Played] = {}
    session = _started("qemu-4.1", (False, True))
    before = {n: session.backend.observe(n) for n in session.known}
    plays = ex._plays(named, SMALL, 1, session, before)
    assert ex._plays(named, SMALL, 1, session, before) is plays
    quiet = ex._plays(named, replace(SMALL, guest=False), 1, session, before)
    assert {a.do for a, _ in plays} - {a.do for a, _ in quiet} == {"guest-write"}
    relabels = [step.args for action, step in plays if action.do == "relabel"]
    assert relabels == [{"image": "base", "writable": True}, {"image": "top", "writable": False}]
    flipped = {**before, "base": replace(before["base"], label=True)}
    other = ex._plays(named, SMALL, 1, session, flipped)
    assert next(s.args for a, s in other if a.do == "relabel") == {"image": "base",
                                                                   "writable": False}
    assert {s.index for _, s in ex._plays(named, SMALL, 2, session, before)} == {2}
    session.play(ex.to_step(ex.Action("snapshot"), 1, session.chain, session.known))
    session.play(ex.to_step(ex.Action("block-stream", 2, 0), 2, session.chain, session.known))
    assert session.chain == ("base", "snap") and session.known != session.chain
    now = {n: session.backend.observe(n) for n in session.known}
    again = ex._plays(named, SMALL, 1, session, now)
    assert [s.args for a, s in again if a.do == "snapshot"] == [{"image": "snap2"}]


def test_an_image_a_job_dropped_but_could_not_delete_is_in_the_state() -> None:
    held, free = _started("qemu-3.0", (False, True)), _started("qemu-3.0", (False, True))
    held.play(ex.to_step(ex.Action("attach-writer", 0), 1, held.chain, held.known))
    for session in (held, free):
        session.play(ex.to_step(ex.Action("block-stream", 1), 2, session.chain,
                                session.known))
        assert session.chain == ("top",)
    # 3.0 made the export of the read-only base read-only, and it holds the node
    assert "base" in held.backend.protocol and "base" not in free.backend.protocol
    assert ex._canonical(held) != ex._canonical(free)
    free.play(ex.to_step(ex.Action("guest-write"), 3, free.chain, free.known))
    assert ex._canonical(free) == ex._canonical(_streamed_and_written())


def _streamed_and_written() -> ex.Session:
    session = _started("qemu-3.0", (False, True))
    for index, action in enumerate((ex.Action("block-stream", 1), ex.Action("guest-write"))):
        session.play(ex.to_step(action, index + 1, session.chain, session.known))
    return session


def test_a_step_s_output_is_what_it_shows_against_the_state_before() -> None:
    graph = ex.Context().graph(registry.get("qemu-3.1"), SMALL)
    for state, edges in enumerate(graph.edges):
        for action, (_, record) in edges.items():
            result, images = graph.output(state, action)  # type: ignore[misc]
            assert result == record.result and len(images) == len(record.chain)
    root = graph.roots[ex.Start((False, True), True)]
    _, images = graph.output(root, ex.Action("start"))  # type: ignore[misc]
    assert [denied for *_, denied in images] == [1, 0]  # the base's denial, at start


@pytest.mark.parametrize("backing", ["base", "top", "gone", None])
def test_a_chain_image_is_backed_by_a_place_or_else_a_name(backing: str | None) -> None:
    session = _started("qemu-4.1", (True, True, True))
    nodes = session.backend.format
    nodes["mid"] = replace(nodes["mid"], backing=backing)
    placed = ex._canonical(session)[1][1][1]  # type: ignore[index]
    assert placed == {"base": 0, "top": 2, "gone": "gone", None: None}[backing]


def test_a_context_counts_the_steps_and_stops_before_passing_its_limit() -> None:
    policies = [registry.get("qemu-3.1"), registry.get("qemu-4.1")]
    free = ex.Context()
    expected = ex.explore(policies, SMALL, free, pairs=False)
    assert free.steps == expected.transitions > 0
    exact = ex.Context(max_steps=free.steps)
    assert ex.explore(policies, SMALL, exact, pairs=False) == expected
    assert exact.steps == free.steps
    short = ex.Context(max_steps=free.steps - 1)
    with pytest.raises(ex.TooManySteps) as stop:
        ex.explore(policies, SMALL, short, pairs=False)
    assert (stop.value.limit, stop.value.policy) == (free.steps - 1, "qemu-4.1")
    assert 1 <= stop.value.depth <= SMALL.depth
    assert short.steps <= free.steps - 1


def test_explore_gives_up_in_one_line_past_max_steps(tmp_path: Path) -> None:
    target = tmp_path / "found.txt"
    result = runner.invoke(build_app(), ["explore", "-p", "qemu-3.1", "--depth", "3",
                                         "--max-steps", "100", "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "optcompare: error: the search would pass --max-steps 100 at depth 2 of 3 on "
        "qemu-3.1; ask for a smaller --depth or --images, or a larger --max-steps"]
    assert not target.exists()


def test_the_differential_search_keeps_to_max_steps_too() -> None:
    """--backend qemu searches the model for its workflows first: the same bound holds,
    and nothing is started when it is passed."""
    from qemu_required import require_qemu  # tests/ is on sys.path

    from optcompare.backends.qemu import process

    require_qemu()  # the command finds QEMU before it searches
    before = process.live()
    result = runner.invoke(build_app(), ["explore", "--backend", "qemu", "--depth", "3",
                                         "--max-steps", "50"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "optcompare: error: the search would pass --max-steps 50 at depth 2 of 3 on "
        "qemu-4.1; ask for a smaller --depth or --images, or a larger --max-steps"]
    assert process.live() == before
