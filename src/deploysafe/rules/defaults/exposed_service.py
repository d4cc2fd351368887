"""DS506: Services must not be NodePort, or LoadBalancer open to the whole internet."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

# Annotations that restrict a cloud load balancer to an internal network or to source
# ranges, so it is not open to the internet.
_INTERNAL: dict[str, str | None] = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": None,  # any value but "false"
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
    "service.beta.kubernetes.io/oci-load-balancer-internal": "true",
    "service.beta.kubernetes.io/openstack-internal-load-balancer": "true",
}
_SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def _internal(annotations: Mapping[str, Any]) -> bool:
    for key, want in _INTERNAL.items():
        value = annotations.get(key)
        if value is None:
            continue
        text = str(value).strip().lower()
        if (want is None and text not in ("", "false")) or text == want:
            return True
    return False


def _everyone(cidr: object) -> bool:
    try:
        return ipaddress.ip_network(str(cidr).strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if doc.kind != "Service":
        return
    spec = as_map(doc.data.get("spec"))
    kind = spec.get("type")
    what = f"Service {doc.name or '<unnamed>'!r}"
    if kind == "NodePort":
        yield Violation(
            ("spec", "type"),
            f"{what} is type NodePort: it opens its ports on every node's address",
        )
        return
    if kind != "LoadBalancer":
        return
    annotations = as_map(as_map(doc.data.get("metadata")).get("annotations"))
    ranges = as_list(spec.get("loadBalancerSourceRanges"))
    for i, cidr in enumerate(ranges):
        if _everyone(cidr):
            yield Violation(
                ("spec", "loadBalancerSourceRanges", i),
                f"{what} is a LoadBalancer whose source ranges include {cidr!s}: open to "
                "every address",
            )
            return
    if ranges or annotations.get(_SOURCE_RANGES_ANNOTATION) or _internal(annotations):
        return
    yield Violation(
        ("spec", "type"),
        f"{what} is type LoadBalancer without loadBalancerSourceRanges: reachable from "
        "every address the load balancer faces, usually the internet",
    )


RULE = Rule(
    id="DS506",
    title="Services must not be exposed by NodePort or an unrestricted LoadBalancer",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    kinds=frozenset({"Service"}),
    why=(
        "A NodePort Service listens on every node, bypassing the ingress controller, its TLS "
        "and authentication; a LoadBalancer with no source ranges is open to anyone who can "
        "reach the cloud load balancer, usually the whole internet. Exposure should be a "
        "decision, not the default of a `type:` line."
    ),
    fix="Use a ClusterIP Service behind an Ingress or Gateway; where a LoadBalancer is needed, "
    "set `spec.loadBalancerSourceRanges` to the client networks or make it internal.",
    bad="""\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 443, targetPort: 8443}]
""",
    good="""\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [203.0.113.0/24]
  selector: {app: web}
  ports: [{port: 443, targetPort: 8443}]
""",
    references=(
        "kube-linter exposed-services",
        "kube-score service-type",
        "Kubescape C-0021",
        "Kubescape C-0256",
    ),
    check=check,
)
