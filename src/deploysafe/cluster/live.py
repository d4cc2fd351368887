"""Objects as the API server holds them (admission requests, `kubectl get -o yaml` dumps).

What differs from files in a repository: the server adds fields no one wrote (status,
managedFields, resourceVersion ...), and some repository rules do not apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from deploysafe.config import Config, RuleSetting
from deploysafe.model import Target
from deploysafe.rules import BY_ID, REGISTRY

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

# Rules about what is committed to a repository, not about what the cluster holds.
REPOSITORY_ONLY = {
    "DS310": "a Secret in the API server is where secret data belongs; the rule is about "
    "Secrets committed to a repository",
}


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


def live_config(cfg: Config, *, per_object: bool = False) -> Config:
    """The policy for live objects: repository-only rules off; with `per_object`, rules
    that need the whole set of objects off too (an admission request carries one)."""
    rules = dict(cfg.rules)
    for rid in REPOSITORY_ONLY:
        if rid in BY_ID:
            rules[rid] = RuleSetting(enabled=False)
    if per_object:
        for rule in REGISTRY:
            if rule.target is not Target.KUBERNETES:
                rules[rule.id] = RuleSetting(enabled=False)
    return replace(cfg, rules=rules, inline_suppressions=False)
