"""DS233: roles that can create pods or the controllers that create them."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.rbac._policy import policy_rules, reach, role_label

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


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for rule in policy_rules(doc):
        granted = []
        for group, resource, verbs in _TARGETS:
            ok = rule.grants(verbs, group, resource)
            if ok:
                granted.append(f"{'/'.join(ok)} {resource}")
        if granted:
            yield Violation(
                rule.field("verbs"),
                f"{role_label(doc)} rules[{rule.path[-1]}] can {', '.join(granted)} "
                f"{reach(doc)}: it can run code of its choice with any ServiceAccount and Secret "
                "there",
            )


RULE = Rule(
    id="DS233",
    title="Roles should not create pods or workloads",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    why=(
        "Whoever can create a pod (directly or through a Deployment, Job, DaemonSet ...) "
        "chooses what it runs and what it mounts: every Secret, ConfigMap and ServiceAccount "
        "token of the namespace, and, where Pod Security admission allows it, the host. Only "
        "deployers and controllers should hold this."
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
    check=check,
)
