"""What the PSS checks share: the pod, its containers, and PSA's reading of the fields."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.k8s.pods import Container, PodTemplate, as_map, containers, pod_template
from deploysafe.model import Document, KeyPath
from deploysafe.rules.base import Context, Edit, EditOp, Fix, FlowMap

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

# What a restricted Pod sets, on the pod and on its container: each restricted example starts
# from these and changes the one setting its rule is about.
RESTRICTED_POD_SC = ("runAsNonRoot: true", "seccompProfile: {type: RuntimeDefault}")
RESTRICTED_CONTAINER_SC = ("allowPrivilegeEscalation: false", "capabilities: {drop: [ALL]}")


def restricted_pod(
    *,
    spec: tuple[str, ...] = (),
    pod_sc: tuple[str, ...] = RESTRICTED_POD_SC,
    container_sc: tuple[str, ...] = RESTRICTED_CONTAINER_SC,
    tail: str = "",
) -> str:
    """An example Pod that passes every restricted check unless told otherwise.

    `spec` lines come first in the pod spec, `pod_sc` and `container_sc` are the lines of the
    pod's and the container's securityContext, and `tail` is YAML appended to the spec.
    """
    lines = ["spec:", *(f"  {line}" for line in spec)]
    lines += ["  securityContext:", *(f"    {line}" for line in pod_sc)]
    lines += ["  containers:", "  - name: app", "    image: registry.example/app:1.0"]
    lines += ["    securityContext:", *(f"      {line}" for line in container_sc)]
    return POD_HEAD + "\n".join(lines) + "\n" + tail


def pod_and_containers(doc: Document) -> tuple[PodTemplate, list[Container]] | None:
    pod = pod_template(doc)
    if pod is None:
        return None
    return pod, list(containers(pod))


def security_contexts(
    pod: PodTemplate, ctrs: list[Container]
) -> Iterator[tuple[str, Mapping[str, Any], KeyPath]]:
    """The pod's securityContext, then each container's: (who, the context, its path)."""
    yield "pod", pod.security_context, pod_sc_path(pod)
    for c in ctrs:
        yield c.label, c.security_context, sc_path(c)


def windows_exempt(pod: PodTemplate, ctx: Context) -> bool:
    """From policy 1.25, pods with `spec.os.name: windows` skip the Linux-only checks."""
    return ctx.pss_version >= (1, 25) and pod.is_windows


def user_namespace_exempt(pod: PodTemplate, ctx: Context) -> bool:
    """From policy 1.35, a pod in its own user namespace skips the checks about host root."""
    return ctx.pss_version >= (1, 35) and user_namespaced(pod)


def is_set(data: Mapping[str, Any], key: str) -> bool:
    """A Go pointer field is non-nil: the key is there with a non-null value."""
    return data.get(key) is not None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def user_namespaced(pod: PodTemplate) -> bool:
    """`hostUsers: false`: the pod runs in its own user namespace (KEP-127)."""
    return pod.spec.get("hostUsers") is False


def pod_sc_path(pod: PodTemplate, *rest: str | int) -> KeyPath:
    return (*pod.spec_path, "securityContext", *rest)


def sc_path(c: Container, *rest: str | int) -> KeyPath:
    return (*c.path, "securityContext", *rest)


def pod_sc(pod: PodTemplate, key: str) -> Mapping[str, Any]:
    return as_map(pod.security_context.get(key))


def annotation_path(pod: PodTemplate, key: str) -> KeyPath:
    return (*pod.path, "metadata", "annotations", key)


# --- fixes ---------------------------------------------------------------------------------


def _named(path: KeyPath) -> str:
    """The last keys of a path, as a fix's summary names them: `securityContext.privileged`."""
    keys = [str(p) for p in path if isinstance(p, str)]
    return ".".join(keys[-2:])


def remove(path: KeyPath, *, safe: bool = False, list_item: bool = False) -> Fix:
    """Delete the node at `path` (and the list or mapping that it leaves empty)."""
    what = f"{_named(path)}[{path[-1]}]" if list_item else _named(path)
    return Fix((Edit(EditOp.DELETE, path),), safe, f"remove {what}")


def set_to(path: KeyPath, value: Any, shown: str, *, safe: bool = False) -> Fix:
    return Fix((Edit(EditOp.SET, path, value),), safe, f"set {_named(path)}: {shown}")


RUNTIME_DEFAULT = FlowMap((("type", "RuntimeDefault"),))


def pod_spec_path(doc: Document) -> KeyPath | None:
    pod = pod_template(doc)
    return None if pod is None else pod.spec_path


def value_at(doc: Document, path: KeyPath) -> Any:
    """The value at `path`, or None where the path leaves the document."""
    node: Any = doc.data
    for key in path:
        if isinstance(node, dict) and isinstance(key, str):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def fixed_pod(before: str, *changes: tuple[str, str]) -> str:
    """`before` with each (old, new) text replaced once: a fix example's `after`."""
    for old, new in changes:
        assert old in before, old
        before = before.replace(old, new, 1)
    return before
