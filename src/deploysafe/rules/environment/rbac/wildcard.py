"""DS230: Roles and ClusterRoles must not use `*` in verbs, resources or apiGroups, judged
by who holds them (rbac/_bindings.py, as DS233): a workload's ServiceAccount, only deploy
identities, or no one in the scanned set."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe.inputs.documents import install_unit
from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.environment.rbac._bindings import (
    Grant,
    collect_holders,
    grants,
    scene,
    told,
)
from deploysafe.rules.environment.rbac._policy import PolicyRule, policy_rules, role_label

# In the order they usually appear, so the finding points at the first wildcard.
_FIELDS = (("apiGroups", "api_groups"), ("resources", "resources"), ("verbs", "verbs"))


def _none(rule: PolicyRule) -> tuple[str, ...]:
    return ()  # the roles' grants are collected here, where they are pointed at


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    if doc.kind not in ("Role", "ClusterRole"):
        yield from collect_holders(doc, ctx, _none)  # bindings and workloads' accounts
        return
    ns = ctx.namespace if doc.kind == "Role" else None
    for rule in policy_rules(doc):
        wild = tuple(key for key, attr in _FIELDS if "*" in getattr(rule, attr))
        if wild:
            # One finding per rule entry, at its first wildcard: `*/*/*` is one mistake.
            grant = Grant(
                doc.kind,
                doc.name or "",
                ns,
                install_unit(doc),
                role_label(doc),
                int(rule.path[-1]),
                wild,
            )
            yield rule.field(wild[0]), grant


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str] | tuple[Fact, str, Severity]]:
    where = scene(facts)
    for f, g in grants(facts):
        what = (
            f"{g.label} rules[{g.index}] uses '*' in {' and '.join(g.granted)}: it grants "
            "whatever exists now and every resource or verb added later"
        )
        t = told(g, where)
        if t.workloads:
            yield (
                f,
                f"{what}; {t.bindings} gives it to {t.workloads}: whoever "
                "takes over that workload gets all of it",
            )
        elif t.deployers:
            yield (
                f,
                f"{what}; {t.bindings} gives it only to deploy identities ({t.deployers}; "
                "no workload in the scanned files runs as them): list the kinds and verbs the "
                "deployer applies",
                Severity.MEDIUM,
            )
        else:
            yield f, what


RULE = Rule(
    id="DS230",
    title="RBAC roles must not use wildcards",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES_SET,
    why=(
        "A `*` in verbs, resources or apiGroups grants far more than the workload needs, "
        "including sensitive resources (Secrets, RBAC objects) and verbs such as `escalate` or "
        "`impersonate`, and silently grows to cover every custom resource or API added later."
        "\n\n"
        "Who holds the role decides the severity, as for DS233. Bound (by a RoleBinding or "
        "ClusterRoleBinding in the scanned files) to a ServiceAccount that a scanned pod "
        "template runs as, or to a group of ServiceAccounts: high, the message names the "
        "workloads. Bound only to deploy identities (Users, Groups, ServiceAccounts no "
        "scanned workload runs as: a CI account, a GitOps engine installed elsewhere): medium, "
        "a deployer applies many kinds, but it should still list them. Bound by nothing in "
        "the scanned files (a single object at admission, a role bound elsewhere): high, as "
        "nothing says who holds it. A `severity:` for DS230 in the policy file applies to "
        "every case. An entry whose wildcards also grant what DS232, DS234, DS235 or DS299 "
        "report is one finding with the highest of their severities: `*` verbs on every "
        "resource include `escalate` and `bind`, critical whoever holds them."
    ),
    fix="List the exact apiGroups, resources and verbs the subject needs; split broad roles "
    "into several narrow ones.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: shop}
rules:
- apiGroups: ["apps"]
  resources: ["*"]
  verbs: ["get", "list"]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: shop}
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list"]
""",
    references=(
        "CIS Kubernetes 5.1.3",
        "Checkov CKV_K8S_49",
        "kube-linter wildcard-in-rules",
        "Trivy KSV-0044",
        "Trivy KSV-0045",
        "Trivy KSV-0046",
        "Trivy KSV-0112",
        "Kubescape C-0187",
    ),
    not_reported=(
        "A GitOps engine or controller whose own pods are in the scanned files (Argo CD's "
        "application controller, Flux's controllers installed from the same repository) is "
        "a workload like any other: whoever takes over its pod holds the role, so its "
        "wildcards stay high. Aggregated ClusterRoles (`aggregationRule`): their rules are "
        "filled in by the API server."
    ),
    collect=collect,
    decide=decide,
    # An admission request carries one Role: judged as bound by nothing in the set.
    scopes=frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION}),
)
