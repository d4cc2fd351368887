"""Files become Documents: parsed data, a position index, and where they came from."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from deploysafe.frozen import record
from deploysafe.model import Document, KeyPath, ScanError
from deploysafe.textlines import lines_of, newlines_only
from deploysafe.yamlload import Parsed, YamlProblem, document_spans, parse_all, top_level_kind

# Kinds no rule reads: skipped before they are parsed (CRD schemas are most of the bytes
# of a typical deployment repository and carry no workload settings).
UNREAD_KINDS = frozenset({"CustomResourceDefinition", "APIService"})


# How a Helm render that was given no namespace shows `.Release.Namespace` wherever a
# template writes it. Not a valid namespace name, so no real namespace is mistaken for it.
RELEASE_NAMESPACE = "<release namespace>"


def is_kubernetes(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
        and bool(data["kind"])
    )


@record
class LoadResult:
    """The Kubernetes objects of one YAML or JSON stream, and its errors."""

    documents: list[Document]
    errors: list[ScanError]
    skipped: int  # documents not parsed because no rule reads their kind


def load_kubernetes(
    text: str,
    file: str,
    *,
    default_namespace: str | None = None,
    rendered_from: str | None = None,
    strict: bool = False,
) -> LoadResult:
    """Parse a YAML/JSON stream; keep Kubernetes objects (expanding `kind: List`).

    Non-Kubernetes YAML is ignored silently unless `strict` (the file was named as
    Kubernetes input, e.g. rendered output), in which case non-mapping documents are errors.
    """
    docs: list[Document] = []
    errors: list[ScanError] = []
    skipped = 0
    # A break other than "\n" anywhere sends every document's kind to the slower search.
    odd = not newlines_only(text)
    # An ASCII text's bytes have its offsets: both searches run over them.
    encoded = text.encode("ascii") if text.isascii() else None
    line = at = 0  # the lines before `at`, counted as far as a parsed document needs
    for start, end in document_spans(text, encoded):
        if top_level_kind(text, start, end, odd, UNREAD_KINDS, encoded) is not None:
            skipped += 1
            continue
        line += text.count("\n", at, start)
        at = start
        for parsed in parse_all(text[start:end], line):
            if isinstance(parsed, YamlProblem):
                errors.append(ScanError(file, parsed.line, str(parsed)))
                continue
            if parsed.warnings:  # (most documents have none: no generator made)
                errors.extend(ScanError(file, ln, msg) for ln, msg in parsed.warnings)
            docs.extend(_objects(parsed, file, text, default_namespace, rendered_from))
            if strict and parsed.data is not None and not isinstance(parsed.data, dict):
                errors.append(
                    ScanError(file, parsed.line, "document is not a mapping (a Kubernetes object)")
                )
    return LoadResult(docs, errors, skipped)


def _objects(
    parsed: Parsed,
    file: str,
    text: str,
    default_namespace: str | None,
    rendered_from: str | None,
) -> Iterator[Document]:
    data = parsed.data
    if not is_kubernetes(data):
        return
    lines = lines_of(text)  # split once the file holds an object (a CRD is never split)
    if data["kind"] == "List" and isinstance(data.get("items"), list):
        for i, item in enumerate(data["items"]):
            if not is_kubernetes(item):
                continue
            prefix: KeyPath = ("items", i)
            positions = {p[2:]: pos for p, pos in parsed.positions.items() if p[:2] == prefix}
            positions[()] = parsed.positions.get(prefix, (parsed.line, 1))
            yield Document(file, item, positions, lines, default_namespace, rendered_from)
        return
    yield Document(file, data, parsed.positions, lines, default_namespace, rendered_from)


def install_unit(doc: Document) -> str:
    """What an object without a namespace is installed with, so that it shares the one
    namespace decided at install time: its render (one Helm release, one kustomize build)
    or, for a plain manifest, its folder (`kubectl apply -f folder`)."""
    if doc.rendered_from:
        return doc.rendered_from
    return _folder_unit(doc.file)


@functools.lru_cache(maxsize=256)  # asked per object by three RBAC rules, file by file
def _folder_unit(file: str) -> str:
    folder = _folder(file)
    return "folder ./" if folder == "." else f"folder {folder}/"


def _folder(file: str) -> str:
    """`PurePosixPath(file).parent.as_posix()`; a path it would not normalise (no empty
    or `.` part, relative) is cut at its last `/` instead of parsed (a scan asks for each
    folder of the tree)."""
    if file.startswith(("/", "./")) or file.endswith(("/", "/.")) or "//" in file or "/./" in file:
        return PurePosixPath(file).parent.as_posix()
    return file.rpartition("/")[0] or "."


def release_namespace_dropped(doc: Document) -> Document:
    """A rendered object whose namespace is `.Release.Namespace` of a render given none:
    it has no namespace of its own, the one it is installed in is decided then."""
    if doc.own_namespace != RELEASE_NAMESPACE:
        return doc
    meta = {k: v for k, v in doc.metadata.items() if k != "namespace"}
    return replace(doc, data={**doc.data, "metadata": meta})
