"""PSS baseline `hostNamespaces`: pods must not share the host's network, PID or IPC namespace."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import pod_template
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    remove,
)

_FIELDS = (
    ("hostNetwork", "the host network"),
    ("hostPID", "the host PID namespace"),
    ("hostIPC", "the host IPC namespace"),
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for key, what in _FIELDS:
        if pod.spec.get(key) is True:
            yield Violation((*pod.spec_path, key), f"pod shares {what} ({key}: true)")


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  hostNetwork: true
  containers:
  - name: app
    image: registry.example/app:1.0
"""
)


RULE = Rule(
    id="DS202",
    title="Pods must not share host namespaces",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "With hostNetwork a pod sees every interface of the node and can sniff or bind to host "
        "traffic and reach services that trust localhost; with hostPID it can see and signal "
        "(or ptrace) every process on the node; with hostIPC it can read other processes' "
        "shared memory. Each one removes a wall between the workload and the node."
    ),
    fix="Remove `hostNetwork`, `hostPID` and `hostIPC` from the pod spec (or set them to "
    "`false`); expose ports through a Service instead of the host network.",
    bad=_EXAMPLE,
    good=POD_HEAD
    + """\
spec:
  hostNetwork: false
  containers:
  - name: app
    image: registry.example/app:1.0
""",
    references=(
        "PSS baseline: Host Namespaces",
        "CIS Kubernetes 5.2.3, 5.2.4, 5.2.5",
        "Checkov CKV_K8S_17, CKV_K8S_18, CKV_K8S_19",
        "kube-linter host-network, host-pid, host-ipc",
        "Trivy KSV-0008, KSV-0009, KSV-0010",
        "Kubescape C-0038, C-0041",
    ),
    pss=PssRef(Level.BASELINE, "hostNamespaces"),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `hostNetwork`, `hostPID` or `hostIPC: true`. Unsafe because a workload that "
            "listens on the node's addresses or watches its processes stops working."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("  hostNetwork: true\n", ""),
        ),
    ),
)
