"""DS401: a tenant's objects must stay in the tenant's namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if ctx.tenant is not None:
        # Imported once a tenant is chosen, which only a scan with `--tenant` or `--env` does.
        from deploysafe.k8s.tenancy import namespace_escapes

        yield from namespace_escapes(doc, ctx.tenant)


RULE = Rule(
    id="DS401",
    title="Objects must stay in the tenant's namespaces",
    practice=Practice.GITOPS,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    why=(
        "Namespaces are what keeps the tenants of a shared cluster apart: their quotas, Pod "
        "Security level, NetworkPolicies and RBAC are all per namespace. A release that writes "
        "into another team's namespace (or kube-system) can replace that team's workloads, read "
        "its Secrets through a pod it starts there, or escape the limits its own namespaces "
        "enforce. Checked only when a tenant is chosen: `deploysafe scan --tenant NAME` or "
        "`--env ENV`, and at every `deploysafe deploy`."
    ),
    fix="Set `metadata.namespace` to one of the tenant's namespaces (or leave it out: the "
    "release sets the environment's namespace), or add the namespace to the tenant's "
    "`namespaces` in deploysafe.yaml if the team really owns it.",
    bad="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: kube-system}
data: {mode: prod}
""",
    good="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data: {mode: prod}
""",
    references=(
        "Argo CD AppProject spec.destinations",
        "Flux multi-tenancy: Kustomization spec.serviceAccountName and targetNamespace",
        "Kubernetes multi-tenancy: namespaces",
    ),
    check=check,
)
