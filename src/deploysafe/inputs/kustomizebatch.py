"""Many kustomize roots built by one kustomize process, and its output split back per root.

A `kubectl kustomize` process spends most of its time starting (loading its OpenAPI schema):
about 0.19 s of CPU for a small overlay, 0.03 s per overlay when 30 are built together. A
batch is a throwaway kustomization whose resources are one folder per root (`part-N`), each
including the root and marking every object it yields with an annotation that says N; the
output is split by that mark, and the mark (the annotation, and its entry in the transformer
annotation) is removed, so each part reads as the root's own build through a wrapper.

Kustomize composes, it does not isolate: objects of the whole batch share one id space
(a duplicate id fails the build) and one name-reference pass (a reference in one root can
be renamed to an object of another). Roots whose kustomizations reach anything that acts
across the whole build (vars, configurations, crds, openapi, Helm charts), rename some of
their objects apart (a transformer config, a prefix or suffix below the root) or name a
remote base are never batched; roots that read one folder and rename it alike are put in
different batches. Kustomize adds the parts in order and stops at one it cannot add: a part
that holds an id an earlier part has too (objects apart from any shared folder, such as the
Namespace that each app of a platform declares) starts a new batch with the parts after it,
and a broken part, like one that spells a name only other parts define (`leaked`), is built
on its own. Anything unexpected in
the output gives None, and the caller builds every root alone.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from deploysafe.frozen import record
from deploysafe.inputs.patches import TRANSFORMATIONS

MARK = "deploysafe.dev/batch-part"
_PART = "part-{}"
_MARKER_FILE = "mark.yaml"
# Kustomization fields whose effect reaches past the root that writes them.
GLOBAL_FIELDS = frozenset(
    {
        "vars",
        "configurations",
        "crds",
        "openapi",
        "helmCharts",
        "helmGlobals",
        "helmChartInflationGenerator",
    }
)
SIZE = 32  # beyond about 60 roots kustomize's own work grows faster than the roots


def batchable(kustomization: Any, *, root: bool = True) -> bool:
    """Whether a kustomization of a root's tree (`root`: the root's own) acts only on what
    it builds itself (a Component is not a root: its build fails, alone), and renames all
    the root's objects alike. Kustomize's name-reference pass keeps, of several objects a
    reference may name, those renamed by the referrer's prefixes and suffixes: when the one
    object of its root is prefixed below the referrer, another root's namesake makes it
    keep none, and the reference stays as written. A prefix or suffix below the root, or
    a transformer config (it may rename some kinds only), may do that."""
    return (
        isinstance(kustomization, dict)
        and kustomization.get("kind") != "Component"
        and not GLOBAL_FIELDS.intersection(kustomization)
        and "transformers" not in kustomization
        and (root or not {"namePrefix", "nameSuffix"}.intersection(kustomization))
    )


Renames = tuple[str | None, str | None, str | None]


def renames(kustomization: Any) -> Renames:
    """The namespace, namePrefix and nameSuffix a kustomization sets."""
    data = kustomization if isinstance(kustomization, dict) else {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    return text("namespace"), text("namePrefix"), text("nameSuffix")


@record
class Root:
    """What a batch plan knows of a root: what its own kustomization declares of where its
    objects land and how they are named (namespace, namePrefix, nameSuffix), and every
    kustomization folder its build reads."""

    renames: Renames
    reads: frozenset[str]


def plan(roots: Sequence[Root], workers: int) -> list[list[int]]:
    """Indexes of `roots` grouped into batches: both workers get work, no batch is larger
    than SIZE, and no two roots of a batch read one folder without renaming it apart (the
    overlays of a base that set one namespace and prefix build objects with the same ids)."""
    if not roots:
        return []
    size = max(1, min(SIZE, -(-len(roots) // max(1, workers))))
    batches: list[list[int]] = []
    held: list[dict[str, set[Renames]]] = []
    for index, root in enumerate(roots):
        for batch, reads in zip(batches, held, strict=True):
            if len(batch) < size and not any(root.renames in reads.get(f, ()) for f in root.reads):
                break
        else:
            batch, reads = [], {}
            batches.append(batch)
            held.append(reads)
        batch.append(index)
        for folder in root.reads:
            reads.setdefault(folder, set()).add(root.renames)
    return batches


def write(top: Path, folders: Sequence[Path]) -> str:
    """The batch kustomization in the empty folder `top`, one part per folder; the mark's
    annotation key. Kustomize refuses absolute resource paths: each part names its folder
    by a relative one. The key is new each batch: the marker overwrites an annotation of
    the same key, and a root's own could be read as the mark."""
    mark = f"{MARK}-{secrets.token_hex(8)}"
    parts = []
    for n, folder in enumerate(folders):
        part = top / _PART.format(n)
        part.mkdir()
        target = os.path.relpath(folder.resolve(), part)
        (part / "kustomization.yaml").write_text(
            _dump({"resources": [target], "transformers": [_MARKER_FILE]}), encoding="utf-8"
        )
        marker = {
            "apiVersion": "builtin",
            "kind": "AnnotationsTransformer",
            "metadata": {"name": "mark"},
            "annotations": {mark: str(n)},
            "fieldSpecs": [{"path": "metadata/annotations", "create": True}],
        }
        (part / _MARKER_FILE).write_text(_dump(marker), encoding="utf-8")
        parts.append(_PART.format(n))
    top_file = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": parts,
        "buildMetadata": ["originAnnotations", "transformerAnnotations"],
    }
    (top / "kustomization.yaml").write_text(_dump(top_file), encoding="utf-8")
    return mark


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)


_FAILED_PART = re.compile(r"accumulating resources from '" + _PART.format(r"(\d+)") + "'")


def failed_parts(message: str, count: int) -> set[int]:
    """The parts kustomize names as ones it could not add (broken, or a duplicate id)."""
    return {n for n in map(int, _FAILED_PART.findall(message)) if n < count}


def duplicate(message: str) -> bool:
    """Whether kustomize could not add a part because an earlier part has one of its ids."""
    return "may not add resource with an already registered id" in message


_META = re.compile(r"^metadata:\n((?:[ #].*\n|\n)*)", re.MULTILINE)
_BLOCK = re.compile(rf"^    {re.escape(TRANSFORMATIONS)}: \|-?\n((?:      .*\n)+)", re.MULTILINE)
_ENTRY = re.compile(r"^      - ", re.MULTILINE)


def split(text: str, count: int, mark: str) -> list[str] | None:
    """The batch output as `count` texts, each what its root's build gives; None when an
    object has no `mark` or its mark is not where the marker put it."""
    mark_line = re.compile(rf'^    {re.escape(mark)}: "?(\d+)"?\n', re.MULTILINE)
    parts: list[list[str]] = [[] for _ in range(count)]
    if not text.strip():
        return ["" for _ in range(count)]
    for doc in text.split("\n---\n"):
        doc = doc if doc.endswith("\n") else doc + "\n"
        unmarked = _unmark(doc, count, mark_line)
        if unmarked is None:
            return None
        n, body = unmarked
        parts[n].append(body)
    return ["---\n".join(docs) for docs in parts]


def _unmark(doc: str, count: int, mark_line: re.Pattern[str]) -> tuple[int, str] | None:
    # Only metadata is read and changed: a field of another (a literal, or a key named
    # `annotations` of a spec) may look like the lines the mark adds.
    meta = _META.search(doc)
    if meta is None:
        return None
    head, tail = doc[: meta.start(1)], doc[meta.end(1) :]
    doc = meta.group(1)
    marks = list(mark_line.finditer(doc))
    if len(marks) != 1 or int(marks[0].group(1)) >= count:
        return None
    m = marks[0]
    n = int(m.group(1))
    doc = doc[: m.start()] + doc[m.end() :]
    block = _BLOCK.search(doc)
    if block is None:
        return None
    entries = [e.start() for e in _ENTRY.finditer(block.group(1))]
    last = block.group(1)[entries[-1] :] if entries else ""
    expected = f"      - configuredIn: {_PART.format(n)}/{_MARKER_FILE}\n"
    if not last.startswith(expected) or "AnnotationsTransformer" not in last:
        return None
    if len(entries) == 1:  # only the marker touched it: the root's build has no annotation
        doc = doc[: block.start()] + doc[block.end() :]
    else:
        doc = doc[: block.start(1) + entries[-1]] + doc[block.end() :]
    return n, head + _drop_empty_annotations(doc) + tail


def _drop_empty_annotations(meta: str) -> str:
    return re.sub(r"^  annotations:\n(?!    )", "", meta, count=1, flags=re.MULTILINE)


_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")
_API = re.compile(r"^apiVersion: *(.+?) *$", re.MULTILINE)
_KIND = re.compile(r"^kind: *(.+?) *$", re.MULTILINE)
_NAME = re.compile(r"^  name: *(.+?) *$", re.MULTILINE)
_NAMESPACE = re.compile(r"^  namespace: *(.+?) *$", re.MULTILINE)

_ORIGIN = re.compile(r"^    config\.kubernetes\.io/origin: \|-?\n((?:      .*\n)+)", re.MULTILINE)

_Id = tuple[str, str, str, str]  # apiVersion, kind, namespace, origin annotation


def _objects(text: str) -> dict[str, set[_Id]]:
    """Each object name of a part's output with the ids (less the name) that carry it."""

    def value(pattern: re.Pattern[str], text: str) -> str:
        m = pattern.search(text)
        return m.group(1).strip("'\"") if m else ""

    names: dict[str, set[_Id]] = {}
    for doc in text.split("\n---\n"):
        meta = _META.search(doc if doc.endswith("\n") else doc + "\n")
        body = meta.group(1) if meta else ""
        kind = value(_KIND, doc)
        name = value(_NAME, body)
        if kind and name:
            ident = (value(_API, doc), kind, value(_NAMESPACE, body), value(_ORIGIN, body))
            names.setdefault(name, set()).add(ident)
    return names


def _covered(ident: _Id, own: set[_Id], spaces: set[str]) -> bool:
    """Whether a part's own objects of one name cover another part's `ident` of it: one of
    the same id (both in a batch fail it), or the same source object in another namespace
    that holds none of the part's objects (a reference the other could be renamed after
    sees the part's own as well: the same name)."""
    api, kind, namespace, origin = ident
    moved = namespace not in spaces and origin != ""
    return any(
        (a, k) == (api, kind) and (ns == namespace or (moved and o == origin))
        for a, k, ns, o in own
    )


def leaked(parts: Sequence[str]) -> set[int]:
    """Parts whose text holds a name that another part gives an object this part has no
    object of by that name, apiVersion, kind and namespace (nor, in another namespace, from
    the same source): the one way a reference can have been renamed after an object of
    another root. Over-approximates (the name may be plain text), never misses a reference
    kustomize rewrote as a whole value."""
    objects = [_objects(text) for text in parts]
    owners: dict[str, list[int]] = {}
    for n, names in enumerate(objects):
        for name in names:
            owners.setdefault(name, []).append(n)
    suspect: set[int] = set()
    for n, text in enumerate(parts):
        spaces = {ident[2] for idents in objects[n].values() for ident in idents}
        tokens = set(_TOKEN.findall(text))
        for name, holders in owners.items():
            if holders == [n]:
                continue
            spelled = name in tokens if _TOKEN.fullmatch(name) else name in text
            if not spelled:
                continue
            own = objects[n].get(name, set())
            others = set().union(*(objects[h][name] for h in holders if h != n))
            if not all(_covered(ident, own, spaces) for ident in others):
                suspect.add(n)
                break
    return suspect
