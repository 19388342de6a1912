"""What a client can ask: a model build, a schema dump, or a live QEMU.

Each class is a :class:`~optcompare.policies.base.Target`, so a policy's
client (``Policy.detect``) runs unchanged against any of them:

- :class:`BuildTarget`: a model build as a client sees it; its schema is
  the synthetic one of :mod:`optcompare.schema.builder`, its extra commands
  answer what the policy says, its version is the policy's;
- :class:`SchemaTarget`: a ``query-qmp-schema`` dump (a file, or a reply
  taken from a live QEMU): queries only, no commands, no version;
- :class:`LiveTarget`: a running QEMU (anything with ``execute``, such as
  :class:`~optcompare.backends.qemu.daemon.QemuDaemon`).
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from optcompare.errors import OptcompareError
from optcompare.model import messages
from optcompare.policies.base import Build, Target
from optcompare.schema.builder import build_schema, schema_index
from optcompare.schema.query import SchemaIndex, path_exists


class CommandNotFound(OptcompareError):
    """QEMU's answer to a command it does not have (class CommandNotFound)."""

    def __init__(self, command: str) -> None:
        self.command = command
        super().__init__(messages.command_not_found(command))


class NotRunnable(OptcompareError):
    """A command or a version asked of a schema dump, which cannot run anything."""


def parse_version(text: str) -> tuple[int, int, int]:
    """``"4.0.0"`` -> ``(4, 0, 0)``; missing parts are 0."""
    parts = text.split(".")
    try:
        numbers = [int(part) for part in parts[:3]]
    except ValueError:
        raise OptcompareError(f"not a version number: {text!r}") from None
    numbers += [0] * (3 - len(numbers))
    return numbers[0], numbers[1], numbers[2]


def version_reply(version: tuple[int, int, int]) -> dict[str, Any]:
    """What ``query-version`` returns for ``version``."""
    major, minor, micro = version
    return {"qemu": {"major": major, "minor": minor, "micro": micro}, "package": ""}


def has_command(index: SchemaIndex, name: str) -> bool:
    entry = index.get(name)
    return entry is not None and entry["meta-type"] == "command"


class BuildTarget(Target):
    """A model build: schema queries, the policy's commands, the policy's version."""

    def __init__(self, build: Build) -> None:
        self.build = build

    @functools.cached_property
    def index(self) -> SchemaIndex:
        return schema_index(self.build)

    def has(self, query: str) -> bool:
        return path_exists(self.index, query)

    def device_properties(self, typename: str) -> tuple[str, ...]:
        return self.build.policy.device_properties(typename, self.build.platform)

    def execute(self, command: str) -> Any:
        policy, platform = self.build.policy, self.build.platform
        if any(c.name == command for c in policy.commands(platform)):
            return policy.command_result(command, platform)
        if not has_command(self.index, command):
            raise CommandNotFound(command)
        if command == "query-version":
            return version_reply(self.version())
        if command == "query-qmp-schema":
            return build_schema(self.build)
        if command == "query-named-block-nodes":
            return []
        return {}

    def version(self) -> tuple[int, int, int]:
        return parse_version(self.build.policy.version)

    def __repr__(self) -> str:
        return f"BuildTarget({self.build.name})"


class SchemaTarget(Target):
    """A schema dump: it answers queries and nothing else."""

    def __init__(self, schema: list[dict[str, Any]] | SchemaIndex, source: str = "schema") -> None:
        self.index = schema if isinstance(schema, SchemaIndex) else SchemaIndex(schema)
        self.source = source

    def has(self, query: str) -> bool:
        return path_exists(self.index, query)

    def execute(self, command: str) -> Any:
        if not has_command(self.index, command):
            raise CommandNotFound(command)
        raise NotRunnable(
            f"cannot run commands on a schema dump: {command} needs a running QEMU ({self.source})"
        )

    def version(self) -> tuple[int, int, int]:
        raise NotRunnable(
            f"a schema dump does not say which QEMU version it came from ({self.source})"
        )

    def device_properties(self, typename: str) -> tuple[str, ...]:
        raise NotRunnable(
            f"a schema dump does not list device properties: device-list-properties needs a "
            f"running QEMU ({self.source})"
        )

    def __repr__(self) -> str:
        return f"SchemaTarget({self.source})"


class Executor(Protocol):
    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any: ...


class LiveTarget(Target):
    """A running QEMU over QMP; its schema is asked once and kept."""

    def __init__(self, qemu: Executor) -> None:
        self.qemu = qemu
        self._index: SchemaIndex | None = None

    @property
    def index(self) -> SchemaIndex:
        if self._index is None:
            self._index = SchemaIndex(self.qemu.execute("query-qmp-schema"))
        return self._index

    def schema(self) -> list[dict[str, Any]]:
        return self.index.entries

    def has(self, query: str) -> bool:
        return path_exists(self.index, query)

    def execute(self, command: str) -> Any:
        return self._execute(command)

    def _execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        from optcompare.backends.qemu.daemon import QmpCommandError

        try:
            if arguments is None:
                return self.qemu.execute(command)
            return self.qemu.execute(command, arguments)
        except QmpCommandError as error:
            if error.error_class == "CommandNotFound":
                raise CommandNotFound(command) from None
            raise

    def device_properties(self, typename: str) -> tuple[str, ...]:
        """Nothing where QEMU has no such command or device (qemu-storage-daemon has neither)."""
        from optcompare.backends.qemu.daemon import QmpCommandError

        if not has_command(self.index, "device-list-properties"):
            return ()
        try:
            reply = self._execute("device-list-properties", {"typename": typename})
        except QmpCommandError:
            return ()
        return tuple(str(p["name"]) for p in reply if isinstance(p, dict) and "name" in p)

    def version(self) -> tuple[int, int, int]:
        reply = self.qemu.execute("query-version")
        try:
            qemu = reply["qemu"]
            return int(qemu["major"]), int(qemu["minor"]), int(qemu["micro"])
        except (KeyError, TypeError, ValueError):
            raise OptcompareError(f"unexpected query-version reply: {reply!r}") from None
