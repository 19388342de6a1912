"""The records a replay makes, whose __init__ is written by hand: each sets every field."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from optcompare.scenario.runner import ScenarioResult, StepRecord
from optcompare.scenario.spec import Step

RECORDS: list[type[Any]] = [StepRecord, ScenarioResult, Step]


@pytest.mark.parametrize("record", RECORDS)
def test_every_field_is_set_from_its_own_argument(record: type[Any]) -> None:
    fields = dataclasses.fields(record)
    values = [object() for _ in fields]
    made = record(*values)
    assert [getattr(made, f.name) for f in fields] == values
    assert set(vars(made)) == {f.name for f in fields}
    assert record(**{f.name: v for f, v in zip(fields, values, strict=True)}) == made


@pytest.mark.parametrize("record", RECORDS)
def test_defaults_are_the_declared_ones_and_a_record_stays_frozen(record: type[Any]) -> None:
    fields = dataclasses.fields(record)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    made = record(*[object() for _ in required])
    for f in fields[len(required):]:
        assert getattr(made, f.name) == f.default
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, None)
    changed = dataclasses.replace(made, **{fields[-1].name: "changed"})
    assert getattr(changed, fields[-1].name) == "changed" and changed != made


def test_a_step_names_itself_once_and_a_changed_copy_anew() -> None:
    step = Step(0, "relabel", {"image": "base", "writable": True})
    assert step.describe() == "relabel image=base writable=true"
    other = dataclasses.replace(step, args={"image": "top", "writable": False})
    assert other.describe() == "relabel image=top writable=false"
    assert step.describe() == "relabel image=base writable=true"
