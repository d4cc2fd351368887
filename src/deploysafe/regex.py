"""Patterns compiled when first used: a scan imports most modules before its workers start,
and every pattern compiled then delays them, though few files need most of them."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


def on_first_use(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A function that gives `re.compile(pattern, flags)`, compiled on its first call."""
    return functools.cache(lambda: re.compile(pattern, flags))
