"""JSON from untrusted text with a bound on nesting.

`json.loads` recurses once per level: a value nested a few thousand levels deep (a
`.dockerconfigjson`, a JWT payload, a Dockerfile's exec form) ends in RecursionError, and
anything that walks the result recursively would fail the same way later. Real JSON of
the kinds deploysafe reads is a few levels deep.
"""

from __future__ import annotations

import json
import re
from typing import Any

from deploysafe.lazy import on_first_use

MAX_DEPTH = 64

_string = on_first_use(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_bracket = on_first_use(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """Valid or not, the text nests arrays and objects deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def loads(text: str | bytes) -> Any:
    """The data of a JSON text; ValueError when it is not JSON (json.JSONDecodeError) or
    is nested deeper than MAX_DEPTH (JsonTooDeep)."""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError
    if too_deep(text):
        raise JsonTooDeep
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - too_deep answers first
        raise JsonTooDeep from None


def too_deep(text: str) -> bool:
    """Brackets outside strings open more than MAX_DEPTH levels somewhere in `text`."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # the common case, at C speed
    depth = 0
    for m in _bracket().finditer(_string().sub('""', text)):
        depth += 1 if m.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False
