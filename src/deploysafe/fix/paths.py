"""From a finding's JSON pointer back to the key path its rule named."""

from __future__ import annotations

from typing import Any

from deploysafe.model import KeyPath


def path_of(data: Any, pointer: str) -> KeyPath:
    """The key path an RFC 6901 pointer names, list indices as ints where `data` has lists."""
    path: list[str | int] = []
    node = data
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit():
            path.append(int(part))
            node = node[int(part)] if int(part) < len(node) else None
        else:
            path.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return tuple(path)
