"""PSS baseline `hostPorts`: containers must not bind ports on the node."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, KeyPath, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Fix, Rule
from deploysafe.rules.environment.pss._common import (
    POD_HEAD,
    fixed_pod,
    is_int,
    pod_and_containers,
    remove,
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    found = pod_and_containers(doc)
    if found is None:
        return
    for c in found[1]:
        for i, port in enumerate(as_list(c.data.get("ports"))):
            host_port = as_map(port).get("hostPort")
            if is_int(host_port) and host_port != 0:
                yield Violation(
                    (*c.path, "ports", i, "hostPort"), f"{c.label} uses host port {host_port}"
                )


def fixer(doc: Document, path: KeyPath) -> Fix:
    return remove(path)


# The rule page's bad example, and the document its automatic fix is shown on.
_EXAMPLE = (
    POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    ports:
    - containerPort: 8080
      hostPort: 8080
"""
)


RULE = Rule(
    id="DS205",
    title="Containers must not use host ports",
    practice=Practice.ENVIRONMENT,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "A hostPort opens the port on the node's own address, around Services and "
        "NetworkPolicies, exposes the workload to whatever can reach the node, and pins the pod "
        "to nodes where the port is free."
    ),
    fix="Remove `hostPort` (or set it to 0) and expose the container through a Service.",
    bad=_EXAMPLE,
    good=POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    ports:
    - containerPort: 8080
""",
    references=(
        "PSS baseline: Host Ports",
        "CIS Kubernetes 5.2.13",
        "Checkov CKV_K8S_26",
        "Trivy KSV-0024",
        "Kubescape C-0044",
    ),
    pss=PssRef(Level.BASELINE, "hostPorts"),
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Removes `hostPort`. Unsafe because clients that reach the pod on the node's address "
            "need a Service instead."
        ),
        after=fixed_pod(
            _EXAMPLE,
            ("      hostPort: 8080\n", ""),
        ),
    ),
)
