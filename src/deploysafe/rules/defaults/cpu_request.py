"""DS505: every container needs a CPU request."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults._resources import missing


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for path, c in missing(doc, "requests", "cpu"):
        yield Violation(path, f"{c.label} has no CPU request")


RULE = Rule(
    id="DS505",
    title="Containers must request CPU",
    practice=Practice.DEFAULTS,
    severity=Severity.LOW,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "Without a CPU request the scheduler counts the container as needing nothing: nodes "
        "get overcommitted and under contention the container gets the smallest share, so a "
        "noisy neighbour can starve it. A CPU limit is deliberately not required: it throttles "
        "even idle nodes; the request is what guarantees a share."
    ),
    fix="Set `resources.requests.cpu` on every container and init container (or a pod-level "
    "`spec.resources.requests.cpu`).",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    resources:
      limits: {memory: 128Mi}
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
      requests: {cpu: 100m}
      limits: {memory: 128Mi}
""",
    references=(
        "Checkov CKV_K8S_10",
        "kube-linter unset-cpu-requirements",
        "kube-score container-resources",
        "Polaris cpuRequestsMissing",
        "Trivy KSV-0015",
        "Kubescape C-0050",
    ),
    check=check,
)
