"""DS504: every container needs a memory limit."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults._resources import missing


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for path, c in missing(doc, "limits", "memory"):
        yield Violation(path, f"{c.label} has no memory limit")


RULE = Rule(
    id="DS504",
    title="Containers must have a memory limit",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "By default a container may use all the memory of its node. A leak, a load spike or an "
        "attacker's payload then starves or evicts every other pod on that node; with a limit "
        "only the offending container is killed. (A LimitRange default in the namespace also "
        "sets one, but the manifest alone cannot show it.)"
    ),
    fix="Set `resources.limits.memory` on every container and init container (usually equal "
    "to `requests.memory`), or a pod-level `spec.resources.limits.memory`.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    resources:
      requests: {cpu: 100m, memory: 128Mi}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {memory: 128Mi}
""",
    references=(
        "Checkov CKV_K8S_13",
        "kube-linter unset-memory-requirements",
        "kube-score container-resources",
        "Polaris memoryLimitsMissing",
        "Trivy KSV-0018",
        "Kubescape C-0004",
    ),
    check=check,
)
