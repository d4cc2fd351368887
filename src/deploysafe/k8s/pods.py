"""Shared Kubernetes knowledge: where pod specs live, containers, effective settings."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.frozen import record
from deploysafe.model import Document, KeyPath

# Where the pod template sits in each built-in pod-carrying kind (as pod-security-admission
# extracts it). Any other kind with a pod template at spec.template (Argo Rollouts, OpenShift
# DeploymentConfig, ...) is handled too.
_TEMPLATE_PATHS: Mapping[str, KeyPath] = {
    "Pod": (),
    "PodTemplate": ("template",),
    "ReplicationController": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@record(eq=False)  # identity hash: cached per document
class PodTemplate:
    """A pod's metadata and spec inside a document, with their paths."""

    path: KeyPath  # to the object holding metadata + spec ("" for a Pod)
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]

    @property
    def spec_path(self) -> KeyPath:
        return (*self.path, "spec")

    @property
    def annotations(self) -> Mapping[str, Any]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def security_context(self) -> Mapping[str, Any]:
        return as_map(self.spec.get("securityContext"))

    @property
    def is_windows(self) -> bool:
        os_ = as_map(self.spec.get("os"))
        return os_.get("name") == "windows"


@record
class Container:
    """A container of a pod spec, with its path in the document and the list it is in."""

    path: KeyPath
    data: Mapping[str, Any]
    field: str  # initContainers, containers or ephemeralContainers

    @property
    def name(self) -> str:
        return str(self.data.get("name", "<unnamed>"))

    @property
    def security_context(self) -> Mapping[str, Any]:
        return as_map(self.data.get("securityContext"))

    @property
    def label(self) -> str:
        kind = {"initContainers": "init container", "ephemeralContainers": "ephemeral container"}
        return f"{kind.get(self.field, 'container')} {self.name!r}"


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def get(data: Any, *path: str | int) -> Any:
    """Follow a path through dicts and lists; None where it breaks."""
    for p in path:
        if isinstance(p, int):
            if not isinstance(data, list) or p >= len(data):
                return None
            data = data[p]
        else:
            if not isinstance(data, dict):
                return None
            data = data.get(p)
    return data


@functools.lru_cache(maxsize=16)  # every pod rule asks; the engine checks one doc at a time
def pod_template(doc: Document) -> PodTemplate | None:
    data = doc.data
    path = _TEMPLATE_PATHS.get(doc.kind)
    if path is None:
        # Custom resources that carry a pod template at spec.template.
        tmpl = get(data, "spec", "template")
        if isinstance(tmpl, dict) and isinstance(get(tmpl, "spec", "containers"), list):
            path = ("spec", "template")
        else:
            return None
    holder = get(data, *path) if path else data
    if not isinstance(holder, dict):
        return None
    spec = holder.get("spec")
    if not isinstance(spec, dict):
        return None
    return PodTemplate(path, as_map(holder.get("metadata")), spec)


def containers(pod: PodTemplate) -> Iterator[Container]:
    """Every container of the pod, init and ephemeral ones included, in PSA's order."""
    return iter(_containers(pod))


@functools.lru_cache(maxsize=16)  # asked by every pod rule, for the same (cached) pod
def _containers(pod: PodTemplate) -> tuple[Container, ...]:
    return tuple(
        Container((*pod.spec_path, fld, i), c, fld)
        for fld in CONTAINER_FIELDS
        for i, c in enumerate(as_list(pod.spec.get(fld)))
        if isinstance(c, dict)
    )


def forget() -> None:
    """Empty the caches above: each keeps its last objects alive, which for a large object
    (an 8 MiB admission review) is hundreds of MiB."""
    pod_template.cache_clear()
    _containers.cache_clear()
