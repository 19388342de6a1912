"""Work run beside the caller: the same value as run in line, and nothing left running."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from optcompare.parallel import Beside, Shared, available

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform has no fork")


def test_the_report_is_the_same_with_the_search_beside_or_in_line() -> None:
    from optcompare.analysis.report import build_report
    from optcompare.policies import registry
    from optcompare.render.formats import Format, render
    from optcompare.render.report_views import report_view
    from optcompare.scenario import files, load

    policies = registry.select([])
    scenarios = load.load_all(files.discover(None))
    serial = build_report(policies, scenarios, full=True, parallel=False)
    forked = build_report(policies, scenarios, full=True, parallel=True)
    assert forked == serial
    for fmt in (Format.MARKDOWN, Format.JSON, Format.TEXT):
        assert render(fmt, "report", forked, report_view, width=100) == \
            render(fmt, "report", serial, report_view, width=100), fmt


@needs_fork
def test_the_value_comes_from_the_child() -> None:
    with Beside(os.getpid, parallel=True) as child:
        assert child.result() != os.getpid()
    with Beside(os.getpid, parallel=False) as inline:
        assert inline.result() == os.getpid()


@needs_fork
def test_a_child_that_fails_is_replaced_by_the_work_in_line() -> None:
    parent = os.getpid()

    def work() -> int:
        if os.getpid() != parent:
            raise RuntimeError("only in the child")
        return 7

    with Beside(work, parallel=True) as found:
        assert found.result() == 7


@needs_fork
def test_a_value_that_does_not_pickle_is_computed_in_line() -> None:
    parent = os.getpid()

    def work() -> object:
        return (lambda: None) if os.getpid() != parent else "in line"

    with Beside(work, parallel=True) as found:
        assert found.result() == "in line"


@needs_fork
def test_leaving_the_block_early_stops_the_child() -> None:
    with pytest.raises(KeyError), Beside(lambda: time.sleep(30), parallel=True) as slow:
        pid = slow._pid
        assert pid is not None
        raise KeyError("the caller failed")
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_available_needs_fork_and_a_second_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert not available()
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    assert available() == hasattr(os, "fork")


def _noting(path: str, index: int) -> tuple[int, int]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{index}\n".encode())
    finally:
        os.close(fd)
    time.sleep(0.01)  # long enough for both sides to take some
    return index, os.getpid()


@needs_fork
def test_shared_tasks_run_once_each_on_either_side(tmp_path: Path) -> None:
    log = str(tmp_path / "ran")
    tasks = [functools.partial(_noting, log, i) for i in range(40)]
    with Shared(tasks, parallel=True) as shared, \
            Beside(shared.take, parallel=True) as child:
        mine = shared.take()
        theirs = child.result()
        results = shared.complete(theirs, mine)
    assert [index for index, _ in results] == list(range(40))
    ran = sorted(int(line) for line in Path(log).read_text().split())
    assert ran == list(range(40))  # none twice, none left out
    sides = {pid for _, pid in results}
    assert os.getpid() in sides and len(sides) == 2


@needs_fork
def test_what_a_failed_child_took_is_computed_in_line(tmp_path: Path) -> None:
    parent = os.getpid()

    def task(index: int) -> int:
        if os.getpid() != parent:
            os._exit(3)  # the child dies holding the task it took
        return index * index

    with Shared([functools.partial(task, i) for i in range(6)], parallel=True) as shared, \
            Beside(shared.take, parallel=True) as child:
        time.sleep(0.2)  # the child takes one task and dies
        mine = shared.take()
        assert len(mine) == 5
        theirs = child.result()  # the child failed: its work in line finds nothing left
        assert theirs == {}
        assert shared.complete(theirs, mine) == (0, 1, 4, 9, 16, 25)


def test_nothing_is_shared_in_line_or_past_the_limit() -> None:
    calls: list[int] = []

    def task(index: int) -> int:
        calls.append(index)
        return -index

    with Shared([functools.partial(task, i) for i in range(3)], parallel=False) as shared:
        assert shared.take() == {} and calls == []
        assert shared.complete() == (0, -1, -2) and calls == [0, 1, 2]
    many = [functools.partial(task, i) for i in range(Shared.LIMIT + 1)]
    with Shared(many, parallel=True) as shared:
        assert shared.take() == {}
