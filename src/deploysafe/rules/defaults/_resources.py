"""Resource settings shared by DS504 (memory limit) and DS505 (CPU request)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.k8s.pods import Container, as_map, containers, pod_template
from deploysafe.model import Document, KeyPath


def missing(doc: Document, section: str, resource: str) -> Iterator[tuple[KeyPath, Container]]:
    """Containers without `resources.<section>.<resource>`, and where it belongs.

    Ephemeral containers may not set resources, so they are skipped. A pod-level value
    (`spec.resources`, PodLevelResources) covers every container.
    """
    pod = pod_template(doc)
    if pod is None:
        return
    if as_map(as_map(pod.spec.get("resources")).get(section)).get(resource) is not None:
        return
    for c in containers(pod):
        if c.field == "ephemeralContainers":
            continue
        res = as_map(c.data.get("resources"))
        if _set(res, section, resource):
            continue
        # A CPU or memory limit alone also sets the request to the same value.
        if section == "requests" and _set(res, "limits", resource):
            continue
        yield (*c.path, "resources", section, resource), c


def _set(res: Mapping[str, Any], section: str, resource: str) -> bool:
    value = as_map(res.get(section)).get(resource)
    return value is not None and value != ""
