"""A plugin's hooks, checked every time a command uses them.

The registry hands out a plugin's policy as an instance of a subclass made
here: every hook of :class:`~optcompare.policies.base.Policy` runs with
stdout sent to stderr (a plugin's prints cannot corrupt JSON output), and
an exception or a result of the wrong type becomes :class:`PluginFailure`
naming the policy. The command boundary catches it, leaves the plugin out
and runs the command again without it. Built-in policies are not wrapped.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from optcompare.errors import OptcompareError, PluginFailure
from optcompare.model.drivers import Driver
from optcompare.model.modes import Mode
from optcompare.model.options import BOOLEAN
from optcompare.policies.base import (
    Build,
    Command,
    Detection,
    Frontend,
    Policy,
    Resolution,
    SignalKind,
)

P = TypeVar("P", bound=Policy)
Check = Callable[[Any], str | None]
"""What is wrong with a hook's result, or None."""


def _instance(kind: type) -> Check:
    def check(value: Any) -> str | None:
        return None if isinstance(value, kind) else f"{_kind(value)}, not a {kind.__name__}"
    return check


def _names(value: Any) -> str | None:
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return None
    return f"{_kind(value)}, not a tuple of option names"


def _flags(value: Any) -> str | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, (bool, str)) for k, v in value.items()
    ):
        return None
    return f"{_kind(value)}, not a dict of option names to true, false or a string"


def _domain(value: Any) -> str | None:
    if value == BOOLEAN and all(isinstance(v, bool) for v in value):
        return None
    if (isinstance(value, tuple) and value and all(isinstance(v, str) for v in value)
            and len(set(value)) == len(value)):
        return None
    return f"{_kind(value)}, not (True, False) or a tuple of distinct strings"


def _list_of(kind: type) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, list) and all(isinstance(v, kind) for v in value):
            return None
        return f"{_kind(value)}, not a list of {kind.__name__}"
    return check


def _drivers(value: Any) -> str | None:
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, Driver) for k, v in value.items()
    ):
        return None
    return f"{_kind(value)}, not a dict of driver names to Driver"


def _detection(value: Any) -> str | None:
    if not isinstance(value, Detection):
        return f"{_kind(value)}, not a Detection"
    if not isinstance(value.dynamic, frozenset) or not all(
        isinstance(d, str) for d in value.dynamic
    ):
        return f"a Detection whose dynamic is {_kind(value.dynamic)}, not a frozenset of names"
    if not isinstance(value.signal, SignalKind) or not isinstance(value.evidence, str):
        return "a Detection without a SignalKind signal and a string evidence"
    return None


def _resolution(value: Any) -> str | None:
    if isinstance(value, Resolution) and isinstance(value.mode, Mode):
        return None
    return f"{_kind(value)}, not a Resolution"


def _optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    return f"{_kind(value)}, not an error message or None"


def _anything(value: Any) -> str | None:
    return None


HOOKS: dict[str, Check] = {
    "drivers": _drivers,
    "build": _instance(Build),
    "later": _instance(Policy),
    "with_wording": _instance(Policy),
    "base_options": _names,
    "driver_options": _names,
    "options": _names,
    "domain": _domain,
    "defaults": _flags,
    "invalid": _optional_text,
    "mode": _instance(Mode),
    "resolve": _resolution,
    "struct_of": _instance(str),
    "struct_features": _list_of(str),
    "commands": _list_of(Command),
    "command_result": _anything,
    "detect": _detection,
    "pick_frontend": _instance(Frontend),
    "storage_options": _flags,
    "describe": _instance(str),
}
"""Every hook of Policy and what it must return."""

EXPECTED_ERRORS: dict[str, tuple[type[BaseException], ...]] = {"command_result": (KeyError,)}
"""Exceptions that are part of a hook's contract besides optcompare's own errors
(a command the target lacks, raised by the target a ``detect`` asks): an
unknown command."""


def guarded(policy: P) -> P:
    """The same policy, its hooks checked at every call."""
    cls: type[P] = _guarded_class(type(policy))
    clone: P = object.__new__(cls)
    fields = {k: v for k, v in policy.__dict__.items() if k != "_builds"}  # builds of the original
    clone.__dict__.update(fields)
    return clone


def is_guarded(policy: Policy) -> bool:
    return getattr(type(policy), "_optcompare_guarded", False)


_CLASSES: dict[type[Policy], type[Policy]] = {}


def _guarded_class(cls: type[Policy]) -> Any:
    if cls in _CLASSES:
        return _CLASSES[cls]
    namespace: dict[str, Any] = {"_optcompare_guarded": True, "__module__": cls.__module__,
                                 "__qualname__": cls.__qualname__}
    for hook, check in HOOKS.items():
        namespace[hook] = _guard(hook, getattr(cls, hook), check)
    _CLASSES[cls] = type(cls.__name__, (cls,), namespace)
    return _CLASSES[cls]


def _guard(hook: str, method: Callable[..., Any], check: Check) -> Callable[..., Any]:
    expected: tuple[type[BaseException], ...] = (
        PluginFailure, OptcompareError, *EXPECTED_ERRORS.get(hook, ()))

    @functools.wraps(method)
    def run(self: Policy, *args: Any, **kwargs: Any) -> Any:
        # contextlib.redirect_stdout, without its cost: truth tables call hooks per row.
        saved = sys.stdout
        sys.stdout = sys.stderr
        try:
            result = method(self, *args, **kwargs)
        except expected:
            raise
        except (Exception, SystemExit) as error:
            raise PluginFailure(self.name, hook, raised=describe(error)) from None
        finally:
            sys.stdout = saved
        problem = check(result)
        if problem is not None:
            raise PluginFailure(self.name, hook, returned=problem)
        return result

    return run


def describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _kind(value: object) -> str:
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else (
        f"{kind.__module__}.{kind.__qualname__}")
    return f"a {name}"
