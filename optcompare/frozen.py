"""``@frozen``: a frozen dataclass whose comparison, hash and repr are shared, not generated.

For every class, ``@dataclass(frozen=True)`` writes six methods as source text
and compiles each one (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): about 0.1 ms a method, over half the time
it takes to import the analyses, which a report pays on both sides of its
fork. Comparison, hash and repr need nothing written for the class: here
they are three functions shared by every class, reading the fields through
one ``operator.attrgetter`` kept on the class. They give what the generated
ones give (the same fields compared and hashed, the same repr text, the
same ``NotImplemented`` for another class); ``__init__`` and the frozen
``__setattr__`` / ``__delattr__`` stay dataclasses' own. The class is a
dataclass in every other respect (``fields``, ``replace``, a frozen base for
a plugin's ``@dataclass(frozen=True)``), and a method the class writes
itself is kept, as dataclasses keep it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_C = TypeVar("_C", bound=type)


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        key = type(self).__frozen_key__
        return key(self) == key(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(type(self).__frozen_hash_key__(self))


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}"
                      for f in dataclasses.fields(self) if f.repr)
    return f"{self.__class__.__qualname__}({shown})"


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, as the generated methods compare them."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _make(cls: _C, init: bool) -> _C:
    own = cls.__dict__
    writes_eq = "__eq__" in own
    written_hash = own.get("__hash__", dataclasses.MISSING)
    # As dataclasses decide it: a class that defines __eq__ alone has __hash__ None
    # in its namespace, which is no hash of its own.
    writes_hash = not (written_hash is dataclasses.MISSING
                       or (written_hash is None and writes_eq))
    writes_repr = "__repr__" in own
    made: Any = dataclasses.dataclass(cls, frozen=True, init=init, eq=False, repr=False)
    fields = dataclasses.fields(made)
    compared = [f.name for f in fields if f.compare]
    hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
    made.__frozen_key__ = _getter(compared)
    made.__frozen_hash_key__ = made.__frozen_key__ if hashed == compared else _getter(hashed)
    if not writes_eq:
        made.__eq__ = _eq
    if not writes_hash:
        made.__hash__ = _hash
    if not writes_repr:
        made.__repr__ = _repr
    result: _C = made
    return result


@overload
def frozen(cls: _C, /) -> _C: ...
@overload
def frozen(*, init: bool = True) -> Callable[[_C], _C]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: _C | None = None, /, *, init: bool = True) -> _C | Callable[[_C], _C]:
    """``@frozen`` or ``@frozen(init=False)`` (the class writes its own ``__init__``)."""
    if cls is None:
        return lambda later: _make(later, init)
    return _make(cls, init)
