"""A build resolves each written combination once: what the memo must tell apart."""

from __future__ import annotations

from typing import Any

from optcompare.analysis import questions
from optcompare.model.modes import Mode
from optcompare.policies import registry
from optcompare.policies.base import Build, Frontend


def _build() -> Build:
    return Build(registry.get("qemu-4.0"))


def test_a_resolution_is_the_same_each_time() -> None:
    build = _build()
    first = build.resolve({"auto-read-only": True}, "file")
    assert build.resolve({"auto-read-only": True}, "file") is first
    assert first == build.policy.resolve({"auto-read-only": True}, build.driver("file"),
                                         build.drivers)


def test_the_driver_frontend_values_and_their_order_are_each_seen() -> None:
    build = _build()
    assert build.resolve({"auto-read-only": True}, "file").mode is Mode.DYNAMIC_RO
    assert build.resolve({"auto-read-only": True}, "nbd").mode is not Mode.DYNAMIC_RO
    assert build.resolve({}, "file").mode is Mode.HARD_RW
    assert build.resolve({}, "file", Frontend.DRIVE).mode is Mode.DYNAMIC_RO
    assert build.resolve({"auto-read-only": False}, "file").mode is Mode.HARD_RW
    # the first unknown option is the one named
    assert "'a'" in (build.resolve({"a": True, "b": True}, "file").error or "")
    assert "'b'" in (build.resolve({"b": True, "a": True}, "file").error or "")


def test_a_value_of_another_type_is_not_the_boolean_it_equals() -> None:
    build = _build()
    assert build.resolve({"read-only": True}, "file").error is None
    one: dict[str, Any] = {"read-only": 1}
    assert build.resolve(one, "file").error is not None


def test_a_witness_still_notes_a_resolution_the_build_remembers() -> None:
    build = _build()
    build.resolve({"auto-read-only": True}, "file")
    asked, record = questions.witness(build)
    assert asked.resolve({"auto-read-only": True}, "file").mode == "dynamic-ro"
    assert any(q[0] == "resolve" for q, _ in record.answers.values())
    other = Build(registry.get("qemu-3.1"))
    assert not questions.answers_alike(other, record)
