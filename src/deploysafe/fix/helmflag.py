"""The template conditions that keep a Helm chart from writing a field: charts often write
a security setting only when a values flag is on (`{{- if .Values.seccomp.enabled }}` around
`seccompProfile:`), and turning that flag on is the chart author's own way to fix it.

Only the template's text is read here: the block of the field's nearest written ancestor,
the line in it that writes the missing key, and the `if` / `with` / `range` actions opened
between the two. Whether the flag really writes what the fix wants is for a render to say
(helm.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from deploysafe.frozen import record
from deploysafe.model import Document, KeyPath
from deploysafe.rules.base import FlowMap

_FIELD = r"(?:\.[A-Za-z_]\w*)+"
_SIMPLE = re.compile(rf"^\$?\.Values({_FIELD})$")
_REF = re.compile(rf"(?<![\w.])(not\s+)?\$?\.Values({_FIELD})(?![\w.])")
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_OPENS = ("if", "with", "range")


@record
class Guard:
    """A block the template opens around the line that writes a missing key."""

    keyword: str  # if, with, range
    condition: str  # as written: `.Values.seccomp.enabled`, `and .Values.a .Values.b`
    has_else: bool  # the key is written in its `else` branch

    @property
    def flag(self) -> KeyPath | None:
        """The values key when the guard is `if .Values.a.b` and nothing more."""
        m = _SIMPLE.match(self.condition)
        if self.keyword != "if" or self.has_else or m is None:
            return None
        return tuple(m.group(1).strip(".").split("."))

    def wanted_on(self) -> tuple[KeyPath, ...]:
        """The values keys the condition reads that turning on would help (not under `not`)."""
        found = (m for m in _REF.finditer(self.condition) if not m.group(1))
        return tuple(dict.fromkeys(tuple(m.group(2).strip(".").split(".")) for m in found))


def guards(doc: Document, path: KeyPath) -> tuple[Guard, ...]:
    """The blocks, outermost first, opened inside the block of `path`'s nearest written
    ancestor around the line that would write the first key `doc` lacks; () when that
    block has no line for the key (or `path` is written)."""
    near = path
    while near and near not in doc.positions:
        near = near[:-1]
    if not near or near == path or not isinstance(path[len(near)], str):
        return ()
    spelled = near
    while len(spelled) > 1 and doc.positions[spelled] == doc.positions[spelled[:-1]]:
        spelled = spelled[:-1]
    if spelled != near:
        return ()  # a flow mapping, or a block a value fills: no line of its own
    line_no, column = doc.positions[near]
    lines = doc.lines
    if not 1 <= line_no <= len(lines):
        return ()
    at = _key_line(lines, line_no, column - 1, str(path[len(near)]))
    return () if at is None else _open_between(lines, line_no, at)


def _key_line(lines: Sequence[str], line_no: int, indent: int, key: str) -> int | None:
    """The line (1-based) of the block under `line_no` that writes `key` as a child."""
    own = re.compile(rf"^(\s*){re.escape(key)}\s*:(?:\s|$)")
    child: int | None = None
    for i in range(line_no, len(lines)):
        text = lines[i]
        if not text.strip():
            continue
        depth = len(text) - len(text.lstrip(" "))
        template_only = not _ACTION.sub("", text).strip()
        if template_only:
            continue  # a block may close at any indent (a chart's own slip included)
        if depth <= indent:
            return None
        child = depth if child is None else child
        m = own.match(text)
        if m and len(m.group(1)) == child:
            return i + 1
    return None


def _open_between(lines: Sequence[str], start: int, at: int) -> tuple[Guard, ...]:
    """The blocks opened after line `start` and still open at line `at`."""
    text = "\n".join(lines[start : at - 1])
    stack: list[Guard] = []
    for m in _ACTION.finditer(text):
        body = m.group(1)
        word = body.split(None, 1)[0] if body.split() else ""
        if word in _OPENS:
            stack.append(Guard(word, body[len(word) :].strip(), False))
        elif word == "else":
            if not stack:
                return ()  # the other branch of a block opened before the ancestor
            top = stack.pop()
            stack.append(Guard(top.keyword, top.condition, True))
        elif word == "end" and stack:
            # An `end` alone closes a block opened before the ancestor, which is on: the
            # ancestor was rendered.
            stack.pop()
    return tuple(stack)


def shown(value: Any) -> str:
    """An edit's value as YAML in flow style, for a description."""
    if isinstance(value, FlowMap):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def only_added(before: Any, after: Any, key: str, value: Any) -> bool:
    """`after` is `before` with, at most, `key: value` added to some of its mappings."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        if any(k not in after for k in before):
            return False
        for k, v in after.items():
            if k not in before:
                if k != key or v != value:
                    return False
            elif not only_added(before[k], v, key, value):
                return False
        return True
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(
            only_added(b, a, key, value) for b, a in zip(before, after, strict=True)
        )
    return type(before) is type(after) and bool(before == after)
