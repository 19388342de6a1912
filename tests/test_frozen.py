"""``@frozen`` behaves as ``@dataclass(frozen=True)``: compared, hashed and shown alike."""

from __future__ import annotations

import copy
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


def _twins(annotations: dict[str, str], **namespace: Any) -> tuple[type, type]:
    """A class through ``@frozen`` and through ``@dataclass(frozen=True)``, from one body."""

    def body() -> dict[str, Any]:
        made = {"__annotations__": dict(annotations), "__module__": __name__,
                "__qualname__": "Step"}
        for name, value in namespace.items():
            made[name] = copy.copy(value) if isinstance(value, dataclasses.Field) \
                else value
        return made

    return frozen(type("Step", (), body())), dataclass(frozen=True)(type("Step", (), body()))


_Call = tuple[tuple[Any, ...], dict[str, Any]]
_BODIES: list[tuple[dict[str, str], dict[str, Any], list[_Call]]] = [
    ({}, {}, [((), {})]),
    ({"name": "str"}, {}, [(("a",), {}), ((), {"name": "a"})]),
    ({"name": "str", "size": "int", "tags": "list[str]"},
     {"size": 0, "tags": field(default_factory=list)},
     [(("a",), {}), (("a", 2), {}), (("a", 2, ["x"]), {}), (("a",), {"tags": ["y"]})]),
    ({"name": "str", "seen": "list[str]", "kind": "str"},
     {"seen": field(default_factory=list, init=False), "kind": field(default="qcow2", init=False)},
     [(("a",), {})]),
    ({"name": "str", "depth": "int", "mode": "str"},
     {"depth": field(default=1, kw_only=True), "mode": field(kw_only=True)},
     [(("a",), {"mode": "ro"}), (("a",), {"mode": "rw", "depth": 3})]),
    ({"self": "str", "other": "int"}, {"other": 5}, [(("a",), {}), ((), {"self": "b"})]),
]


@pytest.mark.parametrize("annotations, namespace, calls", _BODIES)
def test_init_is_the_dataclass_init(annotations: dict[str, str], namespace: dict[str, Any],
                                    calls: list[_Call]) -> None:
    import inspect

    ours, theirs = _twins(annotations, **namespace)
    # The same text; a factory's marker is its own object, shown as dataclasses show theirs.
    assert str(inspect.signature(ours)) == str(inspect.signature(theirs))
    assert [p.kind for p in inspect.signature(ours).parameters.values()] == \
        [p.kind for p in inspect.signature(theirs).parameters.values()]
    assert ours.__init__.__qualname__ == theirs.__init__.__qualname__  # type: ignore[misc]
    assert ours.__init__.__annotations__ == theirs.__init__.__annotations__  # type: ignore[misc]
    assert ours.__doc__ == theirs.__doc__
    for args, kwargs in calls:
        made, wanted = ours(*args, **kwargs), theirs(*args, **kwargs)
        assert vars(made) == vars(wanted)
        assert repr(made) == repr(wanted)
    for args, kwargs in [((), {}), (("a", "b", "c", "d"), {}), ((), {"nothing": 1})]:
        try:
            theirs(*args, **kwargs)
        except TypeError as error:
            with pytest.raises(TypeError) as ours_error:
                ours(*args, **kwargs)
            assert str(ours_error.value) == str(error)
        else:
            ours(*args, **kwargs)


def test_a_factory_makes_a_new_value_for_each_instance() -> None:
    ours, _ = _twins({"tags": "list[str]"}, tags=field(default_factory=list))
    first, second = ours(), ours()
    assert first.tags == [] and first.tags is not second.tags


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen: list[Any] = []

    def post_init(self: Any) -> None:
        seen.append(self.name)
        object.__setattr__(self, "upper", self.name.upper())

    ours, _ = _twins({"name": "str"}, __post_init__=post_init)
    assert ours("base").upper == "BASE" and seen == ["base"]


def test_frozen_errors_are_the_dataclass_errors() -> None:
    ours, theirs = _twins({"name": "str"})

    class Plain(ours):  # type: ignore[valid-type, misc]
        pass

    class PlainTheirs(theirs):  # type: ignore[valid-type, misc]
        pass

    for value, other in ((ours("a"), theirs("a")), (Plain("a"), PlainTheirs("a"))):
        for action in (lambda v: setattr(v, "name", "b"), lambda v: delattr(v, "name"),
                       lambda v: setattr(v, "extra", 1)):
            try:
                action(other)
            except dataclasses.FrozenInstanceError as error:
                with pytest.raises(dataclasses.FrozenInstanceError, match=str(error)):
                    action(value)
            else:
                action(value)
                assert vars(value) == vars(other)
    assert ours.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_what_it_cannot_make_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'size' follows default argument"):
        _twins({"name": "str", "size": "int"}, name="a")
    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):
        _twins({"name": "str"}, __setattr__=lambda self, name, value: None)
    with pytest.raises(TypeError, match="InitVar"):
        frozen(type("Step", (), {"__annotations__": {"seed": "dataclasses.InitVar[int]"},
                                 "__module__": __name__}))


def test_classes_of_one_shape_share_one_compiled_init() -> None:
    first, _ = _twins({"left": "str", "right": "int"}, right=0)
    second, _ = _twins({"top": "str", "bottom": "int"})
    assert first.__init__.__code__.co_code == second.__init__.__code__.co_code  # type: ignore[misc]
    assert first("a").right == 0 and second("a", 2).bottom == 2  # type: ignore[call-arg]


def test_a_frozen_subclass_of_a_frozen_class() -> None:
    @frozen
    class Derived(_Base):
        extra: int = 0

    assert Derived("a", 1) == Derived("a", 1) != Derived("a", 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Derived("a").extra = 3  # type: ignore[misc]
