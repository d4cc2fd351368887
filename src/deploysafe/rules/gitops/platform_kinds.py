"""DS403: quotas and limit ranges belong to the platform, not to a tenant's release."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if ctx.tenant is not None:
        # Imported once a tenant is chosen, which only a scan with `--tenant` or `--env` does.
        from deploysafe.k8s.tenancy import platform_kind_escapes

        yield from platform_kind_escapes(doc, ctx.tenant)


RULE = Rule(
    id="DS403",
    title="Tenants must not ship their own ResourceQuota or LimitRange",
    practice=Practice.GITOPS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    why=(
        "A namespace's ResourceQuota and LimitRange are how the platform keeps one tenant "
        "from starving the others. A tenant that releases its own can raise its quota or drop "
        "the default limits; Argo CD's AppProject `namespaceResourceBlacklist` refuses the "
        "same kinds at sync in the config `deploysafe platform` generates."
    ),
    fix="Remove the ResourceQuota or LimitRange from the release; ask for a different "
    "`quota` or `limits` on the tenant in deploysafe.yaml (the platform config applies it).",
    bad="""\
apiVersion: v1
kind: ResourceQuota
metadata: {name: more, namespace: shop}
spec:
  hard: {requests.cpu: "64"}
""",
    good="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop}
data: {mode: prod}
""",
    references=("Argo CD AppProject namespaceResourceBlacklist",),
    check=check,
)
