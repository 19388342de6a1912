"""Analyses hand render/ typed models: each command's view takes frozen dataclasses.

A view that still lays out a dict is listed in DICT_VIEWS, so that a new one
cannot take a dict unnoticed and a converted one must leave the list.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import typing

import pytest

import optcompare.render
from optcompare.analysis import report_model, truth_table
from optcompare.analysis.compat import Report as CompatReport
from optcompare.analysis.conformance import Conformance
from optcompare.analysis.differential import DifferentialRun
from optcompare.analysis.driver_facts import Drivers
from optcompare.analysis.explore import Exploration
from optcompare.analysis.scenarios import Runs, Skew
from optcompare.analysis.truth_table import TruthTables
from optcompare.analysis.visibility import Visibility
from optcompare.policies import registry
from optcompare.scenario.load import Check
from optcompare.scenario.spec import Step
from optcompare.schema import corpus, query
from optcompare.schema.conclude import Conclusion

TYPED_VIEWS = {
    "compat_views.compat_view": CompatReport,
    "compat_views.compat_json": CompatReport,
    "qemu_views.conformance_view": Conformance,
    "qemu_views.conformance_json": Conformance,
    "introspection_views.conclusions_view": Conclusion,
    "introspection_views.conclusion_json": Conclusion,
    "views.drivers_view": Drivers,
    "views.drivers_json": Drivers,
    "report_views.report_view": report_model.Report,
    "views.policies_view": registry.Listing,
    "introspection_views.probe_view": query.Answers,
    "introspection_views.corpus_view": corpus.Listing,
    "scenario_views.check_view": Check,
    "scenario_views.skew_view": Skew,
    "scenario_views.skew_json": Skew,
    "introspection_views.visibility_view": Visibility,
    "introspection_views.visibility_json": Visibility,
    "views.table_view": TruthTables,
    "views.table_json": TruthTables,
    "explore_views.explore_view": Exploration,
    "explore_views.explore_json": Exploration,
    "explore_views.differential_view": DifferentialRun,
    "explore_views.differential_json": DifferentialRun,
}

DICT_VIEWS = {
    "introspection_views.schema_view",
}
"""Views that still take the command's JSON payload (not yet a typed model).

``schema_view`` stays here: it lays out QMP's own query-qmp-schema reply (the
JSON 'probe --schema' reads back), not an analysis's product."""


def _views() -> dict[str, object]:
    found = {}
    for info in pkgutil.iter_modules(optcompare.render.__path__):
        module = importlib.import_module(f"optcompare.render.{info.name}")
        for name, value in vars(module).items():
            if (inspect.isfunction(value) and value.__module__ == module.__name__
                    and name.endswith(("_view", "_json")) and not name.startswith("_")):
                found[f"{info.name}.{name}"] = value
    return found


def _first_parameter(function: object) -> object:
    assert callable(function)
    # views import their models for type checking only: name them here
    models: dict[str, object] = {cls.__name__: cls
                                 for cls in (*TYPED_VIEWS.values(), DifferentialRun, Runs)}
    models["PolicyListing"] = registry.Listing
    hints = typing.get_type_hints(function, globalns={**models, **function.__globals__})
    first = next(iter(inspect.signature(function).parameters))
    return hints[first]


def _is_dict(hint: object) -> bool:
    return hint is dict or typing.get_origin(hint) is dict


SCENARIO_VALUES = {(Step, "args")}
"""Fields that hold a scenario file's values as it gives them (checked by
scenario.load against each step's keys): a workflow the search found is made
of scenario steps."""


def _is_named_tuple(cls: type) -> bool:
    return issubclass(cls, tuple) and hasattr(cls, "_fields")


def _walk(hint: object, seen: set[type]) -> None:
    """Every dataclass reachable from ``hint`` is frozen, and no field of it or of a named
    tuple (immutable; truth tables use them for speed) is typed Any."""
    assert hint is not typing.Any and hint is not object, hint
    for arg in typing.get_args(hint):
        _walk(arg, seen)
    record = isinstance(hint, type) and (dataclasses.is_dataclass(hint) or _is_named_tuple(hint))
    if record and hint not in seen:
        assert isinstance(hint, type)
        seen.add(hint)
        if dataclasses.is_dataclass(hint):
            assert hint.__dataclass_params__.frozen, hint  # type: ignore[attr-defined]
        for name, field_type in typing.get_type_hints(hint).items():
            assert field_type is not typing.Any, (hint, name)
            if (hint, name) not in SCENARIO_VALUES:
                _walk(field_type, seen)


def test_every_view_is_typed_or_listed() -> None:
    views = _views()
    assert set(TYPED_VIEWS) <= set(views)
    taking_dicts = {name for name, view in views.items() if _is_dict(_first_parameter(view))}
    assert taking_dicts == DICT_VIEWS


@pytest.mark.parametrize("name", sorted(TYPED_VIEWS))
def test_a_typed_view_takes_a_tree_of_frozen_dataclasses(name: str) -> None:
    hint = _first_parameter(_views()[name])
    assert hint is TYPED_VIEWS[name]
    seen: set[type] = set()
    _walk(hint, seen)
    assert hint in seen


def test_json_of_a_typed_command_is_written_in_render() -> None:
    """No ``to_data`` left on the models the typed views take: render/ encodes them."""
    seen: set[type] = set()
    for model in set(TYPED_VIEWS.values()):
        _walk(model, seen)
    with_to_data = sorted(c.__qualname__ for c in seen if hasattr(c, "to_data"))
    assert with_to_data == []
    assert report_model.Finding in seen and Drivers in seen and truth_table.Row in seen
