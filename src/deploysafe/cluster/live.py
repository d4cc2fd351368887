"""Objects as the API server holds them (admission requests, `kubectl get -o yaml` dumps).

What differs from files in a repository: the server adds fields no one wrote (status,
managedFields, resourceVersion ...); which rules apply to it each rule says (`Rule.scopes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# metadata fields the API server sets.
SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
# Annotations written by kubectl and controllers, not by the object's author. The
# last-applied configuration is a copy of the whole object (a Secret's data included).
SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deprecated.daemonset.template.generation",
)


def clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The object without status and server-set fields (a new mapping; `data` untouched).

    Only keys are removed, so a position index built for `data` stays right for the rest.
    """
    out = {k: v for k, v in data.items() if k != "status"}
    meta = data.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in SERVER_METADATA}
        ann = meta.get("annotations")
        if isinstance(ann, dict):
            ann = {k: v for k, v in ann.items() if k not in SERVER_ANNOTATIONS}
            if ann:
                meta["annotations"] = ann
            else:
                del meta["annotations"]
        out["metadata"] = meta
    return out
