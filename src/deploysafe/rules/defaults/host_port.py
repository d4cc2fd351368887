"""DS507: containers must not bind host ports (default exposure at any PSS level)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, containers, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for c in containers(pod):
        for j, port in enumerate(as_list(c.data.get("ports"))):
            host_port = as_map(port).get("hostPort")
            if host_port in (None, 0, "0", ""):
                continue
            yield Violation(
                (*c.path, "ports", j, "hostPort"),
                f"{c.label} binds host port {host_port} on every node it runs on, outside "
                "any Service or NetworkPolicy (the PSS baseline `hostPorts` check forbids "
                "it too)",
            )


RULE = Rule(
    id="DS507",
    title="Containers must not bind host ports",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "A hostPort publishes the container directly on the node's address: it is reachable "
        "from wherever the node is, outside the Service and Ingress you review, and it ties "
        "the pod to nodes where the port is free. This is a default-exposure problem at any "
        "Pod Security level, so it is checked here even where the namespace runs at "
        "`privileged` and the PSS baseline `hostPorts` check does not apply."
    ),
    fix="Remove `hostPort`; expose the port through a Service (and an Ingress or Gateway for "
    "outside traffic).",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    ports: [{containerPort: 8080, hostPort: 8080}]
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    ports: [{containerPort: 8080}]
""",
    references=(
        "PSS baseline: Host Ports",
        "Checkov CKV_K8S_26",
        "Polaris hostPortSet",
        "Trivy KSV-0024",
        "Kubescape C-0044",
    ),
    check=check,
)
