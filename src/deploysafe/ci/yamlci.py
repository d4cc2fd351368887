"""CI files as data with positions, the way CI systems read them.

Differs from the Kubernetes loader in three ways that matter for CI files:
- YAML 1.2 core scalars, as GitHub and GitLab read them: `on:` is the string "on", not True;
  `yes`/`no` are strings.
- Every path has a position, including paths reached through an alias or a `<<:` merge:
  they point at the anchored node, where the text a finding is about actually is.
- Scalar values keep where their content starts and ends in the text, so a finding can
  point at one `${{ }}` expression inside a multi-line script.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import yaml

from deploysafe.frozen import record
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, KeyPath
from deploysafe.yamlload import MAX_DEPTH, MAX_EXPANSION, YamlProblem, first_node, parse_all

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_MERGE = "tag:yaml.org,2002:merge"
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")


@record
class Scalar:
    """Where a scalar value's content is in the file text (offsets, end exclusive)."""

    start: int
    end: int


@record
class Loaded:
    """A CI file's YAML: data, key positions, scalar spans, tags and warnings."""

    data: Any
    positions: dict[KeyPath, tuple[int, int]]
    scalars: dict[KeyPath, Scalar]
    tags: dict[KeyPath, str]  # custom tags on collections (GitLab `!reference`)
    warnings: tuple[tuple[int, str], ...]


@record
class CiDocument(Document):
    """A CI file: its data and key positions, plus scalar spans and the parsed model."""

    text: str = field(default="", repr=False)
    scalars: Mapping[KeyPath, Scalar] = field(default_factory=dict, repr=False)
    starts: tuple[int, ...] = field(default=(), repr=False)  # offset of each line in `text`
    # The CI system's view of the file (workflow, action, pipeline), built once.
    model: Any = field(default=None, repr=False, compare=False)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset in the text."""
        starts = self.starts or line_starts(self.text)
        i = bisect.bisect_right(starts, offset) - 1
        return i + 1, offset - starts[i] + 1

    def value_at(self, path: KeyPath) -> tuple[int, int]:
        """Where a scalar's content starts (inside quotes, first line of a block);
        for other values, where their key is."""
        s = self.scalars.get(path)
        if s is not None:
            return self.position(s.start)
        return self.locate(path)

    def locate_in(self, path: KeyPath, offset: int) -> tuple[int, int]:
        """Where character `offset` of a scalar's source (as written) is; for other
        values, where their key is."""
        s = self.scalars.get(path)
        if s is None:
            return self.locate(path)
        return self.position(s.start + offset)

    def source_offset(self, path: KeyPath, value: str, offset: int) -> int:
        """Where character `offset` of a scalar's parsed `value` is in its source (0, the
        start, when that cannot be told): block scalars lose their indentation when parsed,
        so lines are matched one by one."""
        src = self.source(path)
        if src is None:
            return 0
        _, raw = src
        if raw.startswith(value) or value == raw:
            return offset
        k = value.count("\n", 0, offset)
        col = offset - (value.rfind("\n", 0, offset) + 1)
        vline = value.split("\n")[k]
        raw_lines = raw.split("\n")
        if k < len(raw_lines) and raw_lines[k].rstrip("\r").endswith(vline):
            line_start = sum(len(r) + 1 for r in raw_lines[:k])
            indent = len(raw_lines[k].rstrip("\r")) - len(vline)
            return line_start + indent + col
        needle = vline[col:].strip()
        if needle:
            at = raw.find(needle)
            if at >= 0:
                return at
        return 0

    def at_offset(self, path: KeyPath, value: str, offset: int) -> tuple[int, int]:
        """Where character `offset` of a scalar's parsed `value` sits in the file."""
        return self.locate_in(path, self.source_offset(path, value, offset))

    def source(self, path: KeyPath) -> tuple[int, str] | None:
        """(offset, raw text) of a scalar's source."""
        s = self.scalars.get(path)
        if s is None:
            return None
        return s.start, self.text[s.start : s.end]


def line_starts(text: str) -> tuple[int, ...]:
    if "\r" in text:
        return (0, *(m.end() for m in _break().finditer(text)))
    # Each break a "\n": a line starts past the lines before it and their breaks.
    lines = text.split("\n")
    lines.pop()
    return tuple(itertools.accumulate(map(_PLUS_ONE, map(len, lines)), initial=0))


_break = on_first_use(r"\r\n|\n|\r")
_PLUS_ONE = (1).__add__


def resolve_plain(value: str) -> Any:
    """YAML 1.2 core schema for a plain (unquoted) scalar."""
    if value in ("", "~", "null", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if _INT.match(value):
        return int(value)
    if _OCT.match(value):
        return int(value[2:], 8)
    if _HEX.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value) and any(ch.isdigit() for ch in value):
        return float(value)
    if value.lower() in (".inf", "+.inf"):
        return float("inf")
    if value.lower() == "-.inf":
        return float("-inf")
    if value.lower() == ".nan":
        return float("nan")
    return value


@record(frozen=False)
class _Walk:
    """The state of one walk over a YAML node tree."""

    text: str
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    scalars: dict[KeyPath, Scalar] = field(default_factory=dict)
    tags: dict[KeyPath, str] = field(default_factory=dict)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    visited: int = 0

    def node(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        self.visited += 1
        if self.visited > MAX_EXPANSION:
            raise YamlProblem(
                "aliases expand to too many nodes (an alias bomb?)", node.start_mark.line + 1
            )
        if isinstance(node, yaml.MappingNode):
            if not node.tag.startswith("tag:yaml.org,2002:"):
                self.tags[path] = node.tag
            out: dict[str, Any] = {}
            self._pairs(node, path, depth, out, explicit=True)
            return out
        if isinstance(node, yaml.SequenceNode):
            if not node.tag.startswith("tag:yaml.org,2002:"):
                self.tags[path] = node.tag
            items = []
            for i, item in enumerate(node.value):
                sub = (*path, i)
                self.positions[sub] = (item.start_mark.line + 1, item.start_mark.column + 1)
                items.append(self.node(item, sub, depth + 1))
            return items
        return self._scalar(node, path)

    def _pairs(
        self, node: yaml.MappingNode, path: KeyPath, depth: int, out: dict[str, Any], explicit: bool
    ) -> None:
        merges: list[yaml.Node] = []
        seen: set[str] = set()
        for knode, vnode in node.value:
            if knode.tag == _MERGE:
                merges.append(vnode)
                continue
            if not isinstance(knode, yaml.ScalarNode):
                raise YamlProblem("a mapping key is not a scalar", knode.start_mark.line + 1)
            key = str(knode.value)
            if key in seen:
                self.warnings.append(
                    (
                        knode.start_mark.line + 1,
                        f"duplicate key {key!r}: the later value silently replaces the earlier one",
                    )
                )
            seen.add(key)
            if not explicit and key in out:
                continue  # merged keys never replace explicit ones
            sub = (*path, key)
            self.positions[sub] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            out[key] = self.node(vnode, sub, depth + 1)
        for m in merges:
            sources = m.value if isinstance(m, yaml.SequenceNode) else [m]
            for src in sources:
                if isinstance(src, yaml.MappingNode):
                    self._merge(src, path, depth + 1, out)

    def _merge(self, src: yaml.MappingNode, path: KeyPath, depth: int, out: dict[str, Any]) -> None:
        self.visited += 1
        if self.visited > MAX_EXPANSION or depth > MAX_DEPTH:
            raise YamlProblem("merge keys expand too far", src.start_mark.line + 1)
        self._pairs(src, path, depth, out, explicit=False)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        start, end = node.start_mark.index, node.end_mark.index
        style = node.style
        text = self.text
        while start < end and text[start] in "&!":  # an anchor or a tag before the value
            while start < end and text[start] not in " \t\r\n":
                start += 1
            while start < end and text[start] in " \t\r\n":
                start += 1
        if style in ('"', "'"):
            start, end = start + 1, max(start + 1, end - 1)
        elif style in ("|", ">"):
            nl = self.text.find("\n", start, end)
            start = nl + 1 if nl >= 0 else end
            while start < end and self.text[start] in " \t\r\n":
                start += 1
        self.scalars[path] = Scalar(start, end)
        if not style:  # plain (None from PyYAML, "" from libyaml)
            return resolve_plain(node.value)
        return node.value


def load(text: str, *, header: str | None = None) -> Loaded | YamlProblem | None:
    """The first YAML document of a CI file; None when the file holds no document.

    `header`: a key that, alone in the first document, makes it a header to skip (GitLab's
    `spec:` before `---`).
    """
    try:
        # The safe loader's tags serve here too: only `<<` and custom tags are read from them.
        node = first_node(text) if header is None else _with_header(text, header)
    except yaml.YAMLError:
        # The same message (and line) the Kubernetes pass reports for this file.
        for parsed in parse_all(text):
            if isinstance(parsed, YamlProblem):
                return parsed
        return YamlProblem("invalid YAML", None)
    if node is None:
        return None
    walk = _Walk(text)
    try:
        data = walk.node(node, (), 0)
    except YamlProblem as problem:
        return problem
    except RecursionError:
        return YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
    walk.positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
    return Loaded(data, walk.positions, walk.scalars, walk.tags, tuple(walk.warnings))


def _with_header(text: str, header: str) -> yaml.Node | None:
    """The first document's node, or the second's when the first is the header alone."""
    loader = _Loader(text)
    try:
        node = _first(loader)
        if (
            isinstance(node, yaml.MappingNode)
            and [k.value for k, _ in node.value] == [header]
            and loader.check_node()
        ):
            node = loader.get_node()
        return node
    finally:
        loader.dispose()


def _first(loader: Any) -> yaml.Node | None:
    if not loader.check_node():
        return None
    node: yaml.Node | None = loader.get_node()
    return node
