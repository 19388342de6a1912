"""Work run beside the caller: the same value as run in line, and nothing left running."""

from __future__ import annotations

import os
import time

import pytest

from optcompare.parallel import Beside, available

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
