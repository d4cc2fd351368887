"""Tenants: the checks that keep a team's releases inside its namespaces and kinds.

One model for every place the tenant boundary is enforced: the deploy gate, the DS4xx scan
rules (`deploysafe scan --tenant NAME`), the admission webhook and the platform config
(`deploysafe platform`). The `tenants:` section is read by deploysafe.config.tenants;
`check_tenant(doc, tenant)` is pure and fast: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace

from deploysafe.config import Config
from deploysafe.config.tenants import ClusterKind, Tenant, api_group
from deploysafe.errors import ConfigError
from deploysafe.model import Document, Violation

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

__all__ = [
    "CLUSTER_KINDS",
    "PLATFORM_KINDS",
    "ClusterKind",
    "Tenant",
    "api_group",
    "check_tenant",
    "get_tenant",
    "select",
]


def get_tenant(cfg: Config, name: str) -> Tenant:
    tenants = cfg.tenants
    if name not in tenants:
        known = ", ".join(sorted(tenants)) or "none are configured"
        raise ConfigError(f"{cfg.path or 'deploysafe.yaml'}: unknown tenant {name!r} ({known})")
    return tenants[name]


def select(cfg: Config, tenant: Tenant) -> Config:
    """The config with `tenant` chosen: the DS4xx rules then check against it."""
    return replace(cfg, selected_tenant=tenant)


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
