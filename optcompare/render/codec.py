"""JSON over typed models: frozen dataclasses to plain data and back.

One rule for every class: a dataclass is an object of its fields in
declaration order, an enum its value, a tuple a list, a dict an object.
A field typed as a union of dataclasses (a cell's reason) carries the
class name under ``type``. :func:`decode` reads such data back into the
classes (the report's result cache stores the model this way), so
``decode(type(x), encode(x)) == x``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")

def encode(value: object) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        data: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            data[f.name] = encode(item)
            if _is_choice(hints[f.name]) and item is not None:
                data[f.name] = {"type": type(item).__name__, **data[f.name]}
        return data
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(encode(v) for v in value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@functools.cache
def _is_choice(hint: Any) -> bool:
    """A union of several dataclasses: its data names the class."""
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return False
    return sum(dataclasses.is_dataclass(o) for o in typing.get_args(hint)) > 1


class ShapeError(ValueError):
    """Data that is not of the shape of the class it is decoded into."""


def decode(cls: type[T], data: Any) -> T:
    """``data`` read back into ``cls``; ShapeError when it is not of that shape.

    Strict: every field of every object is checked against its type hint,
    so a stored result that the current model would not have written (an
    old layout, a damaged or forged file) is refused, never half used.
    """
    try:
        result: T = _decode(cls, data)
    except RecursionError:
        raise ShapeError("nested too deeply") from None
    return result


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


_SCALARS: dict[type, tuple[type, ...]] = {str: (str,), bool: (bool,), int: (int,),
                                         float: (float, int)}


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(typing.get_args(hint), data)
    if origin is tuple:
        args = typing.get_args(hint)
        items = _expect(data, list, hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in items)
        if len(items) != len(args):
            raise ShapeError(f"expected {len(args)} items for {hint}, got {len(items)}")
        return tuple(_decode(a, v) for a, v in zip(args, items, strict=True))
    if origin is dict:
        key, item = typing.get_args(hint)
        return {_decode(key, k): _decode(item, v) for k, v in _expect(data, dict, hint).items()}
    if origin is frozenset:
        (item,) = typing.get_args(hint)
        return frozenset(_decode(item, v) for v in _expect(data, list, hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_object(hint, _expect(data, dict, hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            raise ShapeError(f"{data!r} is not a {hint.__name__}") from None
    if hint is type(None):
        if data is not None:
            raise ShapeError(f"expected null, got {type(data).__name__}")
        return None
    if hint in _SCALARS:
        if (isinstance(data, bool) and hint is not bool) or not isinstance(data, _SCALARS[hint]):
            raise ShapeError(f"expected {hint.__name__}, got {type(data).__name__}")
        return data
    return data  # Any, object: whatever JSON holds


def _decode_union(options: tuple[Any, ...], data: Any) -> Any:
    if data is None:
        if type(None) in options:
            return None
        raise ShapeError(f"expected one of {options}, got null")
    classes: list[type] = [o for o in options if isinstance(o, type)
                           and dataclasses.is_dataclass(o)]
    if len(classes) > 1:
        name = _expect(data, dict, options).get("type")
        chosen = next((c for c in classes if c.__name__ == name), None)
        if chosen is None:
            raise ShapeError(f"no class {name!r} among {[c.__name__ for c in classes]}")
        return _decode(chosen, {k: v for k, v in data.items() if k != "type"})
    rest = [o for o in options if o is not type(None)]
    for option in rest[:-1]:
        try:
            return _decode(option, data)
        except ShapeError:
            continue
    return _decode(rest[-1], data)


def _decode_object(cls: type, data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ShapeError(f"{cls.__name__} has no field {unknown[0]!r}")
    missing = [name for name, f in fields.items() if name not in data and f.init
               and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ShapeError(f"{cls.__name__} needs field {missing[0]!r}")
    values = {name: _decode(hints[name], value) for name, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ShapeError(f"{cls.__name__}: {error}") from None


def _expect(data: Any, kind: type, hint: object) -> Any:
    if not isinstance(data, kind):
        raise ShapeError(f"expected {kind.__name__} for {hint}, got {type(data).__name__}")
    return data
