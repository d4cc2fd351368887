"""Edits on YAML node paths, applied so that the file stays as its author wrote it.

ruamel.yaml's round-trip mode keeps comments, key order, quoting and flow style, but a
dump still re-indents or re-wraps what it does not understand. So the edited stream is
never written as dumped: the lines an edit changed are found by diffing the dump of the
unedited stream with the dump of the edited one, and only those lines are spliced into the
original text, between lines the original and the dump agree on. When they do not agree
around an edit, the file is refused rather than reformatted.
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
from ruamel.yaml.tokens import CommentToken

from deploysafe.errors import InputError
from deploysafe.fix.paths import child, dotted
from deploysafe.model import KeyPath
from deploysafe.rules.base import Edit, EditOp, FlowMap

BOM = "\ufeff"
# The key of the edits for a file of one document that has no `kind:` (a CI file).
WHOLE_FILE = 0


class EditRefused(InputError):
    """A file the fix layer will not write, with the reason (the file stays untouched)."""


def apply_text(text: str, edits: Mapping[int, Sequence[Edit]]) -> str:
    """`text` with `edits` applied to the objects whose `kind:` key is on the given line
    (WHOLE_FILE: the file's only document).

    Keeps a byte-order mark and CRLF line endings; raises EditRefused when an edit cannot be
    made or cannot be made without touching lines it does not own."""

    def pick(docs: list[Any]) -> Iterator[tuple[Any, Sequence[Edit]]]:
        by_line = {_kind_line(doc): doc for doc in docs if _kind_line(doc) is not None}
        if len(docs) == 1:
            by_line.setdefault(WHOLE_FILE, docs[0])
        for line, doc_edits in sorted(edits.items()):
            if line not in by_line:
                raise EditRefused(f"has no object whose kind is on line {line} (inside a List?)")
            yield by_line[line], doc_edits

    return _edited(text, pick)


def apply_first(text: str, edits: Sequence[Edit]) -> str:
    """`text` with `edits` applied to its first document, which need not have a `kind:`
    (a kustomization), kept as `apply_text` keeps a file."""

    def pick(docs: list[Any]) -> Iterator[tuple[Any, Sequence[Edit]]]:
        if not docs or not isinstance(docs[0], CommentedMap):
            raise EditRefused("does not hold a mapping to edit")
        yield docs[0], edits

    return _edited(text, pick)


def _edited(text: str, pick: Callable[[list[Any]], Iterator[tuple[Any, Sequence[Edit]]]]) -> str:
    bom = text.startswith(BOM)
    body = text[1:] if bom else text
    crlf = "\r\n" in body
    if crlf:
        body = body.replace("\r\n", "\n")
    yaml = round_trip(body)
    try:
        base_docs = list(yaml.load_all(body))
        docs = list(yaml.load_all(body))
    except YAMLError as exc:
        raise EditRefused(f"cannot be parsed for editing: {_first_line(exc)}") from None
    for doc, doc_edits in pick(docs):
        for edit in order(doc_edits):
            _apply(doc, edit)
    base = _dump(yaml, base_docs)
    edited = _dump(yaml, docs)
    out = splice(body, base, edited)
    _reads_back(yaml, out, docs)
    if crlf:
        out = out.replace("\n", "\r\n")
    return (BOM if bom else "") + out


def _reads_back(yaml: YAML, text: str, docs: list[Any]) -> None:
    """Fail closed: the spliced text must load as the edited tree, key order included (a
    line put at the wrong indent can still parse: as a script's text, or another key's)."""
    try:
        again = list(yaml.load_all(text))
        same = again == docs
    except (YAMLError, RecursionError):
        same = False
    if not same:
        raise EditRefused("would not read back as the fix wrote it")


def _kind_line(doc: Any) -> int | None:
    if isinstance(doc, CommentedMap) and "kind" in doc:
        return int(doc.lc.key("kind")[0]) + 1
    return None


def order(edits: Sequence[Edit]) -> list[Edit]:
    """Sets and appends first, then deletions from the last list index back, so that every
    path still names the node it named in the unedited document."""
    unique = list(dict.fromkeys(edits))
    keep = [e for e in unique if e.op is not EditOp.DELETE]
    drop = [e for e in unique if e.op is EditOp.DELETE]
    drop.sort(key=lambda e: tuple(p if isinstance(p, int) else -1 for p in e.path), reverse=True)
    return keep + drop


def round_trip(text: str = "") -> YAML:
    """ruamel's round-trip loader and dumper, set to write as `text` is written."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap a long line
    mapping, offset = guess_indent(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def guess_indent(text: str) -> tuple[int, int]:
    """The file's most common mapping indent and the dash's offset under a key, so that the
    dump of the unedited file agrees with it on as many lines as possible."""
    maps: Counter[int] = Counter()
    dashes: Counter[int] = Counter()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for here, below in itertools.pairwise(lines):
        if not here.rstrip().endswith(":"):
            continue
        col = len(here) - len(here.lstrip())
        if here.lstrip().startswith("- "):
            col += 2
        step = len(below) - len(below.lstrip()) - col
        if below.lstrip().startswith("- "):
            dashes[max(step, 0)] += 1
        elif step > 0:
            maps[step] += 1
    mapping = maps.most_common(1)[0][0] if maps else 2
    return mapping, dashes.most_common(1)[0][0] if dashes else 0


def _dump(yaml: YAML, docs: list[Any]) -> str:
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def splice(original: str, base: str, edited: str) -> str:
    """`original` with the hunks that turn `base` into `edited`, where `base` is the
    original as the dumper writes it: each hunk must be placed by lines of `base` that
    are lines of `original` too (see `_locate`).

    Lines are matched by their text after the indent, because the dumper writes one indent
    for the whole file: a job whose steps are indented unlike the others, or a script
    deeper than its key, reads the same to it one shift apart. A hunk's lines are moved by
    the shift of the line they hang under, so they land in the original's indent."""
    unterminated = bool(original) and not original.endswith("\n")
    orig_lines = (original + "\n" if unterminated else original).splitlines(keepends=True)
    base_lines = base.splitlines(keepends=True)
    edit_lines = edited.splitlines(keepends=True)
    to_orig: dict[int, int] = {len(base_lines): len(orig_lines)}
    matcher = difflib.SequenceMatcher(
        None, [_text(x) for x in orig_lines], [_text(x) for x in base_lines], autojunk=False
    )
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                to_orig[j1 + k] = i1 + k
    hunks = difflib.SequenceMatcher(None, base_lines, edit_lines, autojunk=False).get_opcodes()
    out = list(orig_lines)
    for tag, b1, b2, e1, e2 in reversed(hunks):  # from the end, so indices stay valid
        if tag == "equal":
            continue
        start = _locate(b1, b2, to_orig)
        if start is None:
            near = next((to_orig[k] + 2 for k in range(b1 - 1, -1, -1) if k in to_orig), 1)
            raise EditRefused(
                f"cannot be edited without rewriting lines the fix does not own (near line {near})"
            )
        shift = _shift(edit_lines[e1:e2], b1, b2, base_lines, orig_lines, to_orig)
        new = [_moved(line, shift) for line in edit_lines[e1:e2]]
        if b2 - b1 == e2 - e1:
            new = [
                _comment_gap(o, n) for o, n in zip(out[start : start + (b2 - b1)], new, strict=True)
            ]
        out[start : start + (b2 - b1)] = new
    text = "".join(out)
    return text[:-1] if unterminated and text.endswith("\n") else text


def _locate(b1: int, b2: int, to_orig: Mapping[int, int]) -> int | None:
    """Where the base lines `b1:b2` start in the original. Lines a hunk replaces must all be
    the original's, in a row; lines it inserts go next to a neighbour that is the original's
    (either one: the dumper may write the other unlike the original, `[ a ]` as `[a]`)."""
    if b2 > b1:
        starts = {to_orig[k] - (k - b1) if k in to_orig else -1 for k in range(b1, b2)}
        start = starts.pop()
        return start if start >= 0 and not starts else None
    sides = set()
    if b1 == 0:
        sides.add(0)
    elif b1 - 1 in to_orig:
        sides.add(to_orig[b1 - 1] + 1)
    if b2 in to_orig:
        sides.add(to_orig[b2])
    return sides.pop() if len(sides) == 1 else None


def _text(line: str) -> str:
    return line.lstrip(" ")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _structural(line: str) -> bool:
    """A line that places nodes: comments are written as they were read, not re-indented."""
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _shift(
    new: Sequence[str],
    b1: int,
    b2: int,
    base: Sequence[str],
    orig: Sequence[str],
    to_orig: Mapping[int, int],
) -> int:
    """How far the original's indent is from the dumper's where `new` (replacing base lines
    `b1:b2`) goes: that of the nearest line it hangs under, a line at or left of its
    shallowest line (a sibling or a parent; a script's lines are deeper) that is one of the
    original's."""
    levels = [_indent(x) for x in new if _structural(x)]
    if not levels:
        return 0
    level = min(levels)
    for k in itertools.chain(range(b1, b2), range(b1 - 1, -1, -1)):
        if k in to_orig and _structural(base[k]) and _indent(base[k]) <= level:
            return _indent(orig[to_orig[k]]) - _indent(base[k])
    return 0


def _moved(line: str, shift: int) -> str:
    if not _structural(line) or shift == 0:
        return line
    if shift > 0:
        return " " * shift + line
    return line[-shift:]  # every line is at or right of the one the shift was read from


_COMMENT = re.compile(r"([ \t]+)(#[^\n]*)(\n?)\Z")


def _comment_gap(old: str, new: str) -> str:
    """`new` with the space before its end-of-line comment as `old` had it: the dumper
    writes one space before a comment on a line it rewrote (a flow mapping that grew)."""
    was, now = _COMMENT.search(old), _COMMENT.search(new)
    if was is None or now is None or was.group(2) != now.group(2) or was.group(1) == now.group(1):
        return new
    return new[: now.start()] + was.group(1) + now.group(2) + now.group(3)


# --- edits on the node tree -------------------------------------------------------------


def _apply(doc: Any, edit: Edit) -> None:
    carried: list[tuple[Any, str | None]] = []
    parent = _walk(doc, edit.path[:-1], create=edit.op is not EditOp.DELETE, carried=carried)
    if parent is None:
        return  # deleting what is already gone
    _edit(parent, doc, edit)
    for holder, trailing in carried:  # now that the new mapping has its last entry
        _give_trailing(holder, trailing)


def _edit(parent: Any, doc: Any, edit: Edit) -> None:
    key = edit.path[-1]
    if edit.op is EditOp.SET:
        _set(parent, key, _node(edit.value), edit.before)
    elif edit.op is EditOp.APPEND:
        current = child(parent, key)
        if current is None:
            seq = CommentedSeq()
            if not isinstance(edit.value, FlowMap) or edit.value.flow:
                seq.fa.set_flow_style()
            _set(parent, key, seq)
            current = seq
        if not isinstance(current, CommentedSeq):
            raise EditRefused(f"{dotted(edit.path)} is not a list")
        if edit.value not in current:
            _append(current, _node(edit.value))
    else:
        _delete(parent, key, _ancestors(doc, edit.path[:-1]))


def _ancestors(doc: Any, path: KeyPath) -> list[Any]:
    """The nodes above the one at `path` (which exists), the document first."""
    nodes, node = [], doc
    for key in path:
        nodes.append(node)
        node = child(node, key)
    return nodes


def _walk(
    doc: Any, path: KeyPath, *, create: bool, carried: list[tuple[Any, str | None]] | None = None
) -> Any:
    """The node at `path`; with `create`, the mappings missing on the way are added, and the
    trailing lines of the mapping that got one go to `carried` (to give back once the new
    mapping has entries: an empty one would take them between its key and its first entry)."""
    node = doc
    for i, key in enumerate(path):
        below = child(node, key)
        if below is None:
            if not (create and isinstance(node, CommentedMap) and isinstance(key, str)):
                if create:
                    raise EditRefused(f"{dotted(path[: i + 1])} cannot be created")
                return None
            if key in node and node[key] is not None:
                raise EditRefused(f"{dotted(path[: i + 1])} is not a mapping")
            below = CommentedMap()
            trailing = _take_trailing(node)
            node[key] = below
            if carried is not None:
                carried.append((node, trailing))
        elif not isinstance(below, (CommentedMap, CommentedSeq)):
            raise EditRefused(f"{dotted(path[: i + 1])} is not a mapping or a list")
        node = below
    return node


def _node(value: Any) -> Any:
    """A new value: lists and mappings in flow style (`[ALL]`, `{type: RuntimeDefault}`)."""
    if isinstance(value, FlowMap):
        m = CommentedMap((k, _node(v)) for k, v in value.pairs)
        if value.flow:
            m.fa.set_flow_style()
        return m
    if isinstance(value, tuple):
        s = CommentedSeq(_node(v) for v in value)
        s.fa.set_flow_style()
        return s
    return value


def _set(parent: Any, key: str | int, value: Any, before: str | None = None) -> None:
    if isinstance(parent, CommentedSeq):
        if not isinstance(key, int) or not 0 <= key < len(parent):
            raise EditRefused(f"list index {key} does not exist")
        _replace(parent, key, value)
        return
    if not isinstance(parent, CommentedMap) or not isinstance(key, str):
        raise EditRefused(f"cannot set {key}: not inside a mapping")
    if key in parent:
        _replace(parent, key, value)
        return
    if before is not None and before in parent:
        at = list(parent).index(before)
        prior = list(parent)[at - 1] if at else None
        # The new key follows the entry before it directly, as one added at the end would.
        trailing = None
        if prior is not None:
            trailing = _take_trailing(parent[prior]) or _take_from(parent, prior)
        parent.insert(at, key, value)
        if trailing:
            owner, last = _last(value) or (parent, key)
            _give_to(owner, last, trailing)
        return
    trailing = _take_trailing(parent)
    parent[key] = value
    _give_trailing(parent, trailing)


def _replace(parent: Any, key: str | int, value: Any) -> None:
    """Set an existing entry; the lines that trailed a block value it had trail the new one."""
    trailing = _take_trailing(parent[key])
    parent[key] = value
    if trailing:
        owner, last = _last(value) or (parent, key)
        _give_to(owner, last, trailing)


def _append(seq: CommentedSeq, value: Any) -> None:
    trailing = _take_trailing(seq)
    seq.append(value)
    _give_trailing(seq, trailing)


def _delete(
    parent: Any, key: str | int, ancestors: Sequence[Any] = (), carried: str | None = None
) -> None:
    """Delete `key`, and the key of a mapping or list the deletion empties (an empty
    `securityContext: {}` says nothing). The comment lines after what went move to what now
    comes last before them."""
    if isinstance(parent, CommentedMap) and key in parent:
        last = list(parent)[-1] == key
    elif isinstance(parent, CommentedSeq) and isinstance(key, int) and 0 <= key < len(parent):
        last = key == len(parent) - 1
    else:
        return
    trailing = (carried or "") + ((_take_trailing(parent) if last else None) or "")
    del parent[key]
    if not parent and ancestors:
        holder = ancestors[-1]
        owner_key = next(k for k in _keys(holder) if holder[k] is parent)
        _delete(holder, owner_key, ancestors[:-1], trailing)
    elif parent:
        _give_trailing(parent, trailing)


def _keys(node: Any) -> list[Any]:
    return list(node) if isinstance(node, CommentedMap) else list(range(len(node)))


# A collection's trailing comment lines and blank lines hang on its deepest last node; a
# node added after it (or the last one removed) would otherwise carry them off.


def _slot(node: Any) -> int:
    return 2 if isinstance(node, CommentedMap) else 0


def _last(node: Any) -> tuple[Any, Any] | None:
    """The block collection holding the deepest last entry of `node`, and that entry's key."""
    found = None
    while isinstance(node, (CommentedMap, CommentedSeq)) and node and not node.fa.flow_style():
        key = list(node)[-1] if isinstance(node, CommentedMap) else len(node) - 1
        found = (node, key)
        node = node[key]
    return found


def _take_trailing(node: Any) -> str | None:
    found = _last(node)
    return None if found is None else _take_from(*found)


def _take_from(owner: Any, key: Any) -> str | None:
    """The whole lines after the entry `key` of `owner`, taken off it."""
    entry = owner.ca.items.get(key)
    slot = _slot(owner)
    if not entry or len(entry) <= slot or entry[slot] is None:
        return None
    token = entry[slot]
    value = token.value
    # A block scalar (`|`, `>`) ends its own last line: all of the token is lines after it.
    block = isinstance(owner[key], (LiteralScalarString, FoldedScalarString))
    cut = 0 if block else value.find("\n") + 1
    if (cut <= 0 and not block) or cut >= len(value):
        return None
    if cut:
        token.value = value[:cut]
    else:
        entry[slot] = None
    return str(value[cut:])


def _give_trailing(node: Any, text: str | None) -> None:
    if not text:
        return
    found = _last(node)
    if found is not None:
        _give_to(*found, text)


def _give_to(owner: Any, key: Any, text: str) -> None:
    """`text` (whole lines) after the entry `key` of `owner`."""
    slot = _slot(owner)
    entry = owner.ca.items.setdefault(key, [None] * (4 if slot == 2 else 2))
    while len(entry) <= slot:
        entry.append(None)
    if entry[slot] is None:
        # A block scalar (`|`, `>`) ends its own last line.
        ends_line = isinstance(owner[key], (LiteralScalarString, FoldedScalarString))
        entry[slot] = CommentToken(("" if ends_line else "\n") + text, CommentMark(0), None)
    else:
        entry[slot].value = entry[slot].value + text
