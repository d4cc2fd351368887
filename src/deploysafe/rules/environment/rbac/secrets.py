"""DS232: roles must not read every Secret (get/list/watch without resourceNames)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import ROLE_KINDS, policy_rules, reach, role_label

_READ = ("get", "list", "watch")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for rule in policy_rules(doc):
        verbs = rule.grants(_READ, "", "secrets")
        if verbs:
            yield Violation(
                rule.field("verbs"),
                f"{role_label(doc)} rules[{rule.path[-1]}] can {'/'.join(verbs)} every "
                f"Secret {reach(doc)}",
            )


RULE = Rule(
    id="DS232",
    title="Roles must not read all Secrets",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    kinds=ROLE_KINDS,
    why=(
        "Secrets hold database passwords, API keys and ServiceAccount tokens. A subject that "
        "can get, list or watch every Secret can read the credentials of every other workload "
        "and act as it; `list` and `watch` return the values too, not just the names."
    ),
    fix="Name the Secrets the subject needs in `resourceNames` (get only), or mount them into "
    "the pod instead of reading them through the API.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list"]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: app, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["secrets"]
  resourceNames: ["app-db"]
  verbs: ["get"]
""",
    references=(
        "CIS Kubernetes 5.1.2",
        "Checkov CKV2_K8S_5",
        "kube-linter access-to-secrets",
        "Trivy KSV-0041",
        "Trivy KSV-0113",
        "Kubescape C-0015",
        "Kubescape C-0186",
    ),
    check=check,
)
