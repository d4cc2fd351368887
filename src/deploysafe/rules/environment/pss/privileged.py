"""PSS baseline `privileged`: containers must not run privileged."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import containers, pod_template
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    remove,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for c in containers(pod):
        if c.security_context.get("privileged") is True:
            yield Violation(
                (*c.path, "securityContext", "privileged"), f"{c.label} runs privileged"
            )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: true
      readOnlyRootFilesystem: true
"""
)


RULE = Rule(
    id="DS201",
    title="Containers must not run privileged",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "A privileged container gets every device and capability of the host and can turn off "
        "the kernel's isolation: one compromised process owns the node and every pod on it."
    ),
    fix="Remove `securityContext.privileged` or set it to `false`; grant only the capability "
    "the workload needs.",
    bad=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: true
""",
    good=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      privileged: false
""",
    references=(
        "PSS baseline: Privileged Containers",
        "CIS Kubernetes 5.2.2",
        "Checkov CKV_K8S_16",
        "kube-linter privileged-container",
        "Trivy KSV-0017",
        "Kubescape C-0057",
    ),
    pss=PssRef(Level.BASELINE, "privileged"),
    check=check,
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `privileged: true`. Unsafe because a workload that drives devices or the "
            "kernel stops working; grant it only the capability it needs."
        ),
        before=_FIX_EXAMPLE,
        after=fixed_pod(
            _FIX_EXAMPLE,
            ("      privileged: true\n", ""),
        ),
    ),
)
