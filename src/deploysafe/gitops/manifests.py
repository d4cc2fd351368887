"""A rendered set as the files of a release, their digest, and resource-by-resource diffs.

The environment folder (`target.path`) holds one YAML file per object, under
`<namespace>/` (or `_cluster/` for cluster-scoped ones), and a `kustomization.yaml` that lists
them, so Argo CD and Flux apply exactly these files and nothing else in the folder.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from deploysafe.errors import InputError
from deploysafe.frozen import record
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.k8s.masking import masked
from deploysafe.k8s.tenancy import Tenant, api_group, cluster_scoped
from deploysafe.model import Document

KUSTOMIZATION = "kustomization.yaml"
HEADER = (
    "# Written by deploysafe: every file in this folder is a release. Do not edit by hand;\n"
    "# change the source and run `deploysafe deploy`, or `deploysafe rollback`.\n"
)
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


class ReleaseSetError(InputError):
    """A rendered set that cannot become a release (duplicates, unreadable files)."""


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """What identifies an object in a cluster."""

    group: str
    kind: str
    namespace: str
    name: str

    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "group": self.group,
            "namespace": self.namespace or None,
            "name": self.name,
        }


def with_namespace(doc: Document, tenant: Tenant) -> dict[str, Any]:
    """The object as released: namespaced objects get the namespace they land in."""
    data = dict(doc.data)
    if cluster_scoped(doc, tenant):
        return data
    ns = doc.namespace
    if ns is not None and doc.own_namespace is None:
        meta = dict(doc.metadata)
        meta["namespace"] = ns
        data["metadata"] = meta
    return data


def key_of(data: Mapping[str, Any]) -> Key:
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return Key(
        api_group(str(data.get("apiVersion", ""))),
        str(data.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, width=1000)


def release_files(objects: Sequence[Mapping[str, Any]]) -> dict[str, bytes]:
    """The files of the release folder, by path inside it."""
    seen: dict[Key, int] = {}
    files: dict[str, bytes] = {}
    for i, data in enumerate(objects):
        key = key_of(data)
        if not key.name:
            raise ReleaseSetError(f"object {i + 1} ({key.kind or 'no kind'}) has no metadata.name")
        if key in seen:
            raise ReleaseSetError(
                f"{key.display()} is rendered twice (objects {seen[key] + 1} and {i + 1}); "
                "the cluster would keep only one of them"
            )
        seen[key] = i
        folder = _safe(key.namespace) if key.namespace else "_cluster"
        stem = f"{_safe(key.kind)}-{_safe(key.name)}"
        path = f"{folder}/{stem}.yaml"
        n = 2
        while path in files:  # same kind and name in two API groups
            path = f"{folder}/{stem}-{n}.yaml"
            n += 1
        files[path] = dump(data).encode()
    listing = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(files),
    }
    files[KUSTOMIZATION] = (HEADER + dump(listing)).encode()
    return dict(sorted(files.items()))


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text.lower()).strip("._") or "_"


def digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return "sha256:" + h.hexdigest()


def objects_in(files: Mapping[str, bytes]) -> dict[Key, Mapping[str, Any]]:
    """The objects a release folder holds (every YAML file but the kustomization)."""
    out: dict[Key, Mapping[str, Any]] = {}
    for path, raw in sorted(files.items()):
        if path == KUSTOMIZATION or not path.endswith((".yaml", ".yml")):
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ReleaseSetError(f"{path} is not UTF-8 text") from None
        loaded = load_kubernetes(text, path, strict=True)
        if loaded.errors:
            e = loaded.errors[0]
            raise ReleaseSetError(f"{path}:{e.line or 1}: {e.message}")
        for doc in loaded.documents:
            out[key_of(doc.data)] = doc.data
    return out


def documents_in(files: Mapping[str, bytes]) -> list[Document]:
    """A release folder as documents (to scan and tenant-check a set already released)."""
    docs: list[Document] = []
    for path, raw in sorted(files.items()):
        if path == KUSTOMIZATION or not path.endswith((".yaml", ".yml")):
            continue
        loaded = load_kubernetes(raw.decode("utf-8", errors="replace"), path, strict=True)
        if loaded.errors:
            e = loaded.errors[0]
            raise ReleaseSetError(f"{path}:{e.line or 1}: {e.message}")
        docs.extend(loaded.documents)
    return docs


# ---------------------------------------------------------------- diff


@record
class Change:
    action: str  # added, removed, changed
    key: Key
    diff: tuple[str, ...]  # unified diff lines of the object's YAML (Secret values masked)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            **self.key.to_json(),
            "diff": list(self.diff),
        }


def diff(
    old: Mapping[Key, Mapping[str, Any]], new: Mapping[Key, Mapping[str, Any]]
) -> list[Change]:
    changes = []
    for key in sorted(set(old) | set(new)):
        before = dump(masked(old[key])).splitlines() if key in old else []
        after = dump(masked(new[key])).splitlines() if key in new else []
        if before == after:
            continue
        action = "added" if key not in old else "removed" if key not in new else "changed"
        lines = difflib.unified_diff(before, after, "before", "after", lineterm="", n=2)
        changes.append(Change(action, key, tuple(list(lines)[2:])))
    return changes


def render_changes(changes: Iterable[Change], *, full: bool = True) -> list[str]:
    out = []
    sign = {"added": "+", "removed": "-", "changed": "~"}
    for c in changes:
        out.append(f"{sign[c.action]} {c.key.display()} ({c.action})")
        if full and c.action == "changed":
            out.extend("    " + line for line in c.diff)
    return out
