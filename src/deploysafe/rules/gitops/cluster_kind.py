"""DS402: a tenant may create only the cluster-scoped kinds it is allowed."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if ctx.tenant is not None:
        # Imported once a tenant is chosen, which only a scan with `--tenant` or `--env` does.
        from deploysafe.k8s.tenancy import kind_escapes

        yield from kind_escapes(doc, ctx.tenant)


RULE = Rule(
    id="DS402",
    title="Tenants must not create cluster-scoped objects they are not allowed",
    practice=Practice.GITOPS,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    why=(
        "A cluster-scoped object belongs to no namespace, so no tenant boundary applies to it: "
        "a ClusterRoleBinding can grant the tenant every namespace, a webhook configuration "
        "can see or block every request, a Namespace or StorageClass changes the platform for "
        "everyone. Only the kinds a tenant's `cluster_kinds` lists are allowed; Argo CD's "
        "AppProject `clusterResourceWhitelist` enforces the same list at sync."
    ),
    fix="Remove the object from the tenant's release and let the platform team own it, or "
    "add its kind to the tenant's `cluster_kinds` in deploysafe.yaml after review.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: shop, namespace: shop}
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop-view, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: shop, namespace: shop}
""",
    references=(
        "Argo CD AppProject clusterResourceWhitelist",
        "Flux multi-tenancy: impersonated tenant ServiceAccount RBAC",
    ),
    check=check,
)
