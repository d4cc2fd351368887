"""DS298: workloads whose role can rewrite how traffic reaches pods (NetworkPolicies,
Services and their endpoints, Ingresses), judged by who holds the role
(rbac/_bindings.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._bindings import (
    collect_holders,
    grants,
    scene,
    told,
)
from deploysafe.rules.environment.rbac._policy import PolicyRule

_WRITE = ("create", "update", "patch", "delete", "deletecollection")
# (apiGroup, resource): what decides which pods traffic reaches and which pods may talk.
_TARGETS = (
    ("networking.k8s.io", "networkpolicies"),
    ("", "services"),
    ("", "endpoints"),
    ("discovery.k8s.io", "endpointslices"),
    ("networking.k8s.io", "ingresses"),
    ("extensions", "ingresses"),
    ("extensions", "networkpolicies"),
    ("cilium.io", "ciliumnetworkpolicies"),
    ("projectcalico.org", "networkpolicies"),
    ("policy.networking.k8s.io", "adminnetworkpolicies"),
)


def granting(rule: PolicyRule) -> tuple[str, ...]:
    out = []
    for group, resource in _TARGETS:
        ok = rule.grants(_WRITE, group, resource)
        shown = f"{'/'.join(ok)} {resource}"
        if ok and shown not in out:
            out.append(shown)
    return tuple(out)


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    return collect_holders(doc, ctx, granting)


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str]]:
    where = scene(facts)
    for f, g in grants(facts):
        t = told(g, where)
        if t.workloads:
            yield (
                f,
                f"{g.label} rules[{g.index}] can {', '.join(g.granted)}, and "
                f"{t.bindings} gives it to {t.workloads}: whoever takes over "
                "that workload can lift network isolation or send other pods' traffic to "
                "itself",
            )


RULE = Rule(
    id="DS298",
    title="Workloads should not be able to rewrite networking",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES_SET,
    why=(
        "NetworkPolicies decide which pods may talk; Services, Endpoints, EndpointSlices and "
        "Ingresses decide which pods receive traffic. A workload that can write them can, once "
        "compromised, delete the policy that isolates a database, or point a Service or an "
        "Ingress at itself and receive other clients' requests and credentials "
        "(CVE-2020-8554 is the Service `externalIPs` form of this). Only controllers whose job "
        "this is (ingress controllers, service meshes, operators) need it, and their roles "
        "should name exactly what they manage.\\n\\n"
        "Reported only for roles bound, in the scanned files, to a ServiceAccount that a "
        "scanned pod template runs as (or to a group of ServiceAccounts): a deploy identity "
        "(a User, a Group, a CI or GitOps ServiceAccount no workload runs as) writes these "
        "objects by design, and a role nothing binds cannot be judged. Status subresources "
        "(`ingresses/status`, `services/status`) are not counted; `resourceNames` narrows "
        "the grant away."
    ),
    fix="Remove create/update/patch/delete on these resources from the workload's role; if "
    "it is a controller that manages them, limit the role to the namespaces it serves and to "
    "named objects (`resourceNames`) where it can.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: shop}
rules:
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "delete"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app}
subjects:
- {kind: ServiceAccount, name: app}
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
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: app, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: app}
subjects:
- {kind: ServiceAccount, name: app}
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
    references=(
        "Trivy KSV-0056",
        "Kubernetes RBAC good practices: Escalation paths",
    ),
    collect=collect,
    decide=decide,
)
