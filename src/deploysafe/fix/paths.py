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


def child(node: Any, key: str | int) -> Any:
    """`node[key]` in plain data, or None where `node` has no such key or index."""
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def at(data: Any, path: KeyPath) -> Any:
    """The node at `path` in plain data, or None where the path leads nowhere."""
    for key in path:
        data = child(data, key)
        if data is None:
            return None
    return data


def dotted(path: KeyPath) -> str:
    """A key path as messages show it: `spec.containers.0.securityContext`."""
    return ".".join(str(p) for p in path)
