"""Editing the text of a CI file's script (a `run:` value) in place: its block style,
quoting, indentation and comments stay, and an edit is offered only when the edited file
reads back as the script the fix meant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploysafe.ci import loaders
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import KeyPath, Target
from deploysafe.rules.base import LineEdit


def escaped(text: str, doc: CiDocument, start: int) -> str:
    """`text` as it is written inside the YAML scalar whose source starts at `start`."""
    style = doc.text[start - 1 : start]
    if style == '"':
        return text.replace("\\", "\\\\").replace('"', '\\"')
    if style == "'":
        return text.replace("'", "''")
    return text


def rewrite(
    doc: CiDocument, path: KeyPath, script: str, spans: Sequence[tuple[int, int, str]]
) -> tuple[LineEdit, ...] | None:
    """The line edits that replace each (start, end) of the parsed `script` at `path` with
    its text; None when a span is not written as parsed (an escape, a folded line break)
    or the result would not read back."""
    source = doc.source(path)
    if source is None:
        return None
    start, raw = source
    new_script, new_raw = script, raw
    for a, b, text in sorted(spans, reverse=True):
        at = doc.source_offset(path, script, a)
        if raw[at : at + (b - a)] != script[a:b] or "\n" in script[a:b]:
            return None
        new_script = new_script[:a] + text + new_script[b:]
        new_raw = new_raw[:at] + escaped(text, doc, start) + new_raw[at + (b - a) :]
    return checked(doc, path, start, raw, new_raw, new_script)


def checked(
    doc: CiDocument, path: KeyPath, start: int, raw: str, new_raw: str, want: str
) -> tuple[LineEdit, ...] | None:
    """The line edits that turn the scalar's source `raw` into `new_raw` (same line count),
    if the file then reads `want` at `path`."""
    lines = _line_edits(doc.text, start, start + len(raw), new_raw)
    return lines if _reads_back(doc, path, lines, want) else None


def _line_edits(text: str, start: int, end: int, new: str) -> tuple[LineEdit, ...]:
    first = text.count("\n", 0, start)
    old_lines = text.splitlines()
    new_lines = (text[:start] + new + text[end:]).splitlines()
    if len(new_lines) != len(old_lines):
        return ()
    last = min(first + new.count("\n"), len(old_lines) - 1)
    return tuple(
        LineEdit(k + 1, old_lines[k], new_lines[k])
        for k in range(first, last + 1)
        if old_lines[k] != new_lines[k]
    )


def _reads_back(doc: CiDocument, path: KeyPath, lines: tuple[LineEdit, ...], want: str) -> bool:
    """The edited text parses, and the script at `path` is `want`."""
    if not lines:
        return False
    out = doc.text.splitlines(keepends=True)
    for e in lines:
        ending = out[e.line - 1][len(out[e.line - 1].rstrip("\r\n")) :]
        out[e.line - 1] = (e.new or "") + ending
    load = loaders.github_action if doc.type is Target.GITHUB_ACTION else loaders.github_workflow
    result = load("".join(out), doc.file, None)
    if result.errors or not result.documents:
        return False
    node: Any = result.documents[0].data
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return False
    return bool(node == want)
