"""`record` makes, for each class shape, the class `@dataclass(frozen=True, slots=True)`
(or `@dataclass(slots=True)`, with `frozen=False`) makes: the same objects, signature,
parameters, methods' results and errors."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any, ClassVar

import pytest

from deploysafe.frozen import record

# A decorator of the shapes below: `record` or the dataclass it stands for.
Decorate = Callable[..., Any]


def _frozen(eq: bool = True) -> Decorate:
    return dataclass(frozen=True, slots=True, eq=eq)


def _twins(make: Callable[[Decorate, Decorate], type], frozen: bool) -> tuple[Any, Any]:
    """The class `make` defines, once by the dataclass and once by `record`."""
    plain = dataclass(frozen=frozen, slots=True), dataclass(frozen=frozen, slots=True, eq=False)
    return make(*plain), make(record(frozen=frozen), record(frozen=frozen, eq=False))


def _plain(made: Decorate, _: Decorate) -> type:
    @made
    class Plain:
        """Fields, no defaults."""

        a: int
        b: str
        c: tuple[int, ...]

    return Plain


def _defaults(made: Decorate, _: Decorate) -> type:
    @made
    class Defaults:
        """Defaults, factories, fields neither compared nor shown."""

        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: dict[str, int] = field(default_factory=dict, compare=False)
        e: int | None = field(default=None, repr=False)
        f: int = field(default=0, hash=False)
        g: int = field(default=0, compare=False, hash=True)

    return Defaults


def _keywords(made: Decorate, _: Decorate) -> type:
    @made
    class Keywords:
        """Keyword-only fields among the others."""

        a: int
        b: int = field(default=2, kw_only=True)
        c: int = 3
        d: list[str] = field(kw_only=True, default_factory=list)
        e: str = field(kw_only=True, default="e")
        f: int = field(kw_only=True)
        counter: ClassVar[int] = 0

    return Keywords


def _not_in_init(_: Decorate, made: Decorate) -> type:
    @made
    class NotInInit:
        """Fields that `__init__` does not take, one never set; compared by identity."""

        a: int
        cached: str | None = field(default=None, init=False, repr=False)
        made: list[int] = field(default_factory=list, init=False)
        unset: int = field(init=False, repr=False)

    return NotInInit


def _post_init(made: Decorate, _: Decorate) -> type:
    @made
    class PostInit:
        """A field `__post_init__` sets."""

        a: int
        doubled: int = field(default=0, init=False)

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("negative")
            object.__setattr__(self, "doubled", 2 * self.a)

    return PostInit


def _empty(made: Decorate, _: Decorate) -> type:
    @made
    class Empty:
        pass  # no docstring: the dataclass writes one

    return Empty


def _one(made: Decorate, _: Decorate) -> type:
    @made
    class One:
        """One field: compared and hashed as a tuple of one."""

        a: float

    return One


def _child(made: Decorate, _: Decorate) -> type:
    @made
    class Base:
        """A base."""

        a: int
        b: int = 1

    @made
    class Child(Base):
        """Made by the dataclass, as a dataclass's subclass."""

        c: str = "c"

    return Child


def _own_eq(made: Decorate, _: Decorate) -> type:
    @made
    class OwnEq:
        """Made by the dataclass, with an `__eq__` of its own."""

        a: int

        def __eq__(self, other: object) -> bool:
            return True

    return OwnEq


def _init_var(made: Decorate, _: Decorate) -> type:
    @made
    class WithInitVar:
        """Made by the dataclass, with an `InitVar`."""

        a: int
        scale: InitVar[int] = 1  # type: ignore[assignment]  # (decorated as a parameter)

        def __post_init__(self, scale: int) -> None:
            object.__setattr__(self, "a", self.a * scale)

    return WithInitVar


def _named_self(made: Decorate, _: Decorate) -> type:
    @made
    class NamedSelf:
        """Made by the dataclass, with a field named `self`."""

        self: int

    return NamedSelf


# Each shape with calls to make it: (args, kwargs).
SHAPES: list[tuple[Callable[[Decorate, Decorate], type], list[Any]]] = [
    (_plain, [((1, "x", (2,)), {}), ((1,), {"c": (), "b": "y"}), ((), {"a": 0, "b": "", "c": ()})]),
    (
        _defaults,
        [
            ((1,), {}),
            ((1, "q", [3]), {}),
            ((1,), {"d": {"k": 1}, "e": 4}),
            ((1, "x", [], {}, 5, 6, 7), {}),
        ],
    ),
    (_keywords, [((1,), {"f": 1}), ((1, 9), {"b": 8, "d": ["x"], "f": 1}), ((), {"a": 1, "f": 0})]),
    (_not_in_init, [((1,), {}), ((), {"a": 2})]),
    (_post_init, [((3,), {}), ((), {"a": 0})]),
    (_empty, [((), {})]),
    (_one, [((1.5,), {}), ((float("nan"),), {})]),
    (_child, [((1,), {}), ((1, 2, "z"), {}), ((), {"a": 1, "c": "y"})]),
    (_own_eq, [((1,), {})]),
    (_init_var, [((2,), {}), ((2, 3), {})]),
    (_named_self, [((1,), {}), ((), {"self": 2})]),
]

# Calls that fail: the same exception and message from both.
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1, 2, 3, 4, 5, 6, 7, 8), {}),
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


def _error(do: Callable[..., Any], *args: Any) -> tuple[type, str]:
    with pytest.raises(Exception) as caught:
        do(*args)
    return type(caught.value), str(caught.value)


def _done(do: Callable[..., Any], *args: Any) -> tuple[type, str] | None:
    """None when `do(*args)` returns, else its exception's type and message."""
    try:
        do(*args)
    except Exception as exc:
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "mutable"])
@pytest.mark.parametrize(("make", "calls"), SHAPES, ids=lambda v: getattr(v, "__name__", ""))
def test_classes_and_objects_are_the_dataclass_s(
    make: Callable[[Decorate, Decorate], type], calls: list[Any], frozen: bool
) -> None:
    plain, made = _twins(make, frozen)
    assert str(inspect.signature(plain)) == str(inspect.signature(made))
    assert plain.__init__.__qualname__ == made.__init__.__qualname__
    assert plain.__init__.__annotations__ == made.__init__.__annotations__
    assert plain.__doc__ == made.__doc__
    assert plain.__match_args__ == made.__match_args__
    assert plain.__slots__ == made.__slots__
    assert repr(plain.__dataclass_params__) == repr(made.__dataclass_params__)
    assert [repr(f) for f in dataclasses.fields(plain)] == [
        repr(f) for f in dataclasses.fields(made)
    ]
    for name in ("__eq__", "__hash__", "__setattr__", "__delattr__", "__repr__"):
        assert (name in vars(plain)) == (name in vars(made)), name
        if callable(vars(plain).get(name)):
            assert vars(plain)[name].__qualname__ == vars(made)[name].__qualname__
    for args, kwargs in [*calls, *BAD_CALLS]:
        a, b = _outcome(plain, args, kwargs), _outcome(made, args, kwargs)
        if isinstance(a, tuple) and isinstance(a[0], type):
            assert a == b, (args, kwargs)
            continue
        assert type(b) is made
        assert _state(a) == _state(b)
        assert repr(a) == repr(b)
        assert (a == a) == (b == b)
        assert (a == 1) == (b == 1)
        if plain.__dataclass_params__.eq and _hashable(a):
            assert hash(a) == hash(b)
        if "<unset>" not in _state(b).values():
            assert (a == copy.copy(a)) == (b == copy.copy(b))
            assert _state(copy.deepcopy(b)) == _state(b)
            assert b.__getstate__() == a.__getstate__()
            again = dataclasses.replace(b)
            assert type(again) is made and _state(again) == _state(b)
        for name in (f.name for f in dataclasses.fields(b)):
            assert _done(setattr, a, name, 1) == _done(setattr, b, name, 1)
            assert _done(delattr, a, name) == _done(delattr, b, name)
            assert _state(a) == _state(b)
        # Another name: the frozen dataclass of Python 3.11 fails within its `__setattr__`
        # (a TypeError: its `super()` names the class before the slots were added).
        assert _done(setattr, b, "other", 1) in {
            (dataclasses.FrozenInstanceError, "cannot assign to field 'other'"),
            _done(setattr, a, "other", 1),
        }


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "mutable"])
@pytest.mark.parametrize(
    ("make", "by_dataclass"),
    [(_plain, False), (_keywords, False), (_not_in_init, False), (_child, True), (_own_eq, True)],
)
def test_record_compiles_no_method_unless_the_dataclass_makes_the_class(
    make: Callable[[Decorate, Decorate], type], by_dataclass: bool, frozen: bool
) -> None:
    made = make(record(frozen=frozen), record(frozen=frozen, eq=False))
    shown = vars(made)["__repr__"].__code__.co_filename
    assert shown.endswith("dataclasses.py" if by_dataclass else "frozen.py")


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def test_a_factory_is_called_for_each_object() -> None:
    made: Any = _defaults(record, record)
    one, two = made(1), made(1)
    assert one.c == [] and one.c is not two.c
    given = [1]
    assert made(1, "b", given).c is given


def test_a_field_without_a_default_after_one_with_is_refused_as_the_dataclass_does() -> None:
    def define(decorate: Decorate) -> type:
        @decorate
        class Late:
            a: int = 0
            b: str

        return Late

    assert _error(define, _frozen()) == _error(define, record)


@record
class Pickled:
    """Pickled as the dataclass pickles it."""

    a: int
    b: list[str] = field(default_factory=list)
    c: str = field(default="c", kw_only=True)


@record
class Reduced:
    """Pickled by its own `__reduce__`."""

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


def test_annotations_resolve_in_the_class_s_module() -> None:
    made: Any = _plain(record, record)
    assert made.__init__.__module__ == __name__
    assert made.__init__.__globals__ is globals()


def test_records_of_one_shape_take_their_own_argument_names() -> None:
    @record
    class First:
        """Two fields."""

        x: int
        y: str

    @record
    class Second:
        """Two fields of other names."""

        p: int
        q: str

    assert First(y="s", x=1) == First(1, "s")
    assert Second(q="s", p=1) == Second(1, "s")
    assert _error(First, 1) == (TypeError, _message(First, "y"))
    assert _error(Second, 1) == (TypeError, _message(Second, "q"))


def _message(cls: type, name: str) -> str:
    return f"{cls.__qualname__}.__init__() missing 1 required positional argument: {name!r}"
