"""Finding policies by name: the built-ins, then installed plugins.

Plugins are entry points in the group ``optcompare.policies``. Each one
names a :class:`~optcompare.policies.base.Policy` instance, or a
zero-argument callable returning one::

    [project.entry-points."optcompare.policies"]
    "read-only-mode" = "optcompare_read_only_mode:POLICY"

Discovery is lazy: nothing is looked up until a command asks for all
policies or for a name that is not built in (:func:`all_policies` and the
functions built on it), and then once per process. Every plugin is checked
when it is loaded: it must import, be (or build) a ``Policy``, have a name
no built-in or earlier plugin has, and build its POSIX build and resolve
the empty option set on every driver without raising. A plugin that fails
gets one warning line on stderr naming the entry point, its distribution
and the problem, and is left out; the rest keeps working. A plugin that
loads is handed out with its hooks checked at every call (:mod:`guard`):
when one raises or returns the wrong type while a command uses it, the
command boundary calls :func:`leave_out` and runs the command again without
it. ``--no-plugins`` (see :func:`set_plugins_disabled`) and
``OPTCOMPARE_NO_PLUGINS=1`` turn discovery off.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from optcompare import streams
from optcompare.errors import OptcompareError, PluginFailure, UnknownNameError
from optcompare.frozen import frozen
from optcompare.model.drivers import Platform
from optcompare.policies import discovery
from optcompare.policies.base import POLICY_NAME, Frontend, Policy, Resolution
from optcompare.policies.discovery import (
    ENV_NO_PLUGINS,
    GROUP,
    distribution,
    plugins_enabled,
    set_plugins_disabled,
)
from optcompare.policies.guard import describe as _describe
from optcompare.policies.guard import guarded

if TYPE_CHECKING:
    from importlib import metadata

BUILTIN_MODULES: dict[str, str] = {
    "qemu-3.0": "qemu_3_0",
    "qemu-3.1": "qemu_3_1",
    "qemu-4.0": "qemu_4_0",
    "qemu-4.0.0": "qemu_4_0_0",
    "option-1": "option_1",
    "option-2": "option_2",
    "option-3": "option_3",
    "explicit-reopen": "explicit_reopen",
    "qemu-4.1": "qemu_4_1",
}
"""Every built-in policy's name, in the order tables list them, and the module
in optcompare.policies that defines it (imported when the policy is first
used: a command that names one policy loads one)."""


def builtin(name: str) -> Policy:
    """The built-in policy called ``name`` (KeyError if there is none)."""
    module = importlib.import_module(f"optcompare.policies.{BUILTIN_MODULES[name]}")
    policy: Policy = module.POLICY
    return policy


@functools.cache
def builtins() -> tuple[Policy, ...]:
    """Every built-in policy, in order (``BUILTIN``)."""
    return tuple(builtin(name) for name in BUILTIN_MODULES)


def __getattr__(name: str) -> tuple[Policy, ...]:
    if name == "BUILTIN":  # the tuple of every built-in, imported on first use
        return builtins()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


RELEASED = ("qemu-3.0", "qemu-3.1", "qemu-4.0")
"""Builds that users had in their hands when the thread was written."""

NOT_REPORTED = ("qemu-4.0.0",)
"""Built-ins the report leaves out unless named: qemu-4.0.0 is a release as it
shipped, beside the option the thread weighed (qemu-4.0)."""

BUILTIN_ORIGIN = "built-in"

__all__ = ["ENV_NO_PLUGINS", "GROUP", "plugins_enabled", "set_plugins_disabled"]


@frozen
class PluginProblem:
    """A plugin that was left out, and why."""

    entry_point: str
    distribution: str
    problem: str
    policy: str = ""
    """The policy's name, once it loaded (then left out by a command)."""

    def line(self) -> str:
        return (
            f"optcompare: warning: plugin {self.entry_point!r} "
            f"(distribution {self.distribution}): {self.problem}"
        )


class _State:
    """What this process knows about plugins."""

    def __init__(self) -> None:
        self.loaded: tuple[Policy, ...] | None = None
        self.problems: tuple[PluginProblem, ...] = ()
        self.warned: set[str] = set()
        self.sources: dict[str, tuple[str, str]] = {}
        """Policy name -> (entry point, distribution) of each plugin that loaded."""


_state = _State()


def reset_plugins() -> None:
    """Forget the switch, and what was discovered and warned about (for tests)."""
    global _state
    _state = _State()
    discovery.reset()


# -- discovery ---------------------------------------------------------------

def plugins() -> tuple[Policy, ...]:
    """The installed plugins that passed their checks, loaded on first use."""
    if not plugins_enabled():
        return ()
    if _state.loaded is None:
        _state.loaded, _state.problems = _discover(set(BUILTIN_MODULES))
        for problem in _state.problems:
            _warn(problem)
    return _state.loaded


def plugin_problems() -> tuple[PluginProblem, ...]:
    """The plugins left out by the last discovery in this process."""
    plugins()
    return _state.problems


def _warn(problem: PluginProblem) -> None:
    line = problem.line()
    if line in _state.warned:
        return
    _state.warned.add(line)
    from optcompare.render.escape import printable

    streams.to_stderr(printable(line))


def _discover(builtin: set[str]) -> tuple[tuple[Policy, ...], tuple[PluginProblem, ...]]:
    try:
        found = discovery.entry_points()
    except Exception as error:  # a broken distribution on sys.path
        broken = PluginProblem(GROUP, "unknown", f"cannot list entry points: {_describe(error)}")
        return (), (broken,)
    loaded: list[Policy] = []
    owners: dict[str, str] = {}
    problems: list[PluginProblem] = []
    for entry_point in found:
        origin = distribution(entry_point)
        with contextlib.redirect_stdout(sys.stderr):  # a print at import is no output
            policy, problem = _load(entry_point, origin)
        if policy is not None and problem is None:
            if policy.name in builtin:
                problem = f"policy name {policy.name!r} clashes with a built-in policy"
            elif policy.name in owners:
                problem = (
                    f"policy name {policy.name!r} clashes with the plugin {owners[policy.name]}"
                )
        if problem is not None or policy is None:
            problems.append(PluginProblem(entry_point.name, origin, problem or "not loaded"))
            continue
        owners[policy.name] = f"{entry_point.name!r} (distribution {origin})"
        _state.sources[policy.name] = (entry_point.name, origin)
        loaded.append(policy)
    return tuple(loaded), tuple(problems)


def leave_out(failure: PluginFailure) -> None:
    """Leave a loaded plugin out of the rest of this command, with one warning line.

    Raises an OptcompareError when the failure names no plugin still loaded
    (running the command again would fail the same way).
    """
    loaded = _state.loaded or ()
    if failure.policy not in [p.name for p in loaded] or failure.policy not in _state.sources:
        raise OptcompareError(f"plugin {failure!s}") from None
    entry_point, origin = _state.sources[failure.policy]
    problem = PluginProblem(entry_point, origin,
                            f"policy {failure.policy!r} failed when used: {failure.problem}",
                            failure.policy)
    _state.loaded = tuple(p for p in loaded if p.name != failure.policy)
    _state.problems = (*_state.problems, problem)
    _warn(problem)


def _load(
    entry_point: metadata.EntryPoint, origin: str
) -> tuple[Policy | None, str | None]:
    """Import, type-check and exercise one plugin: the policy or the problem."""
    try:
        obj = entry_point.load()
    except (Exception, SystemExit) as error:
        return None, _describe(error)
    expected = (
        "expected an optcompare.policies.base.Policy or a zero-argument callable returning one"
    )
    if not isinstance(obj, Policy):
        if not callable(obj) or (isinstance(obj, type) and not issubclass(obj, Policy)):
            return None, f"wrong type: {entry_point.value} is {_kind(obj)}, {expected}"
        try:
            obj = obj()
        except (Exception, SystemExit) as error:
            return None, f"calling {entry_point.value}() failed: {_describe(error)}"
        if not isinstance(obj, Policy):
            return None, f"wrong type: {entry_point.value}() returned {_kind(obj)}, {expected}"
    if not isinstance(obj.name, str) or not POLICY_NAME.fullmatch(obj.name):
        return None, (f"invalid policy name {obj.name!r}: expected kebab-case ASCII like the "
                      "built-ins (a-z, 0-9, '-', '.' between parts, e.g. 'qemu-4.1')")
    try:
        policy = guarded(replace(obj, origin=origin))
        _exercise(policy)
    except PluginFailure as failure:
        detail = failure.raised if failure.raised is not None else failure.problem
        return None, f"policy {obj.name!r} does not build: {detail}"
    except (Exception, SystemExit) as error:
        return None, f"policy {obj.name!r} does not build: {_describe(error)}"
    return policy, None


def _kind(obj: object) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    return f"a {type(obj).__module__}.{type(obj).__qualname__} object"


def _exercise(policy: Policy) -> None:
    """Build it on each platform and resolve the empty option set on every driver."""
    for platform in Platform:
        build = policy.build(platform)
        drivers = build.drivers
        if not drivers:
            raise ValueError(f"its {platform} build has no drivers")
        for name in drivers:
            for frontend in Frontend:
                resolution = build.resolve({}, name, frontend)
                if not isinstance(resolution, Resolution):
                    raise TypeError(
                        f"resolve() returned {type(resolution).__name__} for {name!r}"
                    )
    for backing in (False, True):
        options = policy.storage_options(backing, False)
        if not isinstance(options, dict):
            raise TypeError(f"storage_options() returned {type(options).__name__}")


# -- lookup -------------------------------------------------------------------

def all_policies() -> list[Policy]:
    """The built-ins in their order, then the plugins that loaded."""
    return [*builtins(), *plugins()]


def by_name() -> dict[str, Policy]:
    return {p.name: p for p in all_policies()}


def get(name: str) -> Policy:
    if name in BUILTIN_MODULES:  # no plugin can take a built-in's name: no discovery needed
        return builtin(name)
    known = by_name()
    if name not in known:
        hint = ""
        if not plugins_enabled():
            hint = f" (plugins are off: --no-plugins or {ENV_NO_PLUGINS})"
        else:
            left_out = [p for p in _state.problems if name in (p.entry_point, p.policy)]
            if left_out:
                hint = f" (plugin {name!r} was left out: {left_out[0].problem})"
        raise UnknownNameError(f"unknown policy {name!r}; known: {', '.join(known)}{hint}")
    return known[name]


def reported(names: Iterable[str]) -> list[Policy]:
    """The report's columns: the named policies, or all but :data:`NOT_REPORTED`."""
    return _named(names) or [p for p in all_policies() if p.name not in NOT_REPORTED]


def select(names: Iterable[str]) -> list[Policy]:
    """The named policies in the order given, or all of them when none is."""
    return _named(names) or all_policies()


def _named(names: Iterable[str]) -> list[Policy]:
    """The named policies in the order given, each once.

    A named plugin that a command left out at use is skipped while another
    named policy remains (the command goes on without it).
    """
    wanted = list(dict.fromkeys(names))
    used_up = {p.policy for p in _state.problems if p.policy}
    kept = [n for n in wanted if n not in used_up] or wanted
    return [get(n) for n in kept]


@frozen
class Listed:
    """One policy as ``policies`` lists it."""

    name: str
    title: str
    source: str
    """Where in the thread (or in QEMU) it comes from."""
    origin: str
    """``built-in``, or the distribution of the plugin that provides it."""


@frozen
class Listing:
    """Every policy the registry knows, for ``optcompare policies``."""

    policies: tuple[Listed, ...]


def listing() -> Listing:
    return Listing(tuple(Listed(p.name, p.title, p.source, p.origin) for p in all_policies()))
