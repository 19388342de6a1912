"""``@frozen`` behaves as ``@dataclass(frozen=True)``: compared, hashed and shown alike."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from optcompare.frozen import frozen


def _pair(**extra: Any) -> tuple[type, type]:
    """The same class, once through ``@frozen`` and once through the dataclass."""

    def body() -> dict[str, Any]:
        return {"__annotations__": {"name": "str", "size": "int", "notes": "tuple[str, ...]"},
                "size": 0, "notes": field(default=(), **extra), "__module__": __name__}

    ours = frozen(type("Image", (), body()))
    theirs = dataclass(frozen=True)(type("Image", (), body()))
    return ours, theirs


@pytest.mark.parametrize("extra", [{}, {"compare": False}, {"hash": False}, {"repr": False}])
def test_compares_hashes_and_shows_as_the_dataclass_does(extra: dict[str, Any]) -> None:
    ours, theirs = _pair(**extra)
    values = [("base", 1, ("a",)), ("base", 1, ("b",)), ("base", 2, ("a",)), ("top", 1, ())]
    for left in values:
        for right in values:
            assert (ours(*left) == ours(*right)) == (theirs(*left) == theirs(*right))
        assert hash(ours(*left)) == hash(theirs(*left))
        assert repr(ours(*left)) == repr(theirs(*left))


def test_another_class_is_not_equal_and_not_an_error() -> None:
    ours, theirs = _pair()
    assert ours("base") != theirs("base")
    assert ours.__eq__(ours("base"), theirs("base")) is NotImplemented
    assert ours("base") != ("base", 0, ())


def test_stays_frozen_and_a_dataclass() -> None:
    ours, _ = _pair()
    image = ours("base", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        image.size = 2  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del image.name  # type: ignore[attr-defined]
    assert [f.name for f in dataclasses.fields(image)] == ["name", "size", "notes"]
    assert dataclasses.replace(image, size=3) == ours("base", 3)
    assert ours.__match_args__ == ("name", "size", "notes")  # type: ignore[attr-defined]


@frozen
class _Written:
    value: int

    def __eq__(self, other: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "written"


@frozen
class _WrittenHash:
    value: int

    def __hash__(self) -> int:
        return 7


def test_a_method_the_class_writes_is_kept() -> None:
    assert _Written(1) == _Written(2)
    assert repr(_Written(1)) == "written"
    assert hash(_Written(1)) == hash((1,))  # __eq__ alone: the hash is still made
    assert hash(_WrittenHash(1)) == 7
    assert _WrittenHash(1) == _WrittenHash(1) != _WrittenHash(2)


@frozen
class _Base:
    name: str


def test_a_plugin_may_subclass_it_with_the_dataclass() -> None:
    @dataclass(frozen=True)
    class Plugin(_Base):
        extra: int = 0

    assert Plugin("a", 1) == Plugin("a", 1) != Plugin("a", 2)
    assert pickle.loads(pickle.dumps(_Base("a"))) == _Base("a")  # the fork's results
    assert repr(Plugin("a")) == "test_a_plugin_may_subclass_it_with_the_dataclass.<locals>." \
        "Plugin(name='a', extra=0)"
    with pytest.raises(TypeError, match="non-frozen"):
        @dataclass
        class Thawed(_Base):
            extra: int = 0


def test_init_false_keeps_the_written_init() -> None:
    @frozen(init=False)
    class Step:
        index: int

        def __init__(self, index: str) -> None:
            self.__dict__["index"] = int(index)

    assert Step("3") == Step("3")
    assert Step("3").index == 3
