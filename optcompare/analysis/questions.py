"""The questions a model run asks a build, and whether another build answers them alike.

A search on the model is a deterministic function of what it learns from the
build it runs on: the runner and the model backend learn it only through the
build and its policy (an option combination's resolution, a driver, the
wording of an error, whether the build has a reopen command, what its
libvirt passes). :func:`witness` stands in for a build during one search
and writes down every question asked and its answer. Another build that
gives the same answer to every one of those questions would make the same
search ask the same questions in the same order, and so reach the same
graph: :func:`answers_alike` checks exactly that, by asking it.

Answers are compared by type and ``repr``, which for the values the model
deals in (strings, booleans, enums, dicts, named tuples, frozen dataclasses)
is their whole content, dict order included; anything else (an object shown
by its address) never compares alike, so nothing is shared by mistake.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

from optcompare.policies.base import Build

Path = tuple[str, ...]
"""Where the question was asked: ``("resolve",)`` of the build, ``("policy", "wording")``."""
Question = tuple[Path, tuple[Any, ...], tuple[tuple[str, Any], ...] | None]
"""Where, and the arguments of a call (None for an attribute read)."""

_RAISED = "raised"


def _shown(value: object) -> tuple[type, str]:
    return type(value), repr(value)


class Record:
    """Every question one build was asked, and its first answer.

    A build's hooks are pure (the analyses memoise them already), so a
    question asked again is answered as it was the first time.
    """

    def __init__(self) -> None:
        self.answers: dict[object, tuple[Question, tuple[Any, ...]]] = {}

    def key(self, path: Path, args: tuple[Any, ...], kwargs: dict[str, Any]) -> object:
        return (path, repr(args), repr(kwargs)) if args or kwargs else path

    def note(self, key: object, question: Question, answer: object, raised: bool) -> None:
        # The arguments as they were: a caller may change a dict it passed later on.
        shown = (_RAISED, *_shown(answer)) if raised else _shown(answer)
        self.answers[key] = (copy.deepcopy(question), shown)


class _Asked:
    """An object (the build, its policy) whose every attribute read and call is noted."""

    def __init__(self, inner: object, record: Record, path: Path) -> None:
        self._inner = inner
        self._record = record
        self._path = path

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        path = (*self._path, name)
        if name == "policy" and not self._path:
            asked = _Asked(value, self._record, path)
            self.__dict__[name] = asked
            return asked
        if callable(value) and getattr(value, "__self__", None) is self._inner:
            method = _method(value, self._record, path)
            self.__dict__[name] = method
            return method
        self._record.note(path, (path, (), None), value, False)
        # A frozen build and policy: an attribute read once reads the same later.
        self.__dict__[name] = value
        return value


def _method(method: Callable[..., Any], record: Record, path: Path) -> Callable[..., Any]:
    answers = record.answers

    def asked(*args: Any, **kwargs: Any) -> Any:
        key = record.key(path, args, kwargs)
        if key in answers:
            return method(*args, **kwargs)
        question = (path, args, tuple(sorted(kwargs.items())))
        try:
            result = method(*args, **kwargs)
        except Exception as error:
            record.note(key, question, error, True)
            raise
        record.note(key, question, result, False)
        return result

    return asked


def witness(build: Build) -> tuple[Build, Record]:
    """A stand-in for ``build`` that notes every question asked of it, and its record."""
    record = Record()
    return cast(Build, _Asked(build, record, ())), record


def answers_alike(build: Build, record: Record) -> bool:
    """Whether ``build`` gives every answer in ``record`` (so a search on it is the same)."""
    for (path, args, kwargs), answer in record.answers.values():
        target: Any = build
        try:
            for name in path[:-1]:
                target = getattr(target, name)
            value = getattr(target, path[-1])
        except Exception:
            return False
        if kwargs is None:
            if _shown(value) != answer:
                return False
            continue
        given: tuple[Any, ...]
        try:
            given = _shown(value(*args, **dict(kwargs)))
        except Exception as error:
            given = (_RAISED, *_shown(error))
        if given != answer:
            return False
    return True
