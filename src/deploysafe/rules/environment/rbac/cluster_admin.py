"""DS231: no RoleBinding or ClusterRoleBinding may grant the cluster-admin ClusterRole."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _subjects(doc: Document) -> str:
    names = []
    for item in as_list(doc.data.get("subjects")):
        s = as_map(item)
        ns = f"{s['namespace']}/" if s.get("namespace") else ""
        names.append(f"{s.get('kind', 'subject')} {ns}{s.get('name', '<unnamed>')}")
    return ", ".join(names) or "no subjects yet"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if doc.kind not in ("ClusterRoleBinding", "RoleBinding"):
        return
    ref = as_map(doc.data.get("roleRef"))
    if ref.get("kind", "ClusterRole") != "ClusterRole" or ref.get("name") != "cluster-admin":
        return
    if doc.kind == "ClusterRoleBinding":
        what = "full control of the whole cluster"
    else:
        where = f"namespace {doc.namespace!r}" if doc.namespace else "its namespace"
        what = f"full control of {where}, including its Secrets and RBAC"
    yield Violation(
        ("roleRef", "name"),
        f"{doc.kind} {doc.name or '<unnamed>'!r} binds cluster-admin: it gives {what} to "
        f"{_subjects(doc)}",
    )


RULE = Rule(
    id="DS231",
    title="Bindings must not grant cluster-admin",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    kinds=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    why=(
        "cluster-admin is every verb on every resource. A workload or CI account bound to it "
        "turns any bug or stolen token into a takeover of the cluster (or, through a "
        "RoleBinding, of the whole namespace with its Secrets and RBAC)."
    ),
    fix="Write a Role or ClusterRole with only the verbs and resources the subject uses and "
    "bind that instead; keep cluster-admin for break-glass human access.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: ci, namespace: ci}
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ci-deployer}
subjects:
- {kind: ServiceAccount, name: ci, namespace: ci}
""",
    references=(
        "CIS Kubernetes 5.1.1",
        "kube-linter cluster-admin-role-binding",
        "Polaris clusterrolebindingClusterAdmin",
        "Polaris rolebindingClusterAdminClusterRole",
        "Trivy KSV-0111",
        "Kubescape C-0035",
        "Kubescape C-0185",
    ),
    check=check,
)
