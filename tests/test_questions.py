"""questions: a witness of a build notes what is asked of it, objects it answers included."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, cast

import pytest

from optcompare.analysis import questions
from optcompare.model.drivers import Driver
from optcompare.policies import registry
from optcompare.policies.base import Build


def _builds() -> tuple[Build, Build]:
    """qemu-4.0's build, and one whose policy speaks 4.1's wording (the same messages)."""
    base = registry.get("qemu-4.0")
    return Build(base), Build(base.with_wording("4.1"))


def test_only_what_is_read_of_an_answered_object_is_a_question() -> None:
    build, other = _builds()
    asked, record = questions.witness(build)
    driver = asked.driver("file")
    assert driver.local is True
    assert asked.policy.wording.modern is False
    assert asked.resolve({"auto-read-only": True}, "file").mode == "dynamic-ro"
    assert questions.answers_alike(other, record)
    assert asked.policy.wording.era == "4.0"
    assert not questions.answers_alike(other, record)


def test_a_witnessed_object_shows_what_the_real_one_shows_and_notes_it() -> None:
    build, _ = _builds()
    asked, record = questions.witness(build)
    driver = asked.driver("file")
    real = build.driver("file")
    assert isinstance(driver, Driver)
    assert repr(driver) == repr(real) and f"{driver}" == f"{real}" and str(driver) == str(real)
    assert driver.refusal_for("top.qcow2") == real.refusal_for("top.qcow2")
    assert questions.answers_alike(build, record)
    # 4.1's driver notes another source for its class: shown whole, it differs.
    assert not questions.answers_alike(Build(registry.get("qemu-4.1")), record)


def test_a_witnessed_object_refuses_what_would_tell_it_from_the_real_one_unnoticed() -> None:
    build, _ = _builds()
    asked, _ = questions.witness(build)
    driver = asked.driver("file")
    real = build.driver("file")
    with pytest.raises(TypeError):
        assert driver == real
    with pytest.raises(TypeError):
        hash(driver)
    with pytest.raises(TypeError):
        copy.deepcopy(driver)


def test_a_witnessed_object_passed_back_to_the_build_is_asked_whole() -> None:
    build, later = Build(registry.get("qemu-4.0")), Build(registry.get("qemu-4.1"))
    asked, record = questions.witness(build)
    driver = asked.driver("file")
    assert driver.local
    assert questions.answers_alike(later, record)
    with pytest.raises(KeyError):  # resolve() takes a driver's name: no such driver
        asked.resolve({}, driver)
    assert questions.answers_alike(build, record)
    # 4.1's file driver notes another source for its class.
    assert not questions.answers_alike(later, record)


def test_a_question_that_raised_is_answered_alike_only_by_the_same_error() -> None:
    build, _ = _builds()
    asked, record = questions.witness(build)
    with pytest.raises(KeyError):
        asked.driver("nope")
    assert questions.answers_alike(build, record)
    patched = registry.get("qemu-4.0")
    drivers = {**patched.drivers(), "nope": replace(build.driver("file"), name="nope")}
    object.__setattr__(renamed := Build(replace(patched, name="x")), "drivers", drivers)
    assert not questions.answers_alike(renamed, record)


def test_a_question_whose_arguments_cannot_be_kept_is_never_answered_alike() -> None:
    from optcompare.schema.target import BuildTarget

    build, _ = _builds()
    asked, record = questions.witness(build)
    # A client's probe of its own build: the target holds the witness itself.
    detection = asked.policy.detect(BuildTarget(asked), asked.drivers)
    assert asked.policy.pick_frontend(detection, "file") == "blockdev"  # 4.0 sniffs its version
    assert not questions.answers_alike(build, record)


class _Hooks:
    """Pure hooks that count how often they are called."""

    def __init__(self) -> None:
        self.calls = 0

    def busy(self, node: str) -> str:
        self.calls += 1
        return f"Node {node} is in use"

    def options(self, backing: bool) -> dict[str, bool]:
        self.calls += 1
        return {"read-only": backing}


def test_a_call_answered_with_an_unchangeable_value_is_answered_again_from_the_record() -> None:
    hooks = _Hooks()
    asked, _ = questions.witness(cast(Build, hooks))
    witnessed = cast(Any, asked)
    assert witnessed.busy("top") == witnessed.busy("top") == "Node top is in use"
    assert hooks.calls == 1
    assert witnessed.busy("base") == "Node base is in use"  # other arguments: asked anew
    first = witnessed.options(True)
    first["read-only"] = False  # a caller may change a dict it was given
    assert witnessed.options(True) == {"read-only": True}  # so a dict is made anew
    assert hooks.calls == 4
