"""What is made on first use: a scan imports most modules before its workers start, and
everything made then delays them, though few files need most patterns and a plain scan
needs few of the engine's and the policy's modules."""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any


def on_first_use(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A function that gives `re.compile(pattern, flags)`, compiled on its first call."""
    return functools.cache(lambda: re.compile(pattern, flags))


def exports(package: str, modules: Mapping[str, str]) -> Callable[[str], Any]:
    """A package's module `__getattr__` (PEP 562) that re-exports each name of `modules`
    from the module named there, imported when the name is first asked for."""

    def get(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return get
