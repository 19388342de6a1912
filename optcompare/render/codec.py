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


def decode(cls: type[T], data: Any) -> T:
    result: T = _decode(cls, data)
    return result


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if data is None and type(None) in options:
            return None
        classes: list[type] = [o for o in options if isinstance(o, type)
                               and dataclasses.is_dataclass(o)]
        if len(classes) > 1:
            name = data["type"]
            chosen = next(c for c in classes if c.__name__ == name)
            return _decode(chosen, {k: v for k, v in data.items() if k != "type"})
        rest = [o for o in options if o is not type(None)]
        return _decode(rest[0], data)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in data)
        return tuple(_decode(a, v) for a, v in zip(args, data, strict=True))
    if origin is dict:
        _key, item = typing.get_args(hint)
        return {k: _decode(item, v) for k, v in data.items()}
    if origin is frozenset:
        (item,) = typing.get_args(hint)
        return frozenset(_decode(item, v) for v in data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        values = {f.name: _decode(hints[f.name], data[f.name])
                  for f in dataclasses.fields(hint) if f.name in data}
        return hint(**values)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    return data
