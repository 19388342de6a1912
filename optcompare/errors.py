"""Domain errors. The CLI turns every one of them into one line on stderr."""

from __future__ import annotations


class OptcompareError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class InputError(OptcompareError):
    """Bad input from the user: a file, a name, a query. Exit code 2."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class UnknownNameError(InputError):
    """A policy, driver, scenario, ... that does not exist."""


class BackendError(OptcompareError):
    """The real QEMU backend could not run (missing binary, daemon died, ...)."""


class PluginFailure(Exception):
    """A plugin's hook raised or returned the wrong type while a command used it.

    Not an OptcompareError: no analysis may take it for a domain answer. The
    command boundary leaves the plugin out and runs the command again.
    """

    def __init__(self, policy: str, hook: str, *, raised: str | None = None,
                 returned: str | None = None) -> None:
        self.policy = policy
        self.hook = hook
        self.raised = raised
        """The exception, described, when the hook raised."""
        self.problem = (f"{hook}() raised {raised}" if raised is not None
                        else f"{hook}() returned {returned}")
        super().__init__(f"policy {policy!r}: {self.problem}")


class Terminated(KeyboardInterrupt):
    """A terminating signal (SIGINT, SIGTERM, SIGHUP) arrived: unwind, clean up, exit 128+n.

    A KeyboardInterrupt, so that everything that already cleans up after a
    Ctrl-C (the real backend's daemons and servers, atomic writes) does the
    same after a SIGTERM or a SIGHUP.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
