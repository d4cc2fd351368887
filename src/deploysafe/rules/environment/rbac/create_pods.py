"""DS233: roles that can create pods or the controllers that create them, judged by who
holds them (rbac/_bindings.py): a workload's ServiceAccount, a deploy identity, or no one
in the scanned set."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.environment.rbac._bindings import (
    collect_holders,
    grants,
    scene,
    told,
)
from deploysafe.rules.environment.rbac._policy import PolicyRule

# (apiGroup, resource, verbs that make pods run code of the subject's choosing). Changing a
# controller's pod template starts new pods, and a pod's image can be patched in place, so
# update and patch count as well as create.
_WRITE = ("create", "update", "patch")
_TARGETS = (
    ("", "pods", _WRITE),
    ("", "replicationcontrollers", _WRITE),
    ("apps", "deployments", _WRITE),
    ("apps", "replicasets", _WRITE),
    ("apps", "statefulsets", _WRITE),
    ("apps", "daemonsets", _WRITE),
    ("batch", "jobs", _WRITE),
    ("batch", "cronjobs", _WRITE),
)


def granting(rule: PolicyRule) -> tuple[str, ...]:
    out = []
    for group, resource, verbs in _TARGETS:
        ok = rule.grants(verbs, group, resource)
        if ok:
            out.append(f"{'/'.join(ok)} {resource}")
    return tuple(out)


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    return collect_holders(doc, ctx, granting)


def _reach(role_kind: str) -> str:
    if role_kind == "ClusterRole":
        return "in every namespace it is bound for"
    return "in its namespace"


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str, Severity]]:
    where = scene(facts)
    for f, g in grants(facts):
        what = f"{g.label} rules[{g.index}] can {', '.join(g.granted)} {_reach(g.role_kind)}"
        t = told(g, where)
        if t.workloads:
            yield (
                f,
                f"{what}, and {t.bindings} gives it to {t.workloads}: "
                "whoever takes over that workload can run code of its choice with any "
                "ServiceAccount and Secret there",
                Severity.MEDIUM,
            )
        elif t.deployers:
            yield (
                f,
                f"{what}; {t.bindings} gives it only to deploy identities ({t.deployers}; "
                "no workload in the scanned files runs as them): expected for a deployer, keep "
                "it to the namespaces it deploys and pair it with Pod Security admission",
                Severity.LOW,
            )
        else:
            yield (
                f,
                f"{what}; no binding in the scanned files says who holds it: if a workload "
                "does, it can run code of its choice with any ServiceAccount and Secret there",
                Severity.MEDIUM,
            )


RULE = Rule(
    id="DS233",
    title="Roles should not create pods or workloads",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES_SET,
    why=(
        "Whoever can create a pod (directly or through a Deployment, Job, DaemonSet ...) "
        "chooses what it runs and what it mounts: every Secret, ConfigMap and ServiceAccount "
        "token of the namespace, and, where Pod Security admission allows it, the host. Only "
        "deployers and controllers should hold this.\n\n"
        "Who holds the role decides the severity. Bound (by a RoleBinding or "
        "ClusterRoleBinding in the scanned files) to a ServiceAccount that a scanned pod "
        "template runs as, or to a group of ServiceAccounts: medium, the message names the "
        "workloads. Bound only to deploy identities (Users, Groups, ServiceAccounts no scanned "
        "workload runs as: a CI or GitOps account): low, that is what a deploy identity is "
        "for. Bound by nothing in the scanned files (a single object at admission, a role "
        "bound elsewhere): medium, as nothing says who holds it. A `severity:` for DS233 in "
        "the policy file applies to every case."
    ),
    fix="Give workloads read-only roles; keep create/update/patch on pods and workload "
    "controllers for the deploy identity (the GitOps engine or CD account) only, and pair it "
    "with Pod Security admission on the namespace.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app}
subjects:
- {kind: ServiceAccount, name: app, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: app
      containers: [{name: app, image: "registry.example/app:1.0"}]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
""",
    references=(
        "CIS Kubernetes 5.1.4",
        "kube-linter access-to-create-pods",
        "Trivy KSV-0048",
        "Kubescape C-0188",
    ),
    collect=collect,
    decide=decide,
    # An admission request carries one Role: judged as bound by nothing in the set.
    scopes=frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION}),
)
