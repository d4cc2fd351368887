"""The `tenants:` section: which namespaces and cluster-scoped kinds a team's releases may
touch, and what `deploysafe platform` sets up for it.

    tenants:
      shop:
        namespaces: [shop, shop-staging, "shop-*"]   # globs allowed
        cluster_kinds: []                            # cluster-scoped kinds it may create
        pod_security: restricted                     # PSA level `deploysafe platform` sets
        quota: {requests.cpu: "4", requests.memory: 8Gi, pods: "50"}
        limits: {default: {memory: 512Mi}, defaultRequest: {cpu: 100m, memory: 128Mi}}

The checks against a tenant live in deploysafe.k8s.tenancy.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import field, replace
from typing import Any

from deploysafe.config.reader import Reader, quoted
from deploysafe.frozen import record
from deploysafe.model import KeyPath, Level

KEYS = frozenset({"namespaces", "cluster_kinds", "pod_security", "quota", "limits"})
_LIMIT_KEYS = frozenset({"default", "defaultRequest", "max", "min"})
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NS_GLOB = re.compile(r"^[a-z0-9*?\[\]!-]+$")
_KIND = re.compile(r"^(?:[a-z0-9.-]+/)?[A-Z][A-Za-z0-9]*$")

DEFAULT_QUOTA: Mapping[str, str] = {
    "requests.cpu": "4",
    "requests.memory": "8Gi",
    "limits.memory": "16Gi",
    "pods": "50",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
}
DEFAULT_LIMITS: Mapping[str, Mapping[str, str]] = {
    "default": {"memory": "512Mi"},
    "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
}


def api_group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@record
class ClusterKind:
    """An allowed cluster-scoped kind; group None = any group (a bare `Kind` in config)."""

    kind: str
    group: str | None = None

    def matches(self, kind: str, api_version: str) -> bool:
        if kind != self.kind:
            return False
        return self.group is None or self.group == api_group(api_version)

    def display(self) -> str:
        return f"{self.group}/{self.kind}" if self.group else self.kind


@record
class Tenant:
    name: str
    namespaces: tuple[str, ...]  # names or globs
    cluster_kinds: tuple[ClusterKind, ...] = ()
    pod_security: Level = Level.RESTRICTED
    quota: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_QUOTA))
    limits: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def owns(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in self.namespaces)

    def may_create(self, kind: str, api_version: str) -> bool:
        return any(k.matches(kind, api_version) for k in self.cluster_kinds)

    @property
    def literal_namespaces(self) -> tuple[str, ...]:
        """Namespaces spelled out (no glob): the ones the platform config can create."""
        return tuple(ns for ns in self.namespaces if not _is_glob(ns))

    def describe(self) -> str:
        return ", ".join(self.namespaces) or "none"


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def parse(r: Reader, raw: Any) -> dict[str, Tenant]:
    """Every valid tenant of the section; problems go to the reader."""
    out = {}
    for name, value in r.mapping(raw, ("tenants",)).items():
        with r.item():
            out[str(name)] = _tenant(r, name, value)
    return out


def _tenant(r: Reader, name: Any, raw: Any) -> Tenant:
    p: KeyPath = ("tenants", str(name))
    if not isinstance(name, str) or not _NAME.match(name):
        raise r.fail(p, "a tenant name is a DNS label (lower-case letters, digits, -)")
    t = r.mapping(raw, p, KEYS)
    if "namespaces" not in t:
        raise r.fail(p, "a tenant needs `namespaces` (names or globs it may deploy to)")
    namespaces = r.strings(t["namespaces"], (*p, "namespaces"))
    if not namespaces:
        raise r.fail((*p, "namespaces"), "list at least one namespace")
    for i, ns in enumerate(namespaces):
        if not _NS_GLOB.match(ns) or ns.strip("*?") == "":
            raise r.fail(
                (*p, "namespaces", i),
                f"{quoted(ns)} is not a namespace name or a glob over names (a bare `*` would "
                "let the tenant into every namespace, kube-system included)",
            )
    kinds = []
    for i, spec in enumerate(r.strings(t.get("cluster_kinds"), (*p, "cluster_kinds"))):
        if not _KIND.match(spec):
            raise r.fail(
                (*p, "cluster_kinds", i), f"{quoted(spec)} is not a kind (`Kind` or `group/Kind`)"
            )
        group, _, kind = spec.rpartition("/")
        kinds.append(ClusterKind(kind, group or None))
    tenant = Tenant(name, namespaces, tuple(kinds))
    if "pod_security" in t:
        level = r.string(t["pod_security"], (*p, "pod_security"))
        if level not in ("restricted", "baseline"):
            raise r.fail((*p, "pod_security"), "expected restricted or baseline")
        tenant = replace(tenant, pod_security=Level(level))
    if "quota" in t:
        tenant = replace(tenant, quota=_quantities(r, t["quota"], (*p, "quota")))
    if "limits" in t:
        lp = (*p, "limits")
        raw_limits = r.mapping(t["limits"], lp, _LIMIT_KEYS)
        limits = {k: _quantities(r, v, (*lp, k)) for k, v in raw_limits.items()}
        tenant = replace(tenant, limits=limits)
    return tenant


def _quantities(r: Reader, raw: Any, path: KeyPath) -> dict[str, str]:
    out = {}
    for k, v in r.mapping(raw, path).items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise r.fail((*path, str(k)), "expected a quantity such as 4, 500m or 8Gi")
        out[str(k)] = str(v)
    return out
