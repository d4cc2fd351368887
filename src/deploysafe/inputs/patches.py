"""Which kustomize patch last wrote each node of a built object.

Kustomize's transformer annotation (`alpha.config.kubernetes.io/transformations`) lists, in
the order they ran, the transformers of every kustomization (and Component) an object went
through, by the file that configures them; it does not say which patch did what. So each
patch those files name is read once, with positions, and matched to the object: a strategic
merge patch key by key (list items by their merge key), a JSON 6902 operation by its `path`.
A patch is credited with a node only when the built object holds exactly the value the patch
writes there, so a later transformer, a patch that targets another object or one we cannot
read all leave the node with its base. No note is better than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

import yaml

from deploysafe import yamlload
from deploysafe.frozen import record
from deploysafe.model import KeyPath, SourceText, Written

TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"

# The kustomization field each patch transformer reads.
_FIELDS = {
    "PatchTransformer": "patches",
    "PatchStrategicMergeTransformer": "patchesStrategicMerge",
    "PatchJson6902Transformer": "patchesJson6902",
    "ImageTagTransformer": "images",  # not a patch, but what writes a tag users look for
}
# Where kustomize's image transformer looks for images (its default field specs).
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
# Keys strategic merge matches list items by (Kubernetes' patchMergeKey), most specific last.
_MERGE_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "topologyKey")
# What names the object a patch applies to, not what it writes.
_LITERAL = re.compile(r"\|[-+0-9]*\s*$")  # a key or item that starts a literal block
_IDENTITY: frozenset[KeyPath] = frozenset(
    {(), ("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
)


@record
class _Doc:
    """One patch document: data, its positions, and where they are in the file."""

    data: Any
    positions: Mapping[KeyPath, tuple[int, int]]
    source: SourceText
    # Inline patches: added to the patch text's positions to get the kustomization's
    # (lines, columns); None when the text is not a block scalar laid out line for line,
    # then every node is at `at`.
    shift: tuple[int, int] | None
    at: tuple[int, int]

    def written(self, path: KeyPath) -> Written:
        if self.shift is None:
            return Written(self.source, *self.at)
        line, col = self.positions.get(path, self.positions.get((), (1, 1)))
        return Written(self.source, line + self.shift[0], col + self.shift[1])


@record
class _Patch:
    docs: tuple[_Doc, ...]
    target: Mapping[str, Any] | None


@record
class _Claim:
    path: KeyPath  # in the built object
    where: Written
    whole: bool  # the patch wrote the node and all under it; else it only merged into it


@record(frozen=False)
class Patches:
    """The patches of one build, each kustomization and patch file read once."""

    root: Path
    texts: dict[Path, SourceText | None] = field(default_factory=dict)
    kustomizations: dict[Path, tuple[Any, Mapping[KeyPath, tuple[int, int]]] | None] = field(
        default_factory=dict
    )
    parsed: dict[tuple[Path, str], list[_Patch]] = field(default_factory=dict)
    # Objects of one folder share one annotation text: read it once.
    transformers: dict[tuple[str, Path], list[tuple[Path, str]]] = field(default_factory=dict)

    def written(
        self,
        data: Mapping[str, Any],
        transformations: Any,
        base: Path,
        in_base: set[KeyPath] | None,
        names: Sequence[str],
    ) -> dict[KeyPath, Written]:
        """Nodes of `data` that patches wrote last, from its transformer annotation (paths
        relative to `base`). `in_base`: the nodes the resource file spells (None: all of
        them), so a node a patch merged into is its only when the base did not have it."""
        if not isinstance(transformations, str):
            return {}
        ran = self.transformers.get((transformations, base))
        if ran is None:
            ran = self.transformers[transformations, base] = list(
                _patch_transformers(transformations, base)
            )
        claims = [
            c
            for kfile, fieldname in ran
            for c in (
                self._images(kfile, data)
                if fieldname == "images"
                else (
                    c
                    for patch in self._patches(kfile, fieldname)
                    for c in _claims(patch, data, names)
                )
            )
        ]
        out: dict[KeyPath, Written] = {}
        for c in claims:
            n = len(c.path)
            if c.whole:
                for k in [k for k in out if len(k) > n and k[:n] == c.path]:
                    del out[k]
                out[c.path] = c.where
            elif (
                # Merged into a node the base lacks: the first patch to do so created it.
                in_base is not None
                and c.path not in in_base
                and not any(c.path[:i] in out for i in range(n + 1))
            ):
                out[c.path] = c.where
        return out

    def _text(self, path: Path) -> SourceText | None:
        if path not in self.texts:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self.texts[path] = None
            else:
                self.texts[path] = SourceText(_rel(path, self.root), text.splitlines())
        return self.texts[path]

    def _kustomization(self, kfile: Path) -> tuple[Any, Mapping[KeyPath, tuple[int, int]]] | None:
        if kfile not in self.kustomizations:
            src = self._text(kfile)
            first = next(_parse("\n".join(src.lines)), None) if src else None
            self.kustomizations[kfile] = (first.data, first.positions) if first else None
        return self.kustomizations[kfile]

    def _patches(self, kfile: Path, fieldname: str) -> list[_Patch]:
        key = (kfile, fieldname)
        if key not in self.parsed:
            self.parsed[key] = list(self._read(kfile, fieldname))
        return self.parsed[key]

    def _images(self, kfile: Path, data: Mapping[str, Any]) -> Iterator[_Claim]:
        """Container images an `images:` entry set: the tag, digest or name it gives, when the
        built image is exactly what the entry makes of it."""
        k = self._kustomization(kfile)
        src = self._text(kfile)
        entries = k[0].get("images") if k is not None and isinstance(k[0], dict) else None
        if k is None or src is None or not isinstance(entries, list):
            return
        for path, image in _images(data, ()):
            name, tag, digest = _split_image(image)
            for i, e in enumerate(entries):
                # An entry that only renames leaves the tag the finding is likely about.
                if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                    continue
                if e.get("newTag") is None and e.get("digest") is None:
                    continue
                new_name = str(e.get("newName") or e["name"])
                wants = [(e.get("newTag"), tag), (e.get("digest"), digest)]
                if name != new_name or any(w is not None and str(w) != got for w, got in wants):
                    continue
                field_ = "digest" if e.get("digest") is not None else "newTag"
                line, col = k[1].get(("images", i, field_), (1, 1))
                yield _Claim(path, Written(src, line, col), True)

    def _read(self, kfile: Path, fieldname: str) -> Iterator[_Patch]:
        k = self._kustomization(kfile)
        ksrc = self._text(kfile)
        if k is None or ksrc is None or not isinstance(k[0], dict):
            return
        data, positions = k
        entries = data.get(fieldname)
        if not isinstance(entries, list):
            return
        for i, entry in enumerate(entries):
            target: Any = None
            if isinstance(entry, dict):
                target = entry.get("target")
                ref, inline = entry.get("path"), entry.get("patch")
                at_path: KeyPath = (fieldname, i, "patch")
            elif isinstance(entry, str):  # patchesStrategicMerge: a file, or the patch itself
                multiline = "\n" in entry.strip()
                ref, inline = (None, entry) if multiline else (entry, None)
                at_path = (fieldname, i)
            else:
                continue
            if target is not None and not isinstance(target, dict):
                continue
            docs: list[_Doc] = []
            if isinstance(ref, str):
                src = self._text((kfile.parent / ref).resolve())
                if src is None:
                    continue
                docs = [
                    _Doc(p.data, p.positions, src, (0, 0), (p.line, 1))
                    for p in _parse("\n".join(src.lines))
                ]
            elif isinstance(inline, str):
                at = positions.get(at_path, (1, 1))
                shift = _block_shift(ksrc.lines, at[0], inline)
                docs = [_Doc(p.data, p.positions, ksrc, shift, at) for p in _parse(inline)]
            if docs:
                yield _Patch(tuple(docs), target)


def _rel(path: Path, root: Path) -> str:
    import os

    return Path(os.path.relpath(path, root.resolve())).as_posix()


def _parse(text: str) -> Iterator[yamlload.Parsed]:
    for p in yamlload.parse_all(text):
        if isinstance(p, yamlload.YamlProblem):
            return  # kustomize read it, so it builds; what we cannot read we leave alone
        if p.data is not None:
            yield p


def _block_shift(lines: Sequence[str], key_line: int, text: str) -> tuple[int, int] | None:
    """How a literal block scalar's text (`patch: |`) sits in the file: its first line is
    the line after the key; every line is indented alike. None if the file does not hold
    the text line for line (a quoted or folded string)."""
    if not 1 <= key_line <= len(lines) or not _LITERAL.search(lines[key_line - 1]):
        return None
    body = text.splitlines()
    first = next((t for t in lines[key_line:] if t.strip()), None)
    if first is None:
        return None
    indent = len(first) - len(first.lstrip(" "))
    for k, expected in enumerate(body):
        n = key_line + k
        if n >= len(lines) or (expected.strip() and lines[n][indent:] != expected):
            return None
    return key_line, indent


def _patch_transformers(transformations: str, base: Path) -> Iterator[tuple[Path, str]]:
    """(kustomization file, patch field) in the order their transformers ran, each once."""
    try:
        entries = yamlload.load_data(transformations)
    except yaml.YAMLError:
        return
    seen: set[tuple[Path, str]] = set()
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or e.get("repo") or not isinstance(e.get("configuredIn"), str):
            continue
        by = e.get("configuredBy")
        fieldname = _FIELDS.get(str(by.get("kind"))) if isinstance(by, dict) else None
        if fieldname is None:
            continue
        key = ((base / e["configuredIn"]).resolve(), fieldname)
        if key not in seen:
            seen.add(key)
            yield key


def _images(data: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, dict):
        for k, v in data.items():
            if k in _CONTAINER_LISTS and isinstance(v, list):
                for i, c in enumerate(v):
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        yield (*path, k, i, "image"), c["image"]
            elif isinstance(v, dict | list):
                yield from _images(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _images(v, (*path, i))


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    """`registry:5000/app:1.0@sha256:...` as name, tag and digest."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


# --- does a patch apply to this object ---------------------------------------------------


def _full(pattern: Any, value: str) -> bool:
    """Kustomize matches selector fields as anchored regular expressions."""
    text = str(pattern)
    try:
        return re.fullmatch(text, value) is not None
    except re.error:
        return text == value


def _labels_match(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Equality-based label selectors (`a=b,c!=d,e`); set-based ones are not read: False."""
    for term in str(selector).split(","):
        term = term.strip()
        if not term:
            continue
        m = re.fullmatch(r"([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)", term)
        if m:
            key, op, value = m.groups()
            has = key in labels and str(labels[key]) == value
            if has == (op == "!="):
                return False
        elif re.fullmatch(r"!?[\w./-]+", term):
            if (term.lstrip("!") in labels) == term.startswith("!"):
                return False
        else:
            return False
    return True


def _targets(target: Mapping[str, Any], data: Mapping[str, Any], names: Sequence[str]) -> bool:
    api = str(data.get("apiVersion", ""))
    group, _, version = api.rpartition("/")
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    checks: list[tuple[str, Sequence[str]]] = [
        ("group", [group]),
        ("version", [version]),
        ("kind", [str(data.get("kind", ""))]),
        ("name", names),
        ("namespace", [str(meta.get("namespace") or "default")]),
    ]
    for key, values in checks:
        want = target.get(key)
        if want not in (None, "") and not any(_full(want, v) for v in values):
            return False
    for key, meta_key in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        selector = target.get(key)
        found = meta.get(meta_key)
        if selector and not _labels_match(selector, found if isinstance(found, dict) else {}):
            return False
    return True


def _smp_targets(patch: Mapping[str, Any], data: Mapping[str, Any], names: Sequence[str]) -> bool:
    """A strategic merge patch without `target:` names its object itself."""
    meta = patch.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if patch.get("kind") != data.get("kind") or name not in names:
        return False
    group = str(patch.get("apiVersion", "")).rpartition("/")[0]
    return group == str(data.get("apiVersion", "")).rpartition("/")[0]


# --- what a patch writes -----------------------------------------------------------------


def _claims(patch: _Patch, data: Mapping[str, Any], names: Sequence[str]) -> Iterator[_Claim]:
    for doc in patch.docs:
        if isinstance(doc.data, list):  # JSON 6902 operations
            if patch.target is not None and _targets(patch.target, data, names):
                yield from _json6902(doc, data)
        elif isinstance(doc.data, dict):
            if patch.target is not None:
                applies = _targets(patch.target, data, names)
            else:
                applies = _smp_targets(doc.data, data, names)
            if applies:
                yield from _smp(doc, doc.data, data, (), ())


def _subtree(doc: _Doc, value: Any, path: KeyPath, at: KeyPath) -> Iterator[_Claim]:
    """The nodes under a value a patch wrote whole, each at its own line in the patch."""
    items: Iterator[tuple[str | int, Any]]
    if isinstance(value, dict):
        items = ((k, v) for k, v in value.items() if isinstance(k, str | int))
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for k, v in items:
        yield _Claim((*path, k), doc.written((*at, k)), True)
        yield from _subtree(doc, v, (*path, k), (*at, k))


def _directives_dropped(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _directives_dropped(v)
            for k, v in value.items()
            if not (isinstance(k, str) and k.startswith("$"))
        }
    if isinstance(value, list):
        return [_directives_dropped(v) for v in value]
    return value


def _merge_key(items: Sequence[Mapping[str, Any]]) -> str | None:
    return next((k for k in _MERGE_KEYS if all(k in item for item in items)), None)


def _smp(
    doc: _Doc, p: Any, r: Any, path: KeyPath, at: KeyPath, merge_key: str | None = None
) -> Iterator[_Claim]:
    """`merge_key`: the key that matched this list item, which names it, not writes it."""
    if isinstance(p, dict):
        if not isinstance(r, dict):
            return
        directive = p.get("$patch")
        if directive == "delete":
            return
        if directive == "replace":
            if _directives_dropped(p) == r:
                yield _Claim(path, doc.written(at), True)
                yield from _subtree(doc, r, path, at)
            return
        if path not in _IDENTITY:
            yield _Claim(path, doc.written(at), False)
        for k, v in p.items():
            sub = (*path, k)
            if isinstance(k, str) and (k.startswith("$") or sub in _IDENTITY or k == merge_key):
                continue
            if v is not None and isinstance(k, str | int) and k in r:
                yield from _smp(doc, v, r[k], sub, (*at, k))
    elif isinstance(p, list):
        if not isinstance(r, list):
            return
        items = [x for x in p if not (isinstance(x, dict) and x.get("$patch") == "delete")]
        key = _merge_key(items) if items and all(isinstance(x, dict) for x in items) else None
        if key is None:  # no merge key: the list is replaced whole
            if _directives_dropped(p) == r:
                yield _Claim(path, doc.written(at), True)
                yield from _subtree(doc, r, path, at)
            return
        for j, item in enumerate(p):
            if isinstance(item, dict) and item.get("$patch") != "delete":
                idx = next((n for n, x in enumerate(r) if _same(x, item, key)), None)
                if idx is not None:
                    yield from _smp(doc, item, r[idx], (*path, idx), (*at, j), key)
    elif p == r and type(p) is type(r):
        yield _Claim(path, doc.written(at), True)


def _same(x: Any, item: Mapping[str, Any], key: str) -> bool:
    return isinstance(x, dict) and key in x and x[key] == item[key]


def _pointer(text: str) -> list[str] | None:
    if not text.startswith("/"):
        return None
    return [t.replace("~1", "/").replace("~0", "~") for t in text[1:].split("/")]


def _resolve(data: Any, tokens: Sequence[str], value: Any) -> KeyPath | None:
    """A JSON pointer as a path into `data`, if the node exists there (`-`, the end of a
    list: the last item equal to what the operation added)."""
    path: list[str | int] = []
    node = data
    for n, t in enumerate(tokens):
        if isinstance(node, dict):
            if t not in node:
                return None
            path.append(t)
            node = node[t]
        elif isinstance(node, list):
            if t == "-" and n == len(tokens) - 1:
                idx = next((i for i in range(len(node) - 1, -1, -1) if node[i] == value), None)
            else:
                idx = int(t) if t.isdigit() and int(t) < len(node) else None
            if idx is None:
                return None
            path.append(idx)
            node = node[idx]
        else:
            return None
    return tuple(path)


def _at(data: Any, path: KeyPath) -> Any:
    for k in path:
        data = data[k]
    return data


def _json6902(doc: _Doc, data: Mapping[str, Any]) -> Iterator[_Claim]:
    for i, op in enumerate(doc.data):
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            continue
        kind = op.get("op")
        tokens = _pointer(op["path"])
        if tokens is None or kind not in ("add", "replace", "copy", "move"):
            continue
        value = op.get("value")
        path = _resolve(data, tokens, value)
        if path is None:
            continue
        if kind in ("add", "replace"):
            if "value" not in op or _at(data, path) != value:
                continue  # something later changed it: not this operation's value
            yield _Claim(path, doc.written((i, "path")), True)
            yield from _subtree(doc, value, path, (i, "value"))
        else:
            yield _Claim(path, doc.written((i, "path")), True)
