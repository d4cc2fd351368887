"""Files become Documents: parsed data, a position index, and where they came from."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deploysafe.model import Path, Resource, ScanError, Target
from deploysafe.yamlload import Parsed, YamlProblem, parse_all, split_documents, top_level_kind

# Kinds no rule reads: skipped before they are parsed (CRD schemas are most of the bytes
# of a typical deployment repository and carry no workload settings).
UNREAD_KINDS = frozenset({"CustomResourceDefinition", "APIService"})


# Identity equality and hashing: rules share per-document work through small caches.
@dataclass(frozen=True, slots=True, eq=False)
class Document:
    """One Kubernetes object with the positions of its keys."""

    file: str  # where findings point: repo-relative path (the template for rendered output)
    data: Mapping[str, Any]
    positions: Mapping[Path, tuple[int, int]]
    lines: Sequence[str] = field(repr=False)  # the text the positions refer to
    default_namespace: str | None = None  # what the render supplies (Helm, kustomize)
    rendered_from: str | None = None  # e.g. "helm chart/" or "kustomize overlays/prod"
    # KUBERNETES for objects; other types carry a whole file (workflow, Dockerfile, text).
    type: Target = Target.KUBERNETES

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str | None:
        name = self.metadata.get("name")
        return str(name) if name is not None else None

    @property
    def own_namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns not in (None, "") else None

    @property
    def namespace(self) -> str | None:
        """The namespace the object lands in, as far as the scanned files say."""
        return self.own_namespace or self.default_namespace

    @property
    def resource(self) -> Resource | None:
        if self.type is not Target.KUBERNETES:
            return None
        return Resource(self.kind, self.namespace, self.name)

    def locate(self, path: Path) -> tuple[int, int]:
        """Line and column of `path`, or of its nearest ancestor that exists."""
        p = path
        while True:
            hit = self.positions.get(p)
            if hit is not None:
                return hit
            if not p:
                return (1, 1)
            p = p[:-1]


def is_kubernetes(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
        and bool(data["kind"])
    )


@dataclass(frozen=True, slots=True)
class LoadResult:
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
    lines = text.splitlines()
    docs: list[Document] = []
    errors: list[ScanError] = []
    skipped = 0
    for offset, chunk in split_documents(text):
        if top_level_kind(chunk) in UNREAD_KINDS:
            skipped += 1
            continue
        for parsed in parse_all(chunk, offset):
            if isinstance(parsed, YamlProblem):
                errors.append(ScanError(file, parsed.line, str(parsed)))
                continue
            errors.extend(ScanError(file, ln, msg) for ln, msg in parsed.warnings)
            docs.extend(_objects(parsed, file, lines, default_namespace, rendered_from))
            if strict and parsed.data is not None and not isinstance(parsed.data, dict):
                errors.append(
                    ScanError(file, parsed.line, "document is not a mapping (a Kubernetes object)")
                )
    return LoadResult(docs, errors, skipped)


def _objects(
    parsed: Parsed,
    file: str,
    lines: Sequence[str],
    default_namespace: str | None,
    rendered_from: str | None,
) -> Iterator[Document]:
    data = parsed.data
    if not is_kubernetes(data):
        return
    if data["kind"] == "List" and isinstance(data.get("items"), list):
        for i, item in enumerate(data["items"]):
            if not is_kubernetes(item):
                continue
            prefix: Path = ("items", i)
            positions = {p[2:]: pos for p, pos in parsed.positions.items() if p[:2] == prefix}
            positions[()] = parsed.positions.get(prefix, (parsed.line, 1))
            yield Document(file, item, positions, lines, default_namespace, rendered_from)
        return
    yield Document(file, data, parsed.positions, lines, default_namespace, rendered_from)
