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
deals in (strings, booleans, enums, dicts, tuples) is their whole content,
dict order included; anything else (an object shown by its address) never
compares alike, so nothing is shared by mistake. An answer that is an object
(a frozen dataclass or a named tuple: a driver, a wording, a resolution) is
not compared whole: it is handed out witnessed in turn, and only what is read
of it or asked of it (its methods, pure as the build's hooks are) becomes a
question, so two builds whose drivers differ only in a source note nobody
reads still answer alike. A witnessed object refuses what could tell it from
the real one unnoticed (``==``, ``hash``, a copy); ``isinstance``, ``repr``,
``str`` and ``format`` are questions like any other, and passed back to the
build (a client's probe to its own policy) it is asked whole.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from enum import Enum
from typing import Any, cast

from optcompare.policies.base import Build

Call = tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]
"""The arguments of a call: positional, and keyword ones sorted by name."""
Question = tuple[str | Call | None, ...]
"""Where the question was asked: from the build, attribute names and calls,
``("policy", "wording", "modern")``, ``("resolve", ((options, "file", frontend), ()), "mode")``;
a last None asks for the object whole."""

_VALUE, _OBJECT, _RAISED = "value", "object", "raised"
_NEVER = ("never",)
_UNSEEN = object()
_IMMUTABLE = (str, int, float, bytes, type(None), Enum)
"""What a value a call answers with may be to be kept for the next same call (a bool is
an int); a call answered otherwise (a dict: the caller may change it) is made anew."""
"""The answer to a question that cannot be asked again."""


def _shown(value: object) -> tuple[Any, ...]:
    if isinstance(value, type):
        return (_VALUE, value)
    return (_VALUE, type(value), repr(value))


def _is_object(value: object) -> bool:
    """Whether ``value`` is handed out witnessed: a truthy frozen dataclass instance or
    named tuple (truthy: a witness is, whatever it stands for)."""
    if isinstance(value, tuple):
        return hasattr(value, "_fields") and bool(value)
    params = getattr(type(value), "__dataclass_params__", None)
    return params is not None and params.frozen and bool(value)


def _answer(value: object) -> tuple[Any, ...]:
    return (_OBJECT,) if _is_object(value) else _shown(value)


class Record:
    """Every question one build was asked, and its first answer.

    A build's hooks are pure (the analyses memoise them already), so a
    question asked again is answered as it was the first time.
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[Any, ...], tuple[Question, tuple[Any, ...]]] = {}
        """By a key of the question (calls by the ``repr`` of their arguments)."""
        self._witnessed: dict[tuple[Any, ...], _Value] = {}
        self._values: dict[tuple[Any, ...], Any] = {}
        """The calls answered with a value nobody can change (a string, a number, an
        enum member...): asked again, they are answered from here."""

    def answer(self, key: tuple[Any, ...], question: Question, value: Any) -> Any:
        """Note ``value`` as the answer; what the asker gets (an object, witnessed)."""
        if _is_object(value):
            found = self._witnessed.get(key)
            if found is None:
                self.answers[key] = (question, (_OBJECT,))
                found = self._witnessed[key] = _Value(value, self, question, key)
            return found
        self.answers[key] = (question, _shown(value))
        return value

    def raised(self, key: tuple[Any, ...], question: Question, error: Exception) -> None:
        self.answers[key] = (question, (_RAISED, *_shown(error)[1:]))


class _Asked:
    """An object (the build, its policy) whose every attribute read and call is noted."""

    def __init__(self, inner: object, record: Record, question: Question,
                 key: tuple[Any, ...]) -> None:
        self._inner = inner
        self._record = record
        self._question = question
        self._key = key

    def __copy__(self) -> _Asked:
        raise TypeError("a witness is not copied")

    def __deepcopy__(self, memo: object) -> _Asked:
        raise TypeError("a witness is not copied")

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("_inner")
        if inner is None:  # not yet initialised (copy, pickle)
            raise AttributeError(name)
        value = getattr(inner, name)
        question, key = (*self._question, name), (*self._key, name)
        if callable(value) and getattr(value, "__self__", None) is inner:
            answer: Any = _method(value, self._record, question, key)
        elif name == "policy" and not self._question:
            answer = _Asked(value, self._record, question, key)
        else:
            answer = self._record.answer(key, question, value)
        # Frozen: an attribute read once reads the same later.
        self.__dict__[name] = answer
        return answer


class _Value(_Asked):
    """An object the build answered with (see the module's text)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # what isinstance() asks
        return cast(type, self._record.answer((*self._key, "__class__"),
                                              (*self._question, "__class__"),
                                              type(self._inner)))

    def __eq__(self, other: object) -> bool:
        raise TypeError("a witnessed object is not compared")

    def __hash__(self) -> int:
        raise TypeError("a witnessed object is not hashed")

    def __repr__(self) -> str:
        return cast(str, self.__getattr__("__repr__")())

    def __str__(self) -> str:
        return cast(str, self.__getattr__("__str__")())

    def __format__(self, spec: str) -> str:
        return cast(str, self.__getattr__("__format__")(spec))

    def whole(self) -> object:
        """The real object, noted whole (by type and ``repr``)."""
        self._record.answers[(*self._key, None)] = ((*self._question, None),
                                                    _shown(self._inner))
        return self._inner


def _whole(value: Any) -> Any:
    return value.whole() if isinstance(value, _Value) else value


def _method(method: Callable[..., Any], record: Record, question: Question,
            key: tuple[Any, ...]) -> Callable[..., Any]:
    answers, witnessed, values = record.answers, record._witnessed, record._values

    def asked(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, _Value) for a in (*args, *kwargs.values())):
            args = tuple(_whole(a) for a in args)
            kwargs = {name: _whole(a) for name, a in kwargs.items()}
        called = (*key, (repr(args), repr(kwargs)))
        found = witnessed.get(called)
        if found is not None:
            return found
        value = values.get(called, _UNSEEN)
        if value is not _UNSEEN:
            return value
        if called in answers:
            return method(*args, **kwargs)
        try:
            # The arguments as they were: a caller may change a dict it passed later on.
            full = (*question, copy.deepcopy((args, tuple(sorted(kwargs.items())))))
        except Exception:  # not a value (a witness in a client's probe): never alike
            answers[called] = ((*question, None), _NEVER)
            return method(*args, **kwargs)
        try:
            result = method(*args, **kwargs)
        except Exception as error:
            record.raised(called, full, error)
            raise
        if isinstance(result, _IMMUTABLE):
            values[called] = result
        return record.answer(called, full, result)

    return asked


def witness(build: Build) -> tuple[Build, Record]:
    """A stand-in for ``build`` that notes every question asked of it, and its record."""
    record = Record()
    return cast(Build, _Asked(build, record, (), ())), record


def _asked_of(build: Build, question: Question) -> tuple[Any, ...]:
    target: Any = build
    try:
        for step in question:
            if isinstance(step, str):
                target = getattr(target, step)
            elif step is not None:
                args, kwargs = step
                target = target(*args, **dict(kwargs))
    except Exception as error:
        return (_RAISED, *_shown(error)[1:])
    return _shown(target) if question[-1] is None else _answer(target)


def answers_alike(build: Build, record: Record) -> bool:
    """Whether ``build`` gives every answer in ``record`` (so a search on it is the same)."""
    # Every object a question goes through was itself a question, answered as an object:
    # a build that fails on the way fails that one.
    return all(answer is not _NEVER and _asked_of(build, question) == answer
               for question, answer in record.answers.values())

