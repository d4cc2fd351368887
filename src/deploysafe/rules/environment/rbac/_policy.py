"""What a Role or ClusterRole grants, matched the way the RBAC authorizer matches it."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.frozen import record
from deploysafe.k8s.pods import as_list
from deploysafe.model import Document, KeyPath

ROLE_KINDS = frozenset({"Role", "ClusterRole"})
RBAC_GROUP = "rbac.authorization.k8s.io"


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in as_list(value) if v is not None)


@record
class PolicyRule:
    """One entry of `rules:`; `path` points at it."""

    path: KeyPath
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...]

    def allows(self, verb: str) -> bool:
        return "*" in self.verbs or verb in self.verbs

    def covers_group(self, group: str) -> bool:
        return "*" in self.api_groups or group in self.api_groups

    def covers(self, resource: str) -> bool:
        """`resource` may be "pods" or "pods/exec"; "*" and "*/exec" match as in RBAC."""
        sub = resource.partition("/")[2]
        return any(r in ("*", resource) or (sub != "" and r == f"*/{sub}") for r in self.resources)

    def grants(self, verbs: tuple[str, ...], group: str, resource: str) -> tuple[str, ...]:
        """The verbs of `verbs` this rule grants on `resource` in `group` (every object)."""
        if self.resource_names or not self.covers_group(group) or not self.covers(resource):
            return ()
        return tuple(v for v in verbs if self.allows(v))

    def field(self, name: str) -> KeyPath:
        return (*self.path, name)


def policy_rules(doc: Document) -> Iterator[PolicyRule]:
    """The rules of a Role or ClusterRole (nothing for any other kind)."""
    if doc.kind not in ROLE_KINDS:
        return
    for i, entry in enumerate(as_list(doc.data.get("rules"))):
        if not isinstance(entry, dict):
            continue
        yield PolicyRule(
            ("rules", i),
            _strings(entry.get("apiGroups")),
            _strings(entry.get("resources")),
            _strings(entry.get("verbs")),
            _strings(entry.get("resourceNames")),
        )


def role_label(doc: Document) -> str:
    """E.g. "ClusterRole 'ci'" or "Role 'reader' (namespace 'shop')"."""
    label = f"{doc.kind} {doc.name or '<unnamed>'!r}"
    if doc.kind == "Role" and doc.namespace:
        label += f" (namespace {doc.namespace!r})"
    return label


def reach(doc: Document) -> str:
    """How far a grant of this role reaches, for messages."""
    if doc.kind == "ClusterRole":
        return "in every namespace once bound by a ClusterRoleBinding"
    return "in its namespace"
