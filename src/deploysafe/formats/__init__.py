"""Report formats: pure functions of a report that yield text in chunks.

Chunks let the CLI write a report of any size without holding it whole in memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring
from typing import Any

from deploysafe.printable import printable

_MARK = "__deploysafe_stream_here__"


def rule_url(rule_id: str) -> str:
    """A rule's page in the repository: where a report that leaves the clone links to."""
    return f"https://github.com/deploysafe/deploysafe/blob/main/docs/rules/{rule_id}.md"


def stream_json(doc: Any, holder: dict[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """`json.dumps(doc, indent=2)` where `holder[key]` is the list `items`, produced one
    item at a time; the text is the same as dumping the whole document at once."""
    holder[key] = _MARK
    text = json.dumps(printable_json(doc), indent=2, ensure_ascii=False)
    before, after = text.split(json.dumps(_MARK), 1)
    line_start = before.rfind("\n") + 1
    ws = before[
        line_start : line_start + len(before[line_start:]) - len(before[line_start:].lstrip())
    ]
    inner = ws + "  "
    yield before + "["
    empty = True
    for item in items:
        body = dump_printable(item, inner)
        yield ("\n" if empty else ",\n") + inner + body
        empty = False
    yield ("]" if empty else "\n" + ws + "]") + after + "\n"


def printable_json(value: Any) -> Any:
    """`value` with every string, keys included, in its printable form: JSON could carry
    controls, but not a file name that is not UTF-8, and every format shows a name alike."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {
            printable(k) if isinstance(k, str) else k: printable_json(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [printable_json(v) for v in value]
    return value


def dump_printable(value: Any, indent: str) -> str:
    """`json.dumps(printable_json(value), indent=2, ensure_ascii=False)` with `indent` before
    every line but the first, in one walk: the standard encoder's indented form runs in
    Python, a generator per level, and printable_json is a second walk; this is what a
    report of many findings spends its output time on."""
    return _dump(value, indent, _quoted_printable)


def _quoted_printable(text: str) -> str:
    return encode_basestring(printable(text))


def _dump(value: Any, indent: str, quote: Callable[[str], str]) -> str:
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{_key(k, quote)}: {_dump(v, inner, quote)}" for k, v in value.items())
        return "{\n" + inner + (",\n" + inner).join(items) + "\n" + indent + "}"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        parts = (_dump(v, inner, quote) for v in value)
        return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]"
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any, quote: Callable[[str], str]) -> str:
    """A mapping key as the standard encoder writes it (made printable only when text)."""
    if isinstance(key, str):
        return quote(key)
    if isinstance(key, float):
        return encode_basestring(_float(key))
    if key is True or key is False or key is None:
        return encode_basestring({True: "true", False: "false", None: "null"}[key])
    if isinstance(key, int):
        return encode_basestring(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
