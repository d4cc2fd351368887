"""DS234: roles that can exec or attach into running pods."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import ROLE_KINDS, policy_rules, reach, role_label

# Before Kubernetes 1.31 (AuthorizePodWebsocketUpgradeCreatePermission), a WebSocket exec or
# attach only needed `get`, so `get` counts as well as `create`.
_VERBS = ("create", "get")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for rule in policy_rules(doc):
        granted = []
        for sub in ("pods/exec", "pods/attach"):
            verbs = rule.grants(_VERBS, "", sub)
            if verbs:
                granted.append(f"{'/'.join(verbs)} {sub}")
        if granted:
            yield Violation(
                rule.field("resources"),
                f"{role_label(doc)} rules[{rule.path[-1]}] can {', '.join(granted)} "
                f"{reach(doc)}: a shell in any pod there, with its token and Secrets",
            )


RULE = Rule(
    id="DS234",
    title="Roles should not exec or attach into pods",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    kinds=ROLE_KINDS,
    why=(
        "`pods/exec` and `pods/attach` give a shell inside running containers: the subject "
        "reads their mounted Secrets and ServiceAccount tokens and acts with their privileges, "
        "bypassing everything the deploy pipeline checks."
    ),
    fix="Remove pods/exec and pods/attach from roles used by workloads and automation; grant "
    "them to humans only, time-boxed, for debugging.",
    bad="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: support, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["pods", "pods/exec"]
  verbs: ["get", "create"]
""",
    good="""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: support, namespace: shop}
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get"]
""",
    references=(
        "Checkov CKV2_K8S_2",
        "Polaris *PodExecAttach",
        "Trivy KSV-0053",
        "Trivy KSV-0054",
        "Kubescape C-0002",
    ),
    check=check,
)
