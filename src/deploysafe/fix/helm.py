"""Fixes of objects a Helm chart renders, edit by edit:

- a node the template fills from values (`{{ .Values.a.b }}` on its line, or a block that
  `toYaml .Values.a` fills) is fixed in the values file that set it (helmvalues.source_key);
- a node the template writes literally is fixed in the template, when the lines the edit
  changes hold no `{{ }}`: the template's actions are masked (a line of actions becomes a
  comment, an action inside a line a placeholder word), the masked text is edited as YAML,
  and the edit is refused if it would change a line that holds an action;
- a node the template writes only under `{{ if .Values.flag }}`, off, is fixed by turning
  the flag on in the values file that set it, when the chart rendered so writes what the
  fix wants; unsafe when it changes anything more in the chart's objects;
- anything else is left for the user, with the lines to change.

A finding is fixed only when every edit of its fix can be made."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from deploysafe.fix import helmflag
from deploysafe.fix.paths import at, dotted
from deploysafe.fix.rendered import Done, Left, Planned, Target, Trial, manual_at
from deploysafe.fix.yamledit import EditRefused, apply_first, apply_text
from deploysafe.frozen import record
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.inputs.helmvalues import setting, source_key
from deploysafe.model import Document, HelmValues, KeyPath
from deploysafe.rules.base import Edit, EditOp, Fix, FlowMap, plain

PREFIX = "helm "

_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)


@record
class _ValuesEdit:
    file: str
    edit: Edit


@record
class _TemplateEdit:
    file: str
    kind_line: int
    edit: Edit


def plan(
    found: Sequence[Target],
    root: Path,
    docs: Sequence[Document] = (),
    unsafe: bool = False,
    trial: Trial | None = None,
) -> Planned:
    """The fixes of `found`, findings in the output of charts whose objects are `docs`;
    `trial` renders the tree with some files changed (a flag turned on), when it can."""
    routed: list[tuple[Target, list[_ValuesEdit | _TemplateEdit]]] = []
    left: list[Left] = []
    masked: dict[str, Masked | None] = {}
    tried_flags: dict[tuple[str, str], Sequence[Document] | None] = {}
    for t in found:
        if t.doc.helm_values is None:  # a dependency, as a base other overlays share
            left.append(manual_at(t.finding, "a subchart's template writes it"))
            continue
        tried = [_route(t.doc, e, root, masked) for e in t.fix.edits]
        edits = [e for e in tried if e is not None]
        if len(edits) < len(tried):
            missed = next(e for e, r in zip(t.fix.edits, tried, strict=True) if r is None)
            guards = helmflag.guards(t.doc, missed.path)
            flagged = _flag(t, guards, root, docs, trial, tried_flags) if guards else None
            if isinstance(flagged, Left):
                left.append(flagged)
            elif flagged is None:
                left.append(_manual(t))
            elif not flagged[1].safe and not unsafe:
                why = f"unsafe fix ({flagged[1].description}): use --unsafe-fixes"
                left.append(Left(t.finding, "unsafe", why))
            else:
                routed.append((replace(t, fix=flagged[1]), [flagged[0]]))
        else:
            routed.append((t, edits))
    texts: dict[str, tuple[str, str]] = {}
    done: list[Done] = []
    # All values edits of a file at once, then all template edits of a file at once: a
    # file that refuses its edits leaves every finding that needed it.
    by_file: dict[str, list[_ValuesEdit | _TemplateEdit]] = defaultdict(list)
    for _, made in routed:
        for e in made:
            by_file[e.file].append(e)
    failed: dict[str, str] = {}
    for file, of_file in by_file.items():
        try:
            texts[file] = (_read(root, file), _edited(root, file, of_file, masked.get(file)))
        except EditRefused as exc:
            failed[file] = str(exc)
    for t, made in routed:
        files = tuple(dict.fromkeys(e.file for e in made))
        bad = next((f for f in files if f in failed), None)
        if bad is not None:
            left.append(Left(t.finding, "refused", f"{bad} {failed[bad]}: not written"))
        else:
            done.append(Done(t.finding, t.fix, files))
    # Texts of files that only refused findings needed stay unwritten (plan writes only
    # the files of fixes made).
    return Planned(texts, tuple(done), tuple(left))


def _manual(t: Target) -> Left:
    f = t.finding
    also = [f"{s.file}:{s.line}" for s in f.set_by]
    return manual_at(f, "the chart's template writes it with template actions", also)


def _flag(
    t: Target,
    guards: Sequence[helmflag.Guard],
    root: Path,
    docs: Sequence[Document],
    trial: Trial | None,
    tried: dict[tuple[str, str], Sequence[Document] | None],
) -> tuple[_ValuesEdit, Fix] | Left | None:
    """The fix of `t` as its chart's flag turned on: the values edit and the fix as the
    summary tells it; or why not, naming the flags to turn on; None when the blocks around
    the missing field are not what keeps it out."""
    values = t.doc.helm_values
    assert values is not None
    off = [g for g in guards if not _is_on(g, values)]
    if not off:
        return None  # every block is on: something else leaves the field out
    flag = off[0].flag if len(off) == 1 else None
    where = setting(values, flag) if flag is not None else None
    if flag is None or where is None or not _off(where[1]):
        return _needs(t, off)
    set_by, _ = where
    file = set_by.file if set_by is not None else values.files[-1].file
    if Path(file).is_absolute() or trial is None:
        return _needs(t, off)
    edit = Edit(EditOp.SET, flag, True)
    try:
        text = apply_first(_read(root, file), [edit])
    except EditRefused:
        return _needs(t, off)
    if (file, text) not in tried:
        tried[file, text] = trial({file: text})
    after = tried[file, text]
    render = [d for d in docs if d.rendered_from == t.render]
    turned = [d for d in after or () if d.rendered_from == t.render]
    mine = next((d for d in turned if d.resource == t.doc.resource), None)
    wanted = all(
        e.op is EditOp.SET and mine is not None and at(mine.data, e.path) == plain(e.value)
        for e in t.fix.edits
    )
    if not wanted:
        return _needs(t, off)
    last = t.fix.edits[-1]
    key = str(last.path[-1])
    more = len(render) != len(turned) or not all(
        b.resource == a.resource and helmflag.only_added(b.data, a.data, key, plain(last.value))
        for b, a in zip(render, turned, strict=False)
    )
    writes = f"{key}: {helmflag.shown(last.value)}"
    also = "; it changes more than that" if more else ""
    description = f"set {dotted(flag)}: true in {file} (the chart then writes {writes}{also})"
    return _ValuesEdit(file, edit), Fix((edit,), t.fix.safe and not more, description)


def _is_on(guard: helmflag.Guard, values: HelmValues) -> bool:
    """The guard is a flag the values turn on."""
    if guard.flag is None:
        return False
    where = setting(values, guard.flag)
    return where is not None and bool(where[1])


def _off(value: object) -> bool:
    """A flag's value that `true` replaces: false, or no value at all."""
    return value is None or value is False


def _needs(t: Target, off: Sequence[helmflag.Guard]) -> Left:
    """Left for the user, with the conditions that keep the field out and the flags that
    may turn it on."""
    values = t.doc.helm_values
    assert values is not None
    conditions = " and ".join(f"`{g.condition}`" for g in off)
    verb = "holds" if len(off) == 1 else "hold"
    flags = []
    for key in dict.fromkeys(k for g in off for k in g.wanted_on()):
        where = setting(values, key)
        if where is None or not _off(where[1]):
            continue
        set_by = where[0]
        place = f"{set_by.file}:{set_by.line}" if set_by is not None else values.files[-1].file
        flags.append(f"{dotted(key)}: true in {place}")
    named = f" (set {', '.join(flags)})" if flags else ""
    return manual_at(
        t.finding, f"the chart's template writes it only when {conditions} {verb}{named}"
    )


def _read(root: Path, file: str) -> str:
    try:
        return (root / file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EditRefused(f"cannot be read ({exc})") from None


def _route(
    doc: Document, edit: Edit, root: Path, masked: dict[str, Masked | None]
) -> _ValuesEdit | _TemplateEdit | None:
    found = source_key(doc, edit.path)
    if found is not None:
        file, key, filled = found
        if Path(file).is_absolute():
            return None  # a values file outside the scanned tree is not written
        if edit.op is not EditOp.DELETE:
            return _ValuesEdit(file, Edit(edit.op, key, edit.value))
        if filled:
            return _ValuesEdit(file, _values_delete(doc, file, key))
        # A scalar the template writes from a value: the key stays, its value changes. A
        # fix only removes a `true` whose absence means false (privileged, hostNetwork...).
        near = at(doc.data, edit.path)
        return _ValuesEdit(file, Edit(EditOp.SET, key, False)) if near is True else None
    if doc.file not in masked:
        try:
            masked[doc.file] = mask(_read(root, doc.file))
        except EditRefused:
            masked[doc.file] = None
    m = masked[doc.file]
    if m is None or not _same_nodes(doc, m, edit.path):
        return None
    kind_line = doc.positions.get(("kind",), (0, 0))[0]
    try:  # alone, the edit changes no line with an action
        unmask(m, apply_text(m.text, {kind_line: [edit]}))
    except EditRefused:
        return None
    return _TemplateEdit(doc.file, kind_line, edit)


def _values_delete(doc: Document, file: str, key: KeyPath) -> Edit:
    """Delete `key` from a values file, but leave the mapping (list) it empties as `{}`
    (`[]`): the key
    that held it may be what the template reads, and without it an earlier file's value
    would show through."""
    values = doc.helm_values.files if doc.helm_values is not None else ()
    data = next((v.data for v in values if v.file == file), None)
    parent = at(data, key[:-1])
    if len(key) > 1 and isinstance(parent, dict) and list(parent) == [key[-1]]:
        return Edit(EditOp.SET, key[:-1], FlowMap(()))
    if len(key) > 1 and isinstance(parent, list) and len(parent) == 1:
        return Edit(EditOp.SET, key[:-1], ())
    return Edit(EditOp.DELETE, key)


def _edited(
    root: Path, file: str, edits: Sequence[_ValuesEdit | _TemplateEdit], m: Masked | None
) -> str:
    text = _read(root, file)
    # Findings that turn on one flag make the same edit.
    values = list(dict.fromkeys(e.edit for e in edits if isinstance(e, _ValuesEdit)))
    if values:
        return apply_first(text, values)
    if m is None:
        raise EditRefused("cannot be parsed as YAML with its template actions masked")
    by_object: dict[int, list[Edit]] = defaultdict(list)
    for e in edits:
        if isinstance(e, _TemplateEdit):
            by_object[e.kind_line].append(e.edit)
    return unmask(m, apply_text(m.text, by_object))


# --- a template's text with its actions masked ---------------------------------------------


@record
class Masked:
    original: Sequence[str]  # the template's lines, ends kept
    text: str  # the same lines with the actions masked: YAML
    actions: frozenset[int]  # the lines (0-based) that hold an action
    doc: Sequence[Document]  # `text` parsed
    # The lines that are only actions (`{{- toYaml ... }}`, `{{- if ... }}`): their output,
    # masked to nothing, may be any YAML.
    blocks: frozenset[int] = frozenset()


def mask(template: str) -> Masked:
    """The template with every line that holds an action masked, line for line."""
    lines = template.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    touched: dict[int, list[tuple[int, int]]] = defaultdict(list)
    whole: set[int] = set()
    for m in _ACTION.finditer(template):
        first = _line_of(starts, m.start())
        last = _line_of(starts, m.end() - 1)
        if first != last:
            whole.update(range(first, last + 1))
        else:
            touched[first].append((m.start() - starts[first], m.end() - starts[first]))
    out = list(lines)
    blocks: set[int] = set()
    n = 0
    for i in sorted(set(touched) | whole):
        line = lines[i]
        body = line.rstrip("\r\n")
        end = line[len(body) :]
        indent = body[: len(body) - len(body.lstrip())]
        rest = _ACTION.sub("", body).strip() if i not in whole else ""
        if not rest:  # only actions: a comment keeps the line without a value
            out[i] = f"{indent}#{end}"
            blocks.add(i)
            continue
        parts, at = [], 0
        for a, b in touched[i]:
            parts += [body[at:a], f"dsTemplate{n}"]
            at, n = b, n + 1
        out[i] = "".join(parts) + body[at:] + end
    text = "".join(out)
    loaded = load_kubernetes(text.removeprefix("\ufeff"), "template")
    if loaded.errors:
        raise EditRefused("cannot be parsed as YAML with its template actions masked")
    return Masked(lines, text, frozenset(set(touched) | whole), loaded.documents, frozenset(blocks))


def _line_of(starts: Sequence[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi - 1:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid
    return lo


def _same_nodes(doc: Document, m: Masked, path: KeyPath) -> bool:
    """Whether `path` names the same nodes in the masked template as in the render: the
    object whose kind is on the same line, with every node on the path the render has on
    the same line and of the same shape."""
    kind_line = doc.positions.get(("kind",), (0, 0))[0]
    masked = next((d for d in m.doc if d.positions.get(("kind",), (0, 0))[0] == kind_line), None)
    if masked is None:
        return False
    for n in range(1, len(path) + 1):
        here = doc.positions.get(path[:n])
        if here is None:
            break
        there = masked.positions.get(path[:n])
        if there is None or there[0] != here[0]:
            return False
        if _shape(at(doc.data, path[:n])) != _shape(at(masked.data, path[:n])):
            return False
    return True


def _shape(value: Any) -> type:
    return dict if isinstance(value, Mapping) else list if isinstance(value, list) else object


def unmask(m: Masked, edited: str) -> str:
    """The template with the masked text's edits: refused when one changes a line that
    holds an action (the lines around it are the template's own)."""
    old = m.text.splitlines(keepends=True)
    new = edited.splitlines(keepends=True)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += m.original[i1:i2]
            continue
        if any(i in m.actions for i in range(i1, i2)):
            raise EditRefused(f"the fix would change a line with template actions (line {i1 + 1})")
        if tag == "insert" and (i1 - 1 in m.blocks or i1 in m.blocks):
            # Masked, a line of actions looks like nothing: new lines next to it could land
            # in the value it writes (`resources:` then `{{ toYaml ... }}`) or in its block.
            raise EditRefused(f"the fix would add lines next to template actions (line {i1})")
        out += new[j1:j2]
    return "".join(out)
