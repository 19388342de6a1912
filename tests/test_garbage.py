"""The console script holds off cyclic garbage collection while a command runs."""

from __future__ import annotations

import gc
import sys

import pytest

from optcompare import cli, garbage

pytestmark = pytest.mark.usefixtures("collector_restored")


@pytest.mark.parametrize("enabled", [True, False])
def test_the_block_runs_without_automatic_collection_and_the_state_comes_back(
        enabled: bool) -> None:
    (gc.enable if enabled else gc.disable)()
    with garbage.deferred():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_an_exception_inside_still_turns_collection_back_on() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), garbage.deferred():
        raise RuntimeError("the command failed")
    assert gc.isenabled()


def test_the_console_script_runs_its_command_without_it_and_turns_it_back_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    seen: list[bool] = []

    def run() -> None:
        seen.append(gc.isenabled())
        sys.exit(0)

    monkeypatch.setattr(cli, "_run", run)
    with pytest.raises(SystemExit):
        cli.main()
    assert seen == [False]
    assert gc.isenabled()
