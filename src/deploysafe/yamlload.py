"""YAML (and JSON) to plain data plus a separate position index, from PyYAML's node tree.

Positions never enter the data: each parsed document comes with a dict from path to the
1-based (line, column) of the key (mappings) or item (sequences) that starts there.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import yaml
from ahocorasick_rs import BytesAhoCorasick

from deploysafe.frozen import record
from deploysafe.model import KeyPath, redact

try:
    from yaml import CSafeLoader as _Loader
    from yaml._yaml import CParser as _CParser

    LIBYAML = True
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

    LIBYAML = False

# Plain scalars resolve to a tag by a chain of Python regexes, once per scalar; in real
# manifests the same short values repeat endlessly, so remember them.
_TAG_CACHE: dict[str, str] = {}
_TAG_CACHE_MAX = 50_000


_NOTHING: dict[object, None] = {}


class _FastLoader(_Loader):
    # The composer calls these for every node to follow path resolvers, which the safe
    # loader has none of: C callables that do nothing cost less than PyYAML's methods
    # that return at once (a builtin's bound method is not rebound to the loader).
    descend_resolver = _NOTHING.get  # type: ignore[assignment]  # (parent, index) -> None
    ascend_resolver = ().__len__  # type: ignore[assignment]  # () -> 0, unread

    if LIBYAML:
        # The parser alone: the constructor's and the resolver's state serve construct_*
        # and path resolvers, which composing nodes never uses. The parser's own C slot,
        # so that making a loader (one a document) runs no Python frame.
        __init__ = _CParser.__init__

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _SCALAR:
            if not implicit[0]:
                return _TAG_STR  # quoted: a string (the safe loader has no path resolvers)
            if value and value[0] not in _RESOLVED_FIRST:
                return _TAG_STR  # no implicit resolver reads a value that starts so
            if len(value) < 64:
                tag = _TAG_CACHE.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                    if len(_TAG_CACHE) < _TAG_CACHE_MAX:
                        _TAG_CACHE[value] = tag
                return tag
        # An untagged collection: the default tag.
        elif kind is _MAPPING:
            return _TAG_MAP
        elif kind is _SEQUENCE:
            return _TAG_SEQ
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


# The first characters of the plain scalars an implicit resolver may tag as other than a
# string (numbers, booleans, null, `<<` ...): PyYAML looks its resolvers up by a value's
# first character (None: resolvers for any, which the safe loader has none of).
_RESOLVED_FIRST = frozenset(_Loader.yaml_implicit_resolvers)
assert None not in _RESOLVED_FIRST

MAX_DEPTH = 256
# An alias may repeat a subtree; past this many expanded nodes (and 10x the distinct ones)
# the document is treated as an alias bomb.
MAX_EXPANSION = 200_000

Positions = dict[KeyPath, tuple[int, int]]

_TAG_STR = "tag:yaml.org,2002:str"
_TAG_MAP = "tag:yaml.org,2002:map"
_TAG_SEQ = "tag:yaml.org,2002:seq"
_TAG_MERGE = "tag:yaml.org,2002:merge"
_TAG_INT = "tag:yaml.org,2002:int"
_TAG_BOOL = "tag:yaml.org,2002:bool"
_TAG_NULL = "tag:yaml.org,2002:null"
_YAML_TAGS = "tag:yaml.org,2002:"  # `!!name`: YAML's own types (a local tag is `!name`)
_BOOLS: dict[str, bool] = yaml.constructor.SafeConstructor.bool_values
_SCALAR = yaml.ScalarNode
_MAPPING = yaml.MappingNode
_SEQUENCE = yaml.SequenceNode


# Returned as a value (parse_all yields it) and turned by each caller into a scan error or a
# ConfigError, so it never reaches the user as itself.
class YamlProblem(Exception):
    """A document could not be turned into data; carries the 1-based line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@record
class Parsed:
    """One YAML document's data, with the positions of its keys."""

    data: Any
    positions: Positions
    line: int  # first line of the document (1-based)
    warnings: tuple[tuple[int, str], ...]  # (line, message), e.g. duplicate keys


@record(frozen=False)
class _Builder:
    """Builds one document's data from its node tree, with its key positions."""

    positions: Positions
    warnings: list[tuple[int, str]]
    sizes: dict[int, int]
    # The nodes built, by id, to tell an alias's repeat; None where the text holds no `&`
    # (no anchor, so no alias: every node is met once).
    seen: set[int] | None
    expanded: int = 0
    # Made for the first value the fast paths do not make (most documents have none).
    constructor: yaml.constructor.SafeConstructor | None = None

    def build(self, node: yaml.Node, path: KeyPath, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)
        seen = self.seen
        if seen is None:
            record = True
        elif id(node) in seen:
            # An alias: count what it repeats, so that nested aliases cannot blow up.
            self.expanded += self._size(node)
            if self.expanded > MAX_EXPANSION:
                raise YamlProblem(
                    "aliases expand to too many nodes (an alias bomb?)",
                    node.start_mark.line + 1,
                )
            record = False
        else:
            seen.add(id(node))
            record = True
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth, record)
        if isinstance(node, yaml.SequenceNode):
            out: list[Any] = []
            positions = self.positions
            inline = depth < MAX_DEPTH
            for i, item in enumerate(node.value):
                sub = path + (i,)  # noqa: RUF005  # (concatenation costs less than unpacking)
                if record:
                    mark = item.start_mark
                    positions[sub] = (mark.line + 1, mark.column + 1)
                # A plain string seen for the first time (most values) is built here: what
                # `build` would make of it, without the call.
                if (
                    inline
                    and item.tag == _TAG_STR
                    and type(item) is _SCALAR
                    and (seen is None or id(item) not in seen)
                ):
                    if seen is not None:
                        seen.add(id(item))
                    out.append(item.value)
                elif inline and seen is None and type(item) is _MAPPING:
                    out.append(self._mapping(item, sub, depth + 1, True))  # as `build` does
                else:
                    out.append(self.build(item, sub, depth + 1))
            return out
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int, record: bool) -> Any:
        out: dict[Any, Any] = {}
        # JSON field name: the key it is held under. None while every key is a string
        # (its own field, and a repeat is a key of `out`): most mappings.
        fields: dict[str, Any] | None = None
        merges: list[yaml.Node] = []
        positions, seen = self.positions, self.seen
        inline = depth < MAX_DEPTH
        for knode, vnode in node.value:
            ktag = knode.tag
            string = ktag == _TAG_STR and type(knode) is _SCALAR
            if string and fields is None:
                k = part = knode.value  # what the general case below makes of it
                if k in out:
                    self._repeated(knode, k)
            else:
                if string:
                    k = field = knode.value
                else:
                    if ktag == _TAG_MERGE:
                        merges.append(vnode)
                        continue
                    k = self._scalar(knode) if isinstance(knode, yaml.ScalarNode) else None
                    if k is None and not isinstance(knode, yaml.ScalarNode):
                        raise YamlProblem(
                            "a mapping key is not a scalar", knode.start_mark.line + 1
                        )
                    if not isinstance(k, str | int | float | bool) and k is not None:
                        k = str(k)
                    field = json_key(k)
                if fields is None:
                    fields = {key: key for key in out}  # strings so far
                if field in fields:
                    self._repeated(knode, k)
                    k = fields[field]
                elif k in out:  # `true` and `1`: one key to Python, two to Kubernetes
                    k = field
                fields[field] = k
                # (a union isinstance costs more than the tuple: most keys are strings)
                part = k if type(k) is str or isinstance(k, int) else str(k)
            sub = path + (part,)  # noqa: RUF005  # (concatenation costs less than unpacking)
            if record:
                mark = knode.start_mark
                positions[sub] = (mark.line + 1, mark.column + 1)
            if (
                inline
                and vnode.tag == _TAG_STR
                and type(vnode) is _SCALAR
                and (seen is None or id(vnode) not in seen)
            ):
                if seen is not None:  # as in the sequence above
                    seen.add(id(vnode))
                out[k] = vnode.value
            elif inline and seen is None and type(vnode) is _MAPPING:
                out[k] = self._mapping(vnode, sub, depth + 1, True)  # what `build` does
            else:
                out[k] = self.build(vnode, sub, depth + 1)
        for m in merges:  # `<<:` merge keys: explicit keys win
            sources = m.value if isinstance(m, yaml.SequenceNode) else [m]
            for src in sources:
                merged = self.build(src, path, depth + 1)
                if isinstance(merged, dict):
                    for mk, mv in merged.items():
                        out.setdefault(mk, mv)
        return out

    def _repeated(self, knode: yaml.Node, k: object) -> None:
        self.warnings.append(
            (
                knode.start_mark.line + 1,
                f"duplicate key {k!r}: the later value silently replaces the earlier one",
            )
        )

    def _scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _TAG_STR:
            return node.value
        # The other common values, made as the constructor makes them without its
        # machinery per value: a plain decimal integer, a boolean word, a null.
        if tag == _TAG_INT:
            v = node.value
            if v.isascii() and v.isdigit() and (v[0] != "0" or len(v) == 1) and len(v) < 19:
                return int(v)
        elif tag == _TAG_BOOL:
            b = _BOOLS.get(node.value.lower())
            if b is not None:
                return b
        elif tag == _TAG_NULL:
            return None
        elif not tag.startswith(_YAML_TAGS):
            # A tag of the application's own (`!Ref`, `!ENV`, `!vault`): Kubernetes' YAML
            # decoder takes the value as written, a string, and so does the check.
            return node.value
        line = node.start_mark.line + 1
        if self.constructor is None:
            self.constructor = _constructor()
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)  # without the mark's lines
            # The tag is input, and could be anything (a value written after a stray `!`).
            problem = str(problem).replace(repr(node.tag), _shown_tag(node.tag))
            raise YamlProblem(f"bad value: {problem}", line) from None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            # `!!int abc`, `!!bool maybe`, `!!timestamp 2024-13-45`: PyYAML's constructors
            # fail with Python errors (whose text quotes the value), not YAMLError.
            raise YamlProblem(
                f"bad value: not a valid {_shown_tag(node.tag)} value", line
            ) from None

    def _size(self, node: yaml.Node) -> int:
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(self._size(v) for v in node.value)
        else:
            n = 1
        self.sizes[key] = n
        return n


def json_key(key: object) -> str:
    """A mapping key as the JSON field name Kubernetes reads (sigs.k8s.io/yaml turns YAML
    into JSON, keys into strings): `1`, `1.0` and `"1"` are one field, `true` and `1` two."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float) and key.is_integer() and abs(key) < 1e21:
        return str(int(key))
    return str(key)


def _shown_tag(tag: str) -> str:
    """A tag as written (`!!int`, `!Ref`), redacted like a secret when it could be one (long,
    with digits: a value typed after a stray `!`)."""
    short = "!!" + tag[len(_YAML_TAGS) :] if tag.startswith(_YAML_TAGS) else tag
    named = len(short) <= 12 or (len(short) <= 40 and not any(c.isdigit() for c in short))
    return f"'{short}'" if named else f"'{redact(short)}'"


def _constructor() -> yaml.constructor.SafeConstructor:
    return yaml.constructor.SafeConstructor()


def _problem(exc: yaml.YAMLError, text: str, line_offset: int = 0) -> YamlProblem:
    """`exc` as a problem at its line of `text` (plus `line_offset`)."""
    if isinstance(exc, yaml.reader.ReaderError):
        # The reader checks characters before any mark exists: it knows only the position.
        at = text.count("\n", 0, max(exc.position, 0)) + 1 + line_offset
        char = exc.character
        what = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return YamlProblem(f"invalid YAML: {exc.reason} (character {what})", at)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 + line_offset if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}: {problem}" if context else str(problem)
    return YamlProblem(f"invalid YAML: {text}", line)


class TooDeep(yaml.YAMLError):
    """Nesting or aliases past the caps (MAX_DEPTH, MAX_EXPANSION)."""


def load_data(text: str) -> Any:
    """The plain data of a YAML text's first document, without positions, with libyaml when
    PyYAML has it: for small files read only for their values (kustomizations, Chart.yaml,
    annotations kustomize writes). The same caps on nesting and aliases as parse_all, so
    that what walks the data cannot recurse without end. Raises yaml.YAMLError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_shape(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_shape(root: yaml.Node) -> None:
    """Raise TooDeep past MAX_DEPTH levels, or when aliases repeat subtrees past
    MAX_EXPANSION nodes (and 10x the distinct ones); without recursion."""
    sizes: dict[int, int] = {}  # expanded size of each node, by id
    depth: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, level, done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key], depth[key] = 1, 1
            continue
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            continue
        if key in sizes:
            continue
        if key in on_path or level > MAX_DEPTH:
            line = node.start_mark.line + 1
            raise TooDeep(f"nesting deeper than {MAX_DEPTH} levels (line {line})")
        on_path.add(key)
        stack.append((node, level, True))
        stack.extend((c, level + 1, False) for c in children if id(c) not in sizes)
    if sizes[id(root)] > MAX_EXPANSION and sizes[id(root)] > 10 * len(sizes):
        raise TooDeep("aliases expand to too many nodes (an alias bomb?)")
    if depth[id(root)] > MAX_DEPTH:
        raise TooDeep(f"nesting deeper than {MAX_DEPTH} levels")


class TooLarge(ValueError):
    """A file over the size cap."""


def read_capped(path: Path, max_bytes: int) -> str:
    """A regular file's UTF-8 text, read no further than the cap. Raises TooLarge, OSError
    (also for a pipe or device: reading one could block), UnicodeDecodeError."""
    with path.open("rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError("not a regular file")
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise TooLarge(f"larger than the {max_bytes}-byte cap (max_file_size)")
    return raw.decode("utf-8")


class _Shared:
    """The text whose parse its readings share (`parsed_once`), the parse once made and,
    when asked for, its first document's node tree (`first_node`)."""

    text: str | None = None
    parsed: tuple[Parsed | YamlProblem, ...] | None = None
    keep_tree: bool = False
    first: tuple[yaml.Node | None] | None = None  # (None,): the text holds no document


def parsed_once(text: str, *, keep_tree: bool = False) -> contextlib.AbstractContextManager[None]:
    """Within it, `text` itself (that object, from its first line) is parsed once however
    many times it is parsed to its end: a kustomization file is read as itself and as
    Kubernetes objects. `keep_tree`: its first document's nodes, once composed, are also
    kept for `first_node` (a workflow is read as Kubernetes objects and as YAML 1.2).
    Nothing is kept past it."""
    return _Sharing(text, keep_tree)


class _Sharing:
    """`parsed_once`: entered for every file, so a plain class rather than a generator's
    context manager (several Python calls fewer)."""

    __slots__ = ("keep_tree", "text")

    def __init__(self, text: str, keep_tree: bool) -> None:
        self.text, self.keep_tree = text, keep_tree

    def __enter__(self) -> None:
        _Shared.text, _Shared.parsed, _Shared.first = self.text, None, None
        _Shared.keep_tree = self.keep_tree

    def __exit__(self, *exc: object) -> None:
        _Shared.text = _Shared.parsed = _Shared.first = None
        _Shared.keep_tree = False


def first_node(text: str) -> yaml.Node | None:
    """The node tree of the first YAML document of `text` (None when it holds none), as
    parse_all composes it: the tags of PyYAML's safe loader. Within `parsed_once(text,
    keep_tree=True)`, the one a parse of the text already composed. Raises yaml.YAMLError."""
    if text is _Shared.text and _Shared.first is not None:
        return _Shared.first[0]
    loader = _FastLoader(text)
    try:
        node: yaml.Node | None = loader.get_node() if loader.check_node() else None
        return node
    finally:
        loader.dispose()


def parse_all(text: str, line_offset: int = 0) -> Iterator[Parsed | YamlProblem]:
    """Parse every document in `text`; a broken document yields a YamlProblem.

    After a syntax error the rest of that stream cannot be trusted, so parsing stops there.
    """
    if text is not _Shared.text or line_offset:
        yield from _parse_all(text, line_offset)
        return
    if _Shared.parsed is not None:
        yield from _Shared.parsed
        return
    got: list[Parsed | YamlProblem] = []
    for parsed in _parse_all(text, 0):
        got.append(parsed)
        yield parsed
    if _Shared.text is text:  # still the shared one, parsed to its end
        _Shared.parsed = tuple(got)


def _parse_all(text: str, line_offset: int) -> Iterator[Parsed | YamlProblem]:
    try:  # the pure-Python reader checks every character here
        loader = _FastLoader(text)
    except yaml.YAMLError as exc:
        yield _problem(exc, text, line_offset)
        return
    anchored = "&" in text
    # Composed before anything is yielded, so while the text is still the shared one.
    keep = _Shared.keep_tree and text is _Shared.text and not line_offset
    try:
        while True:
            try:
                if not loader.check_node():
                    if keep:
                        _Shared.first = (None,)
                    break
                node = loader.get_node()
            except yaml.YAMLError as exc:
                yield _problem(exc, text, line_offset)
                return
            if node is None:  # pragma: no cover - check_node said there is one
                break
            if keep:
                _Shared.first, keep = (node,), False
            builder = _Builder({}, [], {}, set() if anchored else None)
            start = node.start_mark.line + 1 + line_offset
            try:
                data = builder.build(node, (), 0)
            except YamlProblem as problem:
                if problem.line is not None:
                    problem.line += line_offset
                yield problem
                continue
            except RecursionError:
                yield YamlProblem(f"nesting deeper than {MAX_DEPTH} levels", start)
                continue
            positions = builder.positions
            if line_offset:
                positions = {p: (ln + line_offset, c) for p, (ln, c) in positions.items()}
            positions[()] = (start, node.start_mark.column + 1)
            warnings = (
                tuple((ln + line_offset, msg) for ln, msg in builder.warnings)
                if builder.warnings
                else ()
            )
            yield Parsed(data, positions, start, warnings)
    finally:
        loader.dispose()


def document_spans(text: str, encoded: bytes | None = None) -> list[tuple[int, int]]:
    """Where the documents of a YAML stream are: (start, end) of the text between `---`
    lines, blank stretches left out. `encoded`: the text's bytes when it is ASCII (the
    same offsets), searched instead.

    Used to decide a document's kind cheaply (the top-level `kind:`) before paying for a
    full parse; documents no rule reads are then never built, copied or counted (CRDs are
    most of a repository's bytes). A substring search, not a regex: this runs over every
    byte of the tree (over bytes, with SIMD, a few times fewer instructions than str.find).
    """
    starts = [0] if text.startswith("---") else []
    starts += [
        i + 1 for i in _dashes(text, encoded) if text[i + 4 : i + 5] in ("", "\n", "\r", " ", "\t")
    ]
    if not starts:
        return [(0, len(text))]
    bounds = [0, *starts, len(text)] if starts[0] != 0 else [*starts, len(text)]
    # str.isspace's whitespace, found without a copy of each document
    return [(a, b) for a, b in itertools.pairwise(bounds) if _NOT_SPACE.search(text, a, b)]


_DASHES = BytesAhoCorasick([b"\n---"])


def _dashes(text: str, encoded: bytes | None) -> Iterator[int]:
    """Where "\\n---" is in the text (it cannot overlap itself), searched in its bytes when
    given."""
    if encoded is not None:
        for _, i, _ in _DASHES.find_matches_as_indexes(encoded):
            yield i
        return
    i = text.find("\n---")
    while i != -1:
        yield i
        i = text.find("\n---", i + 4)


_NOT_SPACE = re.compile(r"\S")


_KIND_VALUE = re.compile(r"[ \t]*[\"']?([A-Za-z0-9]+)")
# A document is only skipped by its first top-level `kind:` when no later line can start
# another `kind` key (the last of duplicate keys wins: plain, quoted, tagged, anchored,
# aliased, explicit or flow) and nothing before it opens a flow scalar or collection that
# could hold that line. PyYAML's rarer line breaks (lone CR, NEL, LS, PS) take the slower
# pattern.
_OPENERS = ('"', "'", "{", "[")
# Such a line, found in the UTF-8 bytes (where an ASCII pattern matches the same characters
# as in the text): the automaton passes most line starts in a few instructions, where a
# regex begins a match attempt at each (a CRD is most of a tree's bytes and lines).
_NEXT_KEY = BytesAhoCorasick([b"\nkind", *(b"\n" + c.encode() for c in "\"'?*!&{[")])
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_NEXT_KEY_ANY_BREAK = re.compile(r"[\n\r\x85\u2028\u2029](?:kind|[\"'?*!&{\[])")


def top_level_kind(
    text: str,
    start: int = 0,
    end: int | None = None,
    odd: bool | None = None,
    among: Collection[str] | None = None,
    encoded: bytes | None = None,
) -> str | None:
    """The value of a top-level `kind:` key of the document `text[start:end]`, found without
    parsing it; None when the text leaves any doubt which `kind` the parser keeps. `odd`:
    whether the document may hold a line break other than "\\n" (None: it is searched).
    `among`: the kinds the caller looks for; any other is None at once, before the searches
    of the rest of the document that make sure it is the parser's. `encoded`: the text's
    bytes when it is ASCII (the same offsets), searched in place instead of a copy."""
    end = len(text) if end is None else end
    if text.startswith("kind:", start, end):
        i = start
    else:
        i = text.find("\nkind:", start, end) + 1
        if i == 0:
            return None
    m = _KIND_VALUE.match(text, i + 5, end)
    if m is None or (among is not None and m.group(1) not in among):
        return None
    if any(text.find(c, start, i) != -1 for c in _OPENERS):
        return None
    if odd is None:
        odd = any(text.find(c, start, end) != -1 for c in _ODD_BREAKS)
    if odd:
        later = _NEXT_KEY_ANY_BREAK.search(text, i + 5, end) is not None
    else:
        rest = (
            memoryview(encoded)[i + 5 : end]
            if encoded is not None
            else text[i + 5 : end].encode("utf-8", "surrogatepass")
        )
        later = bool(_NEXT_KEY.find_matches_as_indexes(rest))
    return None if later else m.group(1)
