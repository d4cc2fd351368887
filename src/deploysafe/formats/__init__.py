"""Report formats: pure functions of a report that yield text in chunks.

Chunks let the CLI write a report of any size without holding it whole in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

_MARK = "__deploysafe_stream_here__"


def stream_json(doc: Any, holder: dict[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """`json.dumps(doc, indent=2)` where `holder[key]` is the list `items`, produced one
    item at a time; the text is the same as dumping the whole document at once."""
    holder[key] = _MARK
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    before, after = text.split(json.dumps(_MARK), 1)
    line_start = before.rfind("\n") + 1
    ws = before[
        line_start : line_start + len(before[line_start:]) - len(before[line_start:].lstrip())
    ]
    inner = ws + "  "
    yield before + "["
    empty = True
    for item in items:
        body = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n" + inner)
        yield ("\n" if empty else ",\n") + inner + body
        empty = False
    yield ("]" if empty else "\n" + ws + "]") + after + "\n"
