"""Records: slotted dataclasses, frozen unless made with `frozen=False`, made for a
fraction of what the dataclass costs. A scan imports a hundred such classes before its
workers start, and `@dataclass(frozen=True, slots=True)` compiles six methods for each
(`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`), about half a
millisecond a class. `record` makes the `__init__` from code compiled once for all classes
of its shape (most take a few fields, each an argument without a factory), its arguments
then given their fields' names; the other methods are shared code bound to the class's
field names. The `__init__` sets each field through its slot's descriptor, bound once,
where a frozen dataclass's calls `object.__setattr__(self, name, value)` (the class's
`__setattr__` refuses), which looks the name up on the class each time: about 40% fewer
instructions an object, for the tens of thousands of findings, facts and documents a scan
makes."""

from __future__ import annotations

import _thread
import dataclasses
import functools
import inspect
import sys
import types
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")

# What a class may define itself only if the dataclass makes it: `record` makes these.
_MADE = (
    "__init__",
    "__repr__",
    "__eq__",
    "__hash__",
    "__setattr__",
    "__delattr__",
    "__getstate__",
    "__setstate__",
)


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(*, eq: bool = True, frozen: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[T] | None = None, /, *, eq: bool = True, frozen: bool = True) -> Any:
    """`@dataclass(frozen=frozen, slots=True, eq=eq)`: the same class, a dataclass with the
    same fields, parameters, methods and errors (`dataclasses.fields`, `replace` and pickle
    work as on the dataclass's), made without compiling its methods. A shape it does not
    make (a dataclass base, a method of the list above, an `InitVar`, a field named `self`
    or with two leading underscores, a base's `__setattr__` that the dataclass's `__init__`
    of a class not frozen would call) is left to the dataclass."""

    def make(cls: type[T]) -> type[T]:
        if _made_by_dataclass(cls, frozen):
            made: type[T] = dataclasses.dataclass(cls, frozen=frozen, slots=True, eq=eq)
            return made
        return _record(cls, eq, frozen)

    return make if cls is None else make(cls)


def _made_by_dataclass(cls: type, frozen: bool) -> bool:
    annotations = vars(cls).get("__annotations__", {})
    return (
        any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:])
        or any(name in vars(cls) for name in _MADE)
        or any(name == "self" or name.startswith("__") for name in annotations)
        or any("InitVar" in str(kind) for kind in annotations.values())
        or (not frozen and any("__setattr__" in vars(base) for base in cls.__mro__[1:-1]))
    )


def _record(cls: type[T], eq: bool, frozen: bool) -> type[T]:
    documented = bool(vars(cls).get("__doc__"))
    # Made with no method and not frozen, so that the dataclass compiles none (a frozen
    # one compiles `__setattr__` and `__delattr__`): `record` adds them all.
    made: type[Any] = dataclasses.dataclass(cls, init=False, repr=False, eq=False, slots=True)
    every = dataclasses.fields(made)
    names = tuple(f.name for f in every)
    methods: dict[str, Callable[..., Any] | None] = {
        "__init__": _init(made, every),
        "__repr__": _repr(tuple(f.name for f in every if f.repr)),
    }
    if frozen:
        methods["__setattr__"] = _setattr(made, names)
        methods["__delattr__"] = _delattr(made, names)
        methods["__getstate__"] = _getstate(names)
        methods["__setstate__"] = _setstate(made, names)
    if eq:
        methods["__eq__"] = _eq(tuple(f.name for f in every if f.compare))
        hashed = (f.name for f in every if (f.compare if f.hash is None else f.hash))
        methods["__hash__"] = _hash(tuple(hashed)) if frozen else None  # mutable: unhashable
    for name, method in methods.items():
        if method is not None:
            method.__qualname__ = f"{made.__qualname__}.{name}"
            method.__module__ = made.__module__
        type.__setattr__(made, name, method)
    # The class's parameters, made for the call above: those it was made with.
    params = vars(made)["__dataclass_params__"]
    params.init = params.repr = True
    params.eq, params.frozen = eq, frozen
    if not documented:  # the dataclass names the class with its signature, as made now
        signature = str(inspect.signature(made)).replace(" -> None", "")
        type.__setattr__(made, "__doc__", made.__name__ + signature)
    return made


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of an object's values of `names`, as the dataclass compares and hashes."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(names: tuple[str, ...]) -> Callable[[Any, Any], Any]:
    values = _values(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    running: set[tuple[int, int]] = set()

    def __repr__(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in running:  # an object that holds itself
            return "..."
        running.add(key)
        try:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _setattr(owner: type[Any], names: tuple[str, ...]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)

    return __setattr__


def _delattr(owner: type[Any], names: tuple[str, ...]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)

    return __delattr__


def _getstate(names: tuple[str, ...]) -> Callable[[Any], list[Any]]:
    values = _values(names)

    def __getstate__(self: Any) -> list[Any]:
        return list(values(self))

    return __getstate__


def _setstate(cls: type, names: tuple[str, ...]) -> Callable[[Any, list[Any]], None]:
    setters = [_slot(cls, name).__set__ for name in names]

    def __setstate__(self: Any, state: list[Any]) -> None:
        for put, value in zip(setters, state, strict=False):
            put(self, value)

    return __setstate__


def _slot(cls: type, name: str) -> types.MemberDescriptorType:
    """The descriptor of the slot that holds `name` on instances of `cls`."""
    held = vars(cls)[name]
    assert type(held) is types.MemberDescriptorType
    return held


class _Factory:
    """The default of an argument whose field's is made by a factory: what the dataclass's
    `__init__` gives, shown as it shows it."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _init(cls: type, every: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """The dataclass's `__init__` for a frozen slotted class: the same arguments, defaults
    and annotations, each field set through its slot, a `default_factory` called when its
    argument is not given, a field not in `__init__` set to its default, `__post_init__`
    called last. Its globals are the class's module's, as the dataclass's are."""
    bound: dict[str, Any] = {}
    body = []
    positional: list[str] = []  # the arguments, as the source names them
    keywords: list[str] = []
    names: dict[str, str] = {}  # the name of each argument, in the source
    defaults: list[Any] = []
    kwdefaults: dict[str, Any] = {}
    for i, f in enumerate(every):
        setter, arg = f"__set_{i}", f"__arg_{i}"
        bound[setter] = _slot(cls, f.name).__set__
        if f.default_factory is not dataclasses.MISSING:
            bound[f"__make_{i}"] = f.default_factory
            # An argument's default (`__factory`) says that the caller gave none.
            call = f"__make_{i}()"
            value = f"{call} if {arg} is __factory else {arg}" if f.init else call
        elif f.init:
            value = arg
        elif f.default is not dataclasses.MISSING:
            value = f"__default_{i}"
            bound[value] = f.default
        else:
            continue  # neither an argument nor a default: left unset, as the dataclass does
        body.append(f"        {setter}(self, {value})")
        if not f.init:
            continue
        names[arg] = f.name
        default = _FACTORY if f.default_factory is not dataclasses.MISSING else f.default
        if f.kw_only:
            keywords.append(arg)
            if default is not dataclasses.MISSING:
                kwdefaults[f.name] = default
        else:
            if default is not dataclasses.MISSING:
                defaults.append(default)
            elif defaults:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            positional.append(arg)
    if hasattr(cls, "__post_init__"):
        body.append("        self.__post_init__()")
    bound["__factory"] = _FACTORY
    args = ["self", *positional, *(["*", *keywords] if keywords else [])]
    source = "\n".join(
        [
            f"def __make__({', '.join(bound)}):",
            f"    def __init__({', '.join(args)}):",
            *(body or ["        pass"]),
            "    return __init__",
        ]
    )
    module = sys.modules.get(cls.__module__)
    scope: dict[str, Any] = {}
    exec(_compiled(source), vars(module) if module is not None else {}, scope)
    made: types.FunctionType = scope["__make__"](**bound)
    code = made.__code__
    made.__code__ = code.replace(co_varnames=tuple(names.get(n, n) for n in code.co_varnames))
    made.__defaults__ = tuple(defaults) or None
    made.__kwdefaults__ = kwdefaults or None
    made.__annotations__ = {f.name: f.type for f in every if f.init} | {"return": None}
    return made


@functools.cache
def _compiled(source: str) -> types.CodeType:
    """The code of an `__init__`'s source: its arguments are named by position, so most
    records (a few fields, each an argument without a factory) share one, compiled once."""
    return compile(source, "<string>", "exec")
