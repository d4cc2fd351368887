"""DS235: roles must not hold the escalate, bind or impersonate verbs."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import (
    RBAC_GROUP,
    ROLE_KINDS,
    policy_rules,
    reach,
    role_label,
)

_AUTHN = "authentication.k8s.io"
# (verb, apiGroup, resource): what each verb acts on to escalate.
_TARGETS = (
    ("escalate", RBAC_GROUP, "roles"),
    ("escalate", RBAC_GROUP, "clusterroles"),
    ("bind", RBAC_GROUP, "roles"),
    ("bind", RBAC_GROUP, "clusterroles"),
    ("impersonate", "", "users"),
    ("impersonate", "", "groups"),
    ("impersonate", "", "serviceaccounts"),
    ("impersonate", _AUTHN, "uids"),
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for rule in policy_rules(doc):
        granted: dict[str, list[str]] = {}
        for verb, group, resource in _TARGETS:
            if rule.grants((verb,), group, resource):
                granted.setdefault(verb, []).append(resource)
        # Extra user info is impersonated as userextras/<key>: any key counts.
        extras = [r for r in rule.resources if r.startswith("userextras/")]
        if extras and rule.grants(("impersonate",), _AUTHN, extras[0]):
            granted.setdefault("impersonate", []).extend(extras)
        if granted:
            what = "; ".join(f"{verb} on {', '.join(res)}" for verb, res in granted.items())
            yield Violation(
                rule.field("verbs"),
                f"{role_label(doc)} rules[{rule.path[-1]}] grants {what} {reach(doc)}: "
                "enough to give itself any permission",
            )


RULE = Rule(
    id="DS235",
    title="Roles must not escalate, bind or impersonate",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    kinds=ROLE_KINDS,
    why=(
        "RBAC stops a subject from granting permissions it does not hold, except through these "
        "verbs: `escalate` edits roles beyond one's own rights, `bind` binds any role (such as "
        "cluster-admin), `impersonate` acts as any user, group or ServiceAccount. Each is a "
        "direct path to cluster-admin."
    ),
    fix="Remove escalate, bind and impersonate; where a controller must bind roles, restrict "
    "`bind` with `resourceNames` to the exact roles it hands out.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules:
- apiGroups: [""]
  resources: ["users", "groups"]
  verbs: ["impersonate"]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list"]
""",
    references=(
        "CIS Kubernetes 5.1.8",
        "Checkov CKV_K8S_157",
        "Checkov CKV_K8S_158",
        "Checkov CKV2_K8S_3",
        "Trivy KSV-0043",
        "Kubescape C-0191",
    ),
    check=check,
)
