"""Report formats: pure functions of a report that yield text in chunks.

Chunks let the CLI write a report of any size without holding it whole in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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
        body = json.dumps(printable_json(item), indent=2, ensure_ascii=False).replace(
            "\n", "\n" + inner
        )
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
