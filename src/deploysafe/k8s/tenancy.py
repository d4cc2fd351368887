"""Tenants: which namespaces and cluster-scoped kinds a team's releases may touch.

`deploysafe.yaml`:

    tenants:
      shop:
        namespaces: [shop, shop-staging, "shop-*"]   # globs allowed
        cluster_kinds: []                            # cluster-scoped kinds it may create
        pod_security: restricted                     # PSA level `deploysafe platform` sets
        quota: {requests.cpu: "4", requests.memory: 8Gi, pods: "50"}
        limits: {default: {memory: 512Mi}, defaultRequest: {cpu: 100m, memory: 128Mi}}

One model for every place the tenant boundary is enforced: the deploy gate, the DS4xx scan
rules (`deploysafe scan --tenant NAME`), the admission webhook and the platform config
(`deploysafe platform`). `check_tenant(doc, tenant)` is pure and fast: no I/O.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from deploysafe.config import Config, ConfigError
from deploysafe.model import Document, Level, Violation

# Where `select()` keeps the chosen tenant in Config.sections: a key no policy file can
# spell (top-level keys are validated), read by the engine into Context.options["tenant"].
SELECTED = "tenants.selected"

_KEYS = {"namespaces", "cluster_kinds", "pod_security", "quota", "limits"}
_LIMIT_KEYS = {"default", "defaultRequest", "max", "min"}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NS_GLOB = re.compile(r"^[a-z0-9*?\[\]!-]+$")
_KIND = re.compile(r"^(?:[a-z0-9.-]+/)?[A-Z][A-Za-z0-9]*$")

# Built-in cluster-scoped kinds and their API groups ("" = core).
CLUSTER_KINDS: Mapping[str, str] = {
    "APIService": "apiregistration.k8s.io",
    "CertificateSigningRequest": "certificates.k8s.io",
    "ClusterRole": "rbac.authorization.k8s.io",
    "ClusterRoleBinding": "rbac.authorization.k8s.io",
    "ComponentStatus": "",
    "CSIDriver": "storage.k8s.io",
    "CSINode": "storage.k8s.io",
    "CustomResourceDefinition": "apiextensions.k8s.io",
    "DeviceClass": "resource.k8s.io",
    "FlowSchema": "flowcontrol.apiserver.k8s.io",
    "IngressClass": "networking.k8s.io",
    "MutatingAdmissionPolicy": "admissionregistration.k8s.io",
    "MutatingAdmissionPolicyBinding": "admissionregistration.k8s.io",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io",
    "Namespace": "",
    "Node": "",
    "PersistentVolume": "",
    "PriorityClass": "scheduling.k8s.io",
    "PriorityLevelConfiguration": "flowcontrol.apiserver.k8s.io",
    "RuntimeClass": "node.k8s.io",
    "StorageClass": "storage.k8s.io",
    "ValidatingAdmissionPolicy": "admissionregistration.k8s.io",
    "ValidatingAdmissionPolicyBinding": "admissionregistration.k8s.io",
    "ValidatingWebhookConfiguration": "admissionregistration.k8s.io",
    "VolumeAttachment": "storage.k8s.io",
    "VolumeAttributesClass": "storage.k8s.io",
}

# Kinds the platform owns in a tenant's namespaces (`deploysafe platform` writes them):
# a tenant that ships its own could lift its quota or its default limits.
PLATFORM_KINDS = frozenset({"ResourceQuota", "LimitRange"})

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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


def api_group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


# ---------------------------------------------------------------- configuration


def load_tenants(cfg: Config) -> dict[str, Tenant]:
    """Every tenant of the policy file; ConfigError (with key and line) when one is wrong."""
    r = cfg.reader()
    section = r.mapping(cfg.sections.get("tenants"), ("tenants",))
    out = {}
    for name, raw in section.items():
        p = ("tenants", str(name))
        if not isinstance(name, str) or not _NAME.match(name):
            raise r.fail(p, "a tenant name is a DNS label (lower-case letters, digits, -)")
        t = r.mapping(raw, p, _KEYS)
        if "namespaces" not in t:
            raise r.fail(p, "a tenant needs `namespaces` (names or globs it may deploy to)")
        namespaces = r.strings(t["namespaces"], (*p, "namespaces"))
        if not namespaces:
            raise r.fail((*p, "namespaces"), "list at least one namespace")
        for i, ns in enumerate(namespaces):
            if not _NS_GLOB.match(ns) or ns.strip("*?") == "":
                raise r.fail(
                    (*p, "namespaces", i),
                    f"{ns!r} is not a namespace name or a glob over names (a bare `*` would "
                    "let the tenant into every namespace, kube-system included)",
                )
        kinds = []
        for i, spec in enumerate(r.strings(t.get("cluster_kinds"), (*p, "cluster_kinds"))):
            if not _KIND.match(spec):
                raise r.fail(
                    (*p, "cluster_kinds", i), f"{spec!r} is not a kind (`Kind` or `group/Kind`)"
                )
            group, _, kind = spec.rpartition("/")
            kinds.append(ClusterKind(kind, group or None))
        tenant = Tenant(str(name), namespaces, tuple(kinds))
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
        out[str(name)] = tenant
    return out


def _quantities(r: Any, raw: Any, path: tuple[str | int, ...]) -> dict[str, str]:
    m = r.mapping(raw, path)
    out = {}
    for k, v in m.items():
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise r.fail((*path, str(k)), "expected a quantity such as 4, 500m or 8Gi")
        out[str(k)] = str(v)
    return out


def get_tenant(cfg: Config, name: str) -> Tenant:
    tenants = load_tenants(cfg)
    if name not in tenants:
        known = ", ".join(sorted(tenants)) or "none are configured"
        raise ConfigError(f"{cfg.path or 'deploysafe.yaml'}: unknown tenant {name!r} ({known})")
    return tenants[name]


def select(cfg: Config, tenant: Tenant) -> Config:
    """The config with `tenant` chosen: the DS4xx rules then check against it."""
    return replace(cfg, sections={**cfg.sections, SELECTED: tenant})


def selected(cfg: Config) -> Tenant | None:
    tenant = cfg.sections.get(SELECTED)
    return tenant if isinstance(tenant, Tenant) else None


def example_config() -> Config:
    """The tenant the DS4xx rules' examples are written for (docs and catalogue tests)."""
    return select(Config(), Tenant("shop", ("shop", "shop-staging")))


# ---------------------------------------------------------------- the check


def cluster_scoped(doc: Document, tenant: Tenant | None = None) -> bool:
    """Built-in cluster kinds, `Cluster*` custom kinds, and kinds the tenant lists as such."""
    kind = doc.kind
    if kind in CLUSTER_KINDS or kind.startswith("Cluster"):
        return True
    return tenant is not None and any(k.kind == kind for k in tenant.cluster_kinds)


def namespace_escapes(doc: Document, tenant: Tenant) -> Iterator[Violation]:
    """A namespaced object outside the tenant's namespaces (a Namespace named outside them)."""
    what = f"{doc.kind} {doc.name or '<unnamed>'!r}"
    if doc.kind == "Namespace":
        if doc.name is not None and not tenant.owns(doc.name):
            yield Violation(
                ("metadata", "name"),
                f"{what} is not one of tenant {tenant.name!r}'s namespaces ({tenant.describe()})",
            )
        return
    if cluster_scoped(doc, tenant):
        return
    ns = doc.namespace
    if ns is None:
        return  # lands in the destination namespace the release sets (the tenant's)
    if not tenant.owns(ns):
        source = "" if doc.own_namespace else " (set by the render)"
        yield Violation(
            ("metadata", "namespace"),
            f"{what} is in namespace {ns!r}{source}, outside tenant {tenant.name!r}'s "
            f"namespaces ({tenant.describe()})",
        )


def kind_escapes(doc: Document, tenant: Tenant) -> Iterator[Violation]:
    """A cluster-scoped object of a kind the tenant's `cluster_kinds` does not list."""
    if not cluster_scoped(doc, tenant) or tenant.may_create(doc.kind, doc.api_version):
        return
    allowed = ", ".join(k.display() for k in tenant.cluster_kinds) or "none"
    yield Violation(
        ("kind",),
        f"{doc.kind} {doc.name or '<unnamed>'!r} is cluster-scoped and tenant "
        f"{tenant.name!r} may not create {doc.kind} (cluster_kinds: {allowed})",
    )


def platform_kind_escapes(doc: Document, tenant: Tenant) -> Iterator[Violation]:
    """ResourceQuota and LimitRange belong to the platform, not to the tenant's releases."""
    if doc.kind in PLATFORM_KINDS:
        yield Violation(
            ("kind",),
            f"{doc.kind} {doc.name or '<unnamed>'!r}: tenant {tenant.name!r} may not set its "
            f"own {doc.kind}; the platform config (`deploysafe platform`) owns it",
        )


def check_tenant(doc: Document, tenant: Tenant) -> Iterator[Violation]:
    """Every way `doc` leaves the tenant's boundary (DS401, DS402, DS403 in that order)."""
    yield from namespace_escapes(doc, tenant)
    yield from kind_escapes(doc, tenant)
    yield from platform_kind_escapes(doc, tenant)
