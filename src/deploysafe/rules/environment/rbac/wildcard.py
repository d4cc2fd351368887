"""DS230: Roles and ClusterRoles must not use `*` in verbs, resources or apiGroups."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import policy_rules, role_label

# In the order they usually appear, so the finding points at the first wildcard.
_FIELDS = (("apiGroups", "api_groups"), ("resources", "resources"), ("verbs", "verbs"))


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for rule in policy_rules(doc):
        wild = [key for key, attr in _FIELDS if "*" in getattr(rule, attr)]
        if not wild:
            continue
        # One finding per rule entry: `*/*/*` is one mistake, not three.
        yield Violation(
            rule.field(wild[0]),
            f"{role_label(doc)} rules[{rule.path[-1]}] uses '*' in {' and '.join(wild)}: "
            "it grants whatever exists now and every resource or verb added later",
        )


RULE = Rule(
    id="DS230",
    title="RBAC roles must not use wildcards",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    why=(
        "A `*` in verbs, resources or apiGroups grants far more than the workload needs, "
        "including sensitive resources (Secrets, RBAC objects) and verbs such as `escalate` or "
        "`impersonate`, and silently grows to cover every custom resource or API added later."
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
    check=check,
)
