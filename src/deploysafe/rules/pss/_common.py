"""What the PSS checks share: the pod, its containers, and PSA's reading of the fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deploysafe.documents import Document
from deploysafe.k8s import Container, PodTemplate, as_map, containers, pod_template
from deploysafe.model import Path

# Upstream examples share one shape: a Pod in a namespace, the smallest that PSA evaluates.
POD_HEAD = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
"""


# For baseline checks that a restricted check replaces: the example namespace enforces
# baseline, so the example is judged by this rule rather than by its restricted successor.
BASELINE_NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {pod-security.kubernetes.io/enforce: baseline}
---
"""


def pod_and_containers(doc: Document) -> tuple[PodTemplate, list[Container]] | None:
    pod = pod_template(doc)
    if pod is None:
        return None
    return pod, list(containers(pod))


def is_set(data: Mapping[str, Any], key: str) -> bool:
    """A Go pointer field is non-nil: the key is there with a non-null value."""
    return data.get(key) is not None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def user_namespaced(pod: PodTemplate) -> bool:
    """`hostUsers: false`: the pod runs in its own user namespace (KEP-127)."""
    return pod.spec.get("hostUsers") is False


def pod_sc_path(pod: PodTemplate, *rest: str | int) -> Path:
    return (*pod.spec_path, "securityContext", *rest)


def sc_path(c: Container, *rest: str | int) -> Path:
    return (*c.path, "securityContext", *rest)


def pod_sc(pod: PodTemplate, key: str) -> Mapping[str, Any]:
    return as_map(pod.security_context.get(key))


def annotation_path(pod: PodTemplate, key: str) -> Path:
    return (*pod.path, "metadata", "annotations", key)
