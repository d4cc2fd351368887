"""`fast_init` makes, for each class shape it takes, the object the dataclass's own
`__init__` makes, and fails the same way; it refuses every other shape."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import pytest

from deploysafe.frozen import fast_init


def _twins(make: Callable[[], type]) -> tuple[Any, Any]:
    """The class `make` defines, once plain and once with `fast_init`."""
    return make(), fast_init(make())


def _plain() -> type:
    @dataclass(frozen=True, slots=True)
    class Plain:
        a: int
        b: str
        c: tuple[int, ...]

    return Plain


def _defaults() -> type:
    @dataclass(frozen=True, slots=True)
    class Defaults:
        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: dict[str, int] = field(default_factory=dict, compare=False)
        e: int | None = field(default=None, repr=False)

    return Defaults


def _keywords() -> type:
    @dataclass(frozen=True, slots=True)
    class Keywords:
        a: int
        b: int = field(default=2, kw_only=True)
        c: int = 3
        d: list[str] = field(kw_only=True, default_factory=list)
        e: str = field(kw_only=True, default="e")
        f: int = field(kw_only=True, default=0)

    return Keywords


def _all_keywords() -> type:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class AllKeywords:
        a: int
        b: int = 1

    return AllKeywords


def _not_in_init() -> type:
    @dataclass(frozen=True, slots=True, eq=False)
    class NotInInit:
        a: int
        cached: str | None = field(default=None, init=False, repr=False)
        made: list[int] = field(default_factory=list, init=False)
        unset: int = field(init=False, repr=False)
        counter: ClassVar[int] = 0

    return NotInInit


def _post_init() -> type:
    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int
        doubled: int = field(default=0, init=False)

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")
            object.__setattr__(self, "doubled", 2 * self.a)

    return PostInit


def _empty() -> type:
    @dataclass(frozen=True, slots=True)
    class Empty:
        pass

    return Empty


def _child() -> type:
    @dataclass(frozen=True, slots=True)
    class Base:
        a: int
        b: int = 1

    @dataclass(frozen=True, slots=True)
    class Child(Base):
        c: str = "c"

    return Child


def _unhashed() -> type:
    @dataclass(frozen=True, slots=True, eq=False)
    class Unhashed:
        a: int
        b: str = ""

    return Unhashed


# Each shape with calls to make it: (args, kwargs).
SHAPES: list[tuple[Callable[[], type], list[tuple[tuple[Any, ...], dict[str, Any]]]]] = [
    (_plain, [((1, "x", (2,)), {}), ((1,), {"c": (), "b": "y"}), ((), {"a": 0, "b": "", "c": ()})]),
    (
        _defaults,
        [
            ((1,), {}),
            ((1, "q", [3]), {}),
            ((1,), {"d": {"k": 1}, "e": 4}),
            ((1, "x", [], {}, 5), {}),
        ],
    ),
    (_keywords, [((1,), {}), ((1, 9), {"b": 8, "d": ["x"], "f": 1}), ((), {"a": 1, "e": "z"})]),
    (_all_keywords, [((), {"a": 1}), ((), {"a": 1, "b": 2})]),
    (_not_in_init, [((1,), {}), ((), {"a": 2})]),
    (_post_init, [((3,), {}), ((), {"a": 0})]),
    (_empty, [((), {})]),
    (_child, [((1,), {}), ((1, 2, "z"), {}), ((), {"a": 1, "c": "y"})]),
    (_unhashed, [((1,), {}), ((1, "b"), {})]),
]

# Calls that fail: the same exception and message from both.
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1, 2, 3, 4, 5, 6, 7), {}),
    ((1,), {"a": 1}),
    ((1,), {"zz": 1}),
    ((), {"b": 1}),
    ((-1,), {}),
]


def _state(obj: Any) -> dict[str, Any]:
    """Every slot's value, or a marker where it is unset."""
    out = {}
    for klass in type(obj).__mro__:
        for name in getattr(klass, "__slots__", ()):
            out[name] = getattr(obj, name, "<unset>")
    return out


def _outcome(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return cls(*args, **kwargs)
    except Exception as exc:
        return (type(exc), str(exc))


@pytest.mark.parametrize(("make", "calls"), SHAPES, ids=lambda v: getattr(v, "__name__", ""))
def test_objects_are_the_dataclass_s(
    make: Callable[[], type], calls: list[tuple[tuple[Any, ...], dict[str, Any]]]
) -> None:
    plain, fast = _twins(make)
    assert plain.__init__ is not fast.__init__
    assert inspect.signature(plain) == inspect.signature(fast)
    assert str(inspect.signature(plain)) == str(inspect.signature(fast))
    assert plain.__init__.__qualname__ == fast.__init__.__qualname__
    assert [(f.name, f.default, f.default_factory) for f in dataclasses.fields(plain)] == [
        (f.name, f.default, f.default_factory) for f in dataclasses.fields(fast)
    ]
    for args, kwargs in [*calls, *BAD_CALLS]:
        a, b = _outcome(plain, args, kwargs), _outcome(fast, args, kwargs)
        if isinstance(a, tuple) and isinstance(a[0], type):
            assert a == b, (args, kwargs)
            continue
        assert type(b) is fast
        assert _state(a) == _state(b)
        assert repr(a) == repr(b).replace(fast.__qualname__, plain.__qualname__)
        if plain.__dataclass_params__.eq and _hashable(a):
            assert hash(a) == hash(b)
        if "<unset>" not in _state(b).values():
            # What pickling does, without finding the class by its name.
            assert _state(copy.deepcopy(b)) == _state(b)
            assert (a == copy.copy(a)) == (b == copy.copy(b))
            again = dataclasses.replace(b)
            assert type(again) is fast and _state(again) == _state(b)
        first = dataclasses.fields(b)[0].name if dataclasses.fields(b) else None
        if first is not None:
            with pytest.raises(dataclasses.FrozenInstanceError) as fast_error:
                setattr(b, first, 1)
            with pytest.raises(dataclasses.FrozenInstanceError) as plain_error:
                setattr(a, first, 1)
            assert str(fast_error.value) == str(plain_error.value)


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def test_a_factory_is_called_for_each_object() -> None:
    fast: Any = fast_init(_defaults())
    one, two = fast(1), fast(1)
    assert one.c == [] and one.c is not two.c
    given = [1]
    assert fast(1, "b", given).c is given


@fast_init
@dataclass(frozen=True, slots=True)
class Pickled:
    a: int
    b: list[str] = field(default_factory=list)
    c: str = field(default="c", kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class Reduced:
    a: int
    b: Pickled

    def __reduce__(self) -> tuple[type[Reduced], tuple[int, Pickled]]:
        return Reduced, (self.a, self.b)


def test_replace_and_pickle_keep_the_class_and_its_values() -> None:
    made = Pickled(1, ["x"], c="y")
    assert dataclasses.replace(made, a=2) == Pickled(2, ["x"], c="y")
    assert pickle.loads(pickle.dumps(made)) == made
    reduced = Reduced(3, made)
    again = pickle.loads(pickle.dumps(reduced))
    assert type(again) is Reduced and again == reduced and again.b.b == ["x"]


def _refused() -> list[type]:
    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    class NotADataclass:
        pass

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: InitVar[int] = 1

        def __post_init__(self, scale: int) -> None:
            object.__setattr__(self, "a", self.a * scale)

    @dataclass(frozen=True, slots=True)
    class OwnInit:
        a: int

        def __init__(self, a: int) -> None:
            object.__setattr__(self, "a", a + 1)

    @dataclass(frozen=True, slots=True, init=False)
    class NoInit:
        a: int = 0

    @dataclass(frozen=True, slots=True)
    class NamedSelf:
        self: int

    @dataclass(frozen=True, slots=True)
    class Base:
        a: int

    class Undecorated(Base):  # a dataclass's subclass, not a dataclass itself
        pass

    return [NotFrozen, NoSlots, NotADataclass, WithInitVar, OwnInit, NoInit, NamedSelf, Undecorated]


@pytest.mark.parametrize("cls", _refused(), ids=lambda c: c.__name__)
def test_other_shapes_are_refused(cls: type) -> None:
    before = vars(cls).get("__init__")
    with pytest.raises(TypeError, match=f"fast_init cannot make {cls.__qualname__}"):
        fast_init(cls)
    assert vars(cls).get("__init__") is before


def test_annotations_resolve_in_the_class_s_module() -> None:
    fast: Any = fast_init(_plain())
    assert fast.__init__.__annotations__ == _plain().__init__.__annotations__  # type: ignore[misc]
    assert fast.__init__.__module__ == __name__
