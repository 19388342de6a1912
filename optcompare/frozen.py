"""``@frozen``: a frozen dataclass whose methods are shared, not compiled for each class.

For every class, ``@dataclass(frozen=True)`` writes six methods as source text
and compiles each one (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``, ``__delattr__``): about 0.1 ms a method, most of the time it
takes to import the analyses, which a report pays on both sides of its fork.

Here comparison, hash, repr and the frozen ``__setattr__`` / ``__delattr__``
are five functions shared by every class; comparison and hash read the
fields through one ``operator.attrgetter`` kept on the class. ``__init__``
is compiled once for each *shape* of class (how many parameters, which are
keyword-only, which call a default factory, whether ``__post_init__`` runs),
with the parameters named by number; each class gets that code with its own
field names put in (``CodeType.replace``) and its defaults as the function's
defaults. The result behaves as the generated methods do: the same fields
compared and hashed, the same repr text, the same ``NotImplemented`` for
another class, the same signature, the same ``FrozenInstanceError``.

The class is a dataclass in every other respect (``fields``, ``replace``,
``__match_args__``, ``__dataclass_params__.frozen``, a frozen base for a
plugin's ``@dataclass(frozen=True)``), and a method the class writes itself
is kept, as dataclasses keep it. A class with a dataclass base goes through
``dataclasses`` itself, which checks that the bases are frozen too.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import operator
import types
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_C = TypeVar("_C", bound=type)
_MISSING: Any = dataclasses.MISSING


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


def _guarded(self: Any, name: str, method: str, shared: Callable[..., Any], verb: str) -> Any:
    """The class holding ``shared`` as ``method`` (a plain subclass inherits it), once it is
    checked that it lets ``name`` change: its own instances change nothing, a subclass's
    no field."""
    owner: Any = next(klass for klass in type(self).__mro__ if vars(klass).get(method) is shared)
    if type(self) is owner or name in owner.__dataclass_fields__:
        raise dataclasses.FrozenInstanceError(f"cannot {verb} field {name!r}")
    return owner


def _setattr(self: Any, name: str, value: Any) -> None:
    super(_guarded(self, name, "__setattr__", _setattr, "assign to"), self).__setattr__(
        name, value)


def _delattr(self: Any, name: str) -> None:
    super(_guarded(self, name, "__delattr__", _delattr, "delete"), self).__delattr__(name)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, as the generated methods compare them."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


class _Factory:
    """The default of a parameter whose field has a default factory."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()

# A shape: per set field, (parameter kind, calls a factory); kind is "positional",
# "keyword" or "" (not a parameter: only a factory sets it). Then: runs __post_init__.
_Shape = tuple[tuple[tuple[str, bool], ...], bool]
_codes: dict[_Shape, types.CodeType] = {}


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not _MISSING or f.default_factory is not _MISSING


def _code(shape: _Shape) -> types.CodeType:
    """``__init__`` for ``shape``, its field ``i`` named ``_i``; compiled once per shape."""
    code = _codes.get(shape)
    if code is None:
        settings, post_init = shape
        positional = [f"_{i}" for i, (kind, _) in enumerate(settings) if kind == "positional"]
        keyword = [f"_{i}" for i, (kind, _) in enumerate(settings) if kind == "keyword"]
        lines = []
        for i, (kind, factory) in enumerate(settings):
            if not kind:
                value = f"__frozen_factory_{i}__()"
            elif factory:
                value = f"__frozen_factory_{i}__() if _{i} is __frozen_is_factory__ else _{i}"
            else:
                value = f"_{i}"
            lines.append(f"    __frozen_set__(self, '_{i}', {value})")
        if post_init:
            lines.append("    self.__post_init__()")
        parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
        source = f"def __init__({parameters}):\n" + ("\n".join(lines) or "    pass") + "\n"
        module = compile(source, "<frozen __init__>", "exec")
        code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
        _codes[shape] = code
    return code


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """The ``__init__`` dataclasses would write for a frozen ``cls`` with ``fields``."""
    seen_default = False
    for f in fields:
        if f.init and not f.kw_only:
            if _has_default(f):
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
    kinds = {f.name: ("" if not f.init else "keyword" if f.kw_only else "positional")
             for f in fields}
    # A field that is not a parameter and has no factory is read from the class.
    set_fields = [f for f in fields if f.init or f.default_factory is not _MISSING]
    settings = tuple((kinds[f.name], f.default_factory is not _MISSING) for f in set_fields)
    code = _code((settings, hasattr(cls, "__post_init__")))
    own = {f"_{i}": f.name for i, f in enumerate(set_fields)}
    self_name = "__dataclass_self__" if "self" in own.values() else "self"
    code = code.replace(
        co_varnames=tuple(own.get(name, self_name if name == "self" else name)
                          for name in code.co_varnames),
        co_consts=tuple(own.get(c, c) if isinstance(c, str) else c for c in code.co_consts))
    namespace: dict[str, Any] = {"__builtins__": builtins, "__frozen_set__": object.__setattr__,
                                 "__frozen_is_factory__": _FACTORY}
    for i, f in enumerate(set_fields):
        if f.default_factory is not _MISSING:
            namespace[f"__frozen_factory_{i}__"] = f.default_factory

    def default(f: dataclasses.Field[Any]) -> Any:
        return _FACTORY if f.default_factory is not _MISSING else f.default

    defaults = tuple(default(f) for f in fields
                     if kinds[f.name] == "positional" and _has_default(f))
    made = types.FunctionType(code, namespace, "__init__", defaults or None)
    made.__kwdefaults__ = {f.name: default(f) for f in fields
                           if kinds[f.name] == "keyword" and _has_default(f)} or None
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    made.__module__ = cls.__module__
    made.__annotations__ = {**{f.name: f.type for f in fields if f.init}, "return": None}
    return made


def _make(cls: _C, init: bool) -> _C:
    own = cls.__dict__
    writes_eq = "__eq__" in own
    written_hash = own.get("__hash__", _MISSING)
    # As dataclasses decide it: a class that defines __eq__ alone has __hash__ None
    # in its namespace, which is no hash of its own.
    writes_hash = not (written_hash is _MISSING or (written_hash is None and writes_eq))
    writes_repr = "__repr__" in own
    documented = bool(own.get("__doc__"))
    made: Any
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        made = dataclasses.dataclass(cls, frozen=True, init=init, eq=False, repr=False)
        fields = dataclasses.fields(made)
    else:
        for method in ("__setattr__", "__delattr__"):
            if method in own:
                raise TypeError(f"Cannot overwrite attribute {method} in class {cls.__name__}")
        made = dataclasses.dataclass(cls, init=False, eq=False, repr=False)
        fields = dataclasses.fields(made)
        if len(made.__dataclass_fields__) != len(fields) and any(
                "InitVar" in str(f.type) for f in made.__dataclass_fields__.values()):
            raise TypeError(f"@frozen class {cls.__name__} has an InitVar: use @dataclass")
        made.__setattr__ = _setattr
        made.__delattr__ = _delattr
        made.__dataclass_params__.frozen = True
        made.__dataclass_params__.init = init
        if init and "__init__" not in own:
            made.__init__ = _init(made, fields)
            if not documented:
                signature = str(inspect.signature(made)).replace(" -> None", "")
                made.__doc__ = made.__name__ + signature
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
