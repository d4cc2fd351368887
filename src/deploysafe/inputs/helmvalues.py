"""Which values file line set a value a Helm template rendered.

A finding on a chart points at the template line; when that line's value comes from
`.Values`, the user edits a values file, so the finding also names the file and line that
set it. Two template shapes are read, and only these:

- the node's own line refers to `.Values.a.b` (`type: {{ .Values.service.type }}`);
- the node sits in a block its nearest spelled ancestor fills with `toYaml .Values.a`
  (or `toYaml .` inside `{{- with .Values.a }}`): the key is `a` plus the rest of the path.

The key is looked up as Helm merges: the last values file that sets it wins, the chart's
values.yaml otherwise; a key `--set` touches is no file's. A note is made only when that
file's value is the rendered value (or, for a string built from several parts, a part of
it): no note is better than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deploysafe import yamlload
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, HelmValues, KeyPath, SetBy, ValuesFile

_FIELD = r"(?:\.[A-Za-z_]\w*)+"
_ref = on_first_use(rf"\$?\.Values({_FIELD})(?![\w.])")
_to_yaml = on_first_use(rf"toYaml\s+\(?\s*(\$?\.Values{_FIELD}|\.)(?![\w.])")
_piped_to_yaml = on_first_use(rf"(\$?\.Values{_FIELD}|(?<![\w)])\.)\s*\|\s*toYaml\b")
_with = on_first_use(rf"^\s*\{{\{{-?\s*with\s+\$?\.Values({_FIELD})\s*-?\}}\}}\s*$")
_control = on_first_use(r"^\s*\{\{-?\s*(?:end|else|if|with|range|define|block)\b")
_action = on_first_use(r"\{\{.*?\}\}")


def load(files: Sequence[tuple[Path, str]], set_values: Sequence[str]) -> HelmValues:
    """Values files (path, repo-relative name) in merge order, each read with positions; a
    file that cannot be read is left out (the render reports it)."""
    loaded: list[ValuesFile] = []
    for path, name in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        first = next(iter(yamlload.parse_all(text)), None)
        if isinstance(first, yamlload.Parsed) and isinstance(first.data, dict):
            loaded.append(ValuesFile(name, first.data, first.positions))
    return HelmValues(tuple(loaded), tuple(k for s in set_values for k in _set_keys(s)))


def _set_keys(expression: str) -> Iterator[KeyPath]:
    """The keys a `--set a.b=1,c[0].d=x` names, without list indexes (so they cover more)."""
    for part in re.split(r"(?<!\\),", expression):
        key = part.split("=", 1)[0].strip()
        if key:
            yield tuple(re.sub(r"\[\d+\]", "", k) for k in re.split(r"(?<!\\)\.", key))


def set_by(doc: Document, path: KeyPath) -> tuple[SetBy, ...]:
    values = doc.helm_values
    if values is None or not values.files or path not in doc.positions:
        return ()
    rendered = _at(doc.data, path)
    spelled = path
    while len(spelled) > 1 and doc.positions[spelled] == doc.positions[spelled[:-1]]:
        spelled = spelled[:-1]
    line_no, column = doc.positions[spelled]
    if not 1 <= line_no <= len(doc.lines):
        return ()
    line = doc.lines[line_no - 1]
    if spelled == path:
        value_part = line.split(":", 1)[1] if ":" in line else line
        keys = [_key(m.group(1)) for m in _ref().finditer(value_part)]
        found = [hit for k in dict.fromkeys(keys) if (hit := _lookup(values, k)) is not None]
        return tuple(s for s, v in found if _part_of(v, rendered))
    rest = path[len(spelled) :]
    notes = []
    for base in dict.fromkeys(_block_sources(doc.lines, line_no, column - 1)):
        hit = _lookup(values, (*base, *rest))
        if hit is not None and hit[1] == rendered:
            notes.append(hit[0])
    return tuple(notes) if len(notes) == 1 else ()


def source_key(doc: Document, path: KeyPath) -> tuple[str, KeyPath, bool] | None:
    """The values file and key that would hold the node at `path` (which need not exist
    yet), read as `set_by` reads them: the node's own line refers to one `.Values` key (and
    False), or its nearest spelled ancestor is filled whole with `toYaml` of one (and True),
    and that file's value is what was rendered there. None when the template writes the
    node some other way."""
    values = doc.helm_values
    if values is None or not values.files:
        return None
    near = path
    while near and near not in doc.positions:
        near = near[:-1]
    if not near:
        return None
    spelled = near
    while len(spelled) > 1 and doc.positions[spelled] == doc.positions[spelled[:-1]]:
        spelled = spelled[:-1]
    line_no, column = doc.positions[spelled]
    if not 1 <= line_no <= len(doc.lines):
        return None
    line, rendered = doc.lines[line_no - 1], _at(doc.data, spelled)
    if spelled == path:
        value_part = line.split(":", 1)[1] if ":" in line else line
        keys = list(dict.fromkeys(_key(m.group(1)) for m in _ref().finditer(value_part)))
        hit = _lookup(values, keys[0]) if len(keys) == 1 else None
        if hit is None or type(hit[1]) is not type(rendered) or hit[1] != rendered:
            return None
        return hit[0].file, keys[0], False
    bases = list(dict.fromkeys(_block_sources(doc.lines, line_no, column - 1)))
    if len(bases) != 1:
        return None
    key = (*bases[0], *path[len(spelled) :])
    if path in doc.positions:  # the file that set this very value
        hit = _lookup(values, key)
        same = hit is not None and type(hit[1]) is type(_at(doc.data, path))
        return (hit[0].file, key, True) if hit and same and hit[1] == _at(doc.data, path) else None
    # A new key of the block goes where the block was last set: the files are merged deep,
    # so it joins what the others set.
    hit = _lookup(values, bases[0])
    if hit is None or not isinstance(hit[1], dict) or not isinstance(rendered, dict):
        return None
    return hit[0].file, key, True


def setting(values: HelmValues, key: KeyPath) -> tuple[SetBy | None, Any] | None:
    """Where `key` is set, as Helm merges, with its value; when no file sets it, (None,
    None): a new key would go in the last file, which wins over the others. None when
    `--set` touches it, a file sets it to null, or one replaces a mapping above it."""
    n = len(key)
    if not values.files or any(
        s[: min(n, len(s))] == key[: min(n, len(s))] for s in values.set_keys
    ):
        return None
    hit = _lookup(values, key)
    if hit is not None:
        return hit
    for vf in values.files:
        node: Any = vf.data
        for k in key:
            if not isinstance(node, dict):
                return None
            if k not in node:
                break
            node = node[k]
        else:
            return None  # set to null
    return None, None


def _key(dotted: str) -> KeyPath:
    return tuple(dotted.strip(".").split("."))


def _at(data: Any, path: KeyPath) -> Any:
    for k in path:
        data = data[k]
    return data


def _part_of(value: Any, rendered: Any) -> bool:
    if type(value) is type(rendered) and value == rendered:
        return True
    # A string built from parts (`{{ .Values.image.repository }}:{{ .Values.image.tag }}`).
    scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
    return scalar and isinstance(rendered, str) and str(value) != "" and str(value) in rendered


def _lookup(values: HelmValues, key: KeyPath) -> tuple[SetBy, Any] | None:
    """The file and line that set `key`, as Helm merges, with the value set there."""
    n = len(key)
    if any(s[: min(n, len(s))] == key[: min(n, len(s))] for s in values.set_keys):
        return None
    for vf in reversed(values.files):
        node: Any = vf.data
        depth = 0
        for k in key:
            in_map = isinstance(node, dict) and k in node
            if not in_map and not (isinstance(node, list) and isinstance(k, int) and k < len(node)):
                break
            node = node[k]
            depth += 1
        if depth == n:
            if node is None:  # null removes a key the files before set
                return None
            line, column = vf.positions.get(key, (1, 1))
            return SetBy(vf.file, line, column, _dotted(key)), node
        if depth and not isinstance(node, dict):
            return None  # this file replaced the map the key would be in
    return None


def _dotted(key: KeyPath) -> str:
    out = ""
    for k in key:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else k)
    return out


def _block_sources(lines: Sequence[str], line_no: int, indent: int) -> Iterator[KeyPath]:
    """The `.Values` keys a key's block (the rest of its line, the lines nested under it)
    renders with toYaml; `toYaml .` resolved by a `with .Values.x` just above."""
    dot: KeyPath | None = None
    above = next((t for t in reversed(lines[: line_no - 1]) if t.strip()), "")
    m = _with().match(above)
    if m:
        dot = _key(m.group(1))
    block = [lines[line_no - 1].split(":", 1)[-1]]
    for text in lines[line_no:]:
        if not text.strip():
            continue
        own = len(text) - len(text.lstrip(" "))
        template_only = not _action().sub("", text).strip()
        if own <= indent and (not template_only or _control().match(text)):
            break
        block.append(text)
    for text in block:
        m = _with().match(text)
        if m:
            dot = _key(m.group(1))
            continue
        for pattern in (_to_yaml(), _piped_to_yaml()):
            for found in pattern.finditer(text):
                expr = found.group(1)
                if expr != ".":
                    yield _key(expr.split(".Values", 1)[1])
                elif dot is not None:
                    yield dot
