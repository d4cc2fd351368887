"""Edits as an RFC 6902 JSON patch, for an object held as JSON (an admission request).

The patch does what `yamledit` does to a file: a SET makes the mappings above its key, a
DELETE removes the mapping or list it empties, an APPEND adds a value a list lacks. Each
edit becomes the fewest operations that do it, computed against the object as the
operations before it left it, so the patch applies in order to the unedited object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from deploysafe.errors import InputError
from deploysafe.fix.paths import child, dotted
from deploysafe.fix.yamledit import order
from deploysafe.frozen import record
from deploysafe.model import KeyPath
from deploysafe.rules.base import Edit, EditOp, plain

Op = dict[str, Any]


class PatchRefused(InputError):
    """An edit that does not fit the object (a key path through a scalar, say)."""


@record
class Patch:
    ops: tuple[Op, ...]
    patched: Any  # the object with the ops applied (a new object; the input is untouched)


def pointer(path: KeyPath) -> str:
    """The RFC 6901 pointer of a key path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def patch_for(obj: Mapping[str, Any], edits: Sequence[Edit]) -> Patch:
    """The operations that apply `edits` to `obj`; raises PatchRefused."""
    doc = copy.deepcopy(dict(obj))
    ops: list[Op] = []
    for edit in order(edits):
        op = _op(doc, edit)
        if op is not None:
            _apply(doc, op)
            ops.append(op)
    return Patch(tuple(ops), doc)


def _op(doc: dict[str, Any], edit: Edit) -> Op | None:
    if edit.op is EditOp.DELETE:
        return _delete(doc, edit.path)
    # Walk down to the parent; the first key missing there takes the rest as one new value.
    node: Any = doc
    for i, key in enumerate(edit.path[:-1]):
        below = child(node, key)
        if below is None:
            if not (isinstance(node, dict) and isinstance(key, str)):
                raise PatchRefused(f"{dotted(edit.path[: i + 1])} cannot be made")
            value = _leaf(edit)
            for k in reversed(edit.path[i + 1 :]):
                value = {k: value}
            return {"op": "add", "path": pointer(edit.path[: i + 1]), "value": value}
        if not isinstance(below, dict | list):
            raise PatchRefused(f"{dotted(edit.path[: i + 1])} is not a mapping or a list")
        node = below
    key = edit.path[-1]
    current = child(node, key)
    where = pointer(edit.path)
    if edit.op is EditOp.APPEND:
        if current is None:
            return _set(node, key, where, [plain(edit.value)])
        if not isinstance(current, list):
            raise PatchRefused(f"{dotted(edit.path)} is not a list")
        if plain(edit.value) in current:
            return None
        return {"op": "add", "path": where + "/-", "value": plain(edit.value)}
    return _set(node, key, where, plain(edit.value))


def _leaf(edit: Edit) -> Any:
    return [plain(edit.value)] if edit.op is EditOp.APPEND else plain(edit.value)


def _set(node: Any, key: str | int, where: str, value: Any) -> Op:
    if isinstance(node, list):
        if not isinstance(key, int) or not 0 <= key < len(node):
            raise PatchRefused(f"list index {key} does not exist")
        return {"op": "replace", "path": where, "value": value}
    if not isinstance(key, str):
        raise PatchRefused(f"cannot set {key}: not inside a mapping")
    return {"op": "replace" if key in node else "add", "path": where, "value": value}


def _delete(doc: dict[str, Any], path: KeyPath) -> Op | None:
    """Remove the node at `path` and every ancestor that holds nothing else."""
    nodes: list[Any] = [doc]
    for key in path:
        below = child(nodes[-1], key)
        if below is None and not (isinstance(nodes[-1], dict) and key in nodes[-1]):
            return None  # already gone
        nodes.append(below)
    depth = len(path)
    while depth > 1 and len(nodes[depth - 1]) == 1:
        depth -= 1
    return {"op": "remove", "path": pointer(path[:depth])}


def _apply(doc: dict[str, Any], op: Op) -> None:
    """One operation of our own making (add, replace, remove), applied in place."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    node: Any = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        if op["op"] == "remove":
            del node[int(last)]
        elif last == "-":
            node.append(copy.deepcopy(op["value"]))
        else:
            node[int(last)] = copy.deepcopy(op["value"])
    elif op["op"] == "remove":
        del node[last]
    else:
        node[last] = copy.deepcopy(op["value"])
