"""DS509: every workload's pods must be selected by an ingress NetworkPolicy.

Cross-resource: `collect` keeps each workload's namespace and pod labels and each
NetworkPolicy's namespace and pod selector; `decide` matches them. Objects with no namespace
get one at install time: those installed together (one render, one folder of plain
manifests) share it, so only a NetworkPolicy installed with them, also without a namespace,
covers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deploysafe.inputs.documents import install_unit
from deploysafe.k8s.pods import as_list, as_map, pod_template
from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return labels.get(self.key) in self.values
        if self.operator == "NotIn":
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        return False  # the API server rejects other operators: such a selector selects nothing


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A metav1.LabelSelector; the empty selector selects everything."""

    match_labels: Labels = ()
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> LabelSelector:
        raw = as_map(raw)
        exprs = []
        for item in as_list(raw.get("matchExpressions")):
            e = as_map(item)
            values = tuple(str(v) for v in as_list(e.get("values")))
            exprs.append(Requirement(str(e.get("key", "")), str(e.get("operator", "")), values))
        return cls(_labels(raw.get("matchLabels")), tuple(exprs))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.match_expressions
        )


@dataclass(frozen=True, slots=True)
class Workload:
    namespace: str | None
    labels: Labels
    host_network: bool
    install: str | None = None  # what decides the namespace when there is none


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str | None
    selector: LabelSelector
    ingress: bool  # isolates ingress (policyTypes has Ingress, or is unset)
    install: str | None = None


def _install(doc: Document, ctx: Context) -> str | None:
    return install_unit(doc) if ctx.namespace is None else None


def _labels(raw: Any) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in as_map(raw).items()))


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    if doc.kind == "NetworkPolicy":
        spec = as_map(doc.data.get("spec"))
        types = spec.get("policyTypes")
        # Unset policyTypes always means Ingress (plus Egress if there are egress rules).
        ingress = "Ingress" in as_list(types) if isinstance(types, list) else True
        yield (
            ("spec", "podSelector"),
            Policy(
                ctx.namespace,
                LabelSelector.parse(spec.get("podSelector")),
                ingress,
                _install(doc, ctx),
            ),
        )
        return
    pod = pod_template(doc)
    if pod is None or doc.kind == "PodTemplate":  # a PodTemplate object runs nothing
        return
    yield (
        (*pod.path, "metadata", "labels"),
        Workload(
            ctx.namespace,
            _labels(pod.metadata.get("labels")),
            pod.spec.get("hostNetwork") is True,
            _install(doc, ctx),
        ),
    )


def _among(w: Workload) -> str:
    if w.namespace:
        return f"in namespace {w.namespace!r}"
    return f"installed with it ({w.install}, namespace decided at install time)"


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str]]:
    policies: dict[tuple[str | None, str | None], list[Policy]] = {}
    for f in facts:
        if isinstance(f.data, Policy):
            policies.setdefault((f.data.namespace, f.data.install), []).append(f.data)
    for f in facts:
        w = f.data
        if not isinstance(w, Workload):
            continue
        what = f.resource.display()
        if w.host_network:
            yield (
                f,
                f"{what} uses hostNetwork: true; NetworkPolicy cannot select host-network pods, "
                "so nothing restricts their traffic",
            )
            continue
        labels = dict(w.labels)
        here = policies.get((w.namespace, w.install), [])
        selecting = [p for p in here if p.selector.matches(labels)]
        if any(p.ingress for p in selecting):
            continue
        if selecting:
            why = "only egress NetworkPolicies select its pods"
        elif here:
            shown = ", ".join(f"{k}={v}" for k, v in w.labels) or "no labels"
            why = f"no NetworkPolicy {_among(w)} selects its pods ({shown})"
        elif w.namespace:
            why = f"namespace {w.namespace!r} has no NetworkPolicy"
        else:
            why = f"no NetworkPolicy is {_among(w)}"
        yield (f, f"{what}: {why}, so any pod in the cluster can connect to them (default allow)")


RULE = Rule(
    id="DS509",
    title="Workloads must be covered by a NetworkPolicy",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES_SET,
    why=(
        "Kubernetes networking is allow-all by default: until a NetworkPolicy selects a pod, "
        "every pod in the cluster (and anything that reaches the nodes) can connect to it. One "
        "compromised workload can then probe databases and admin endpoints everywhere. Pods on "
        "the host network cannot be selected at all. A workload that names no namespace, in a "
        "scan given none (`--namespace`), gets one at install time: only a NetworkPolicy "
        "installed with it (the same chart, kustomization or folder of plain manifests) that "
        "names no namespace either is known to share it, so only such a policy covers it."
    ),
    fix="Add a default-deny NetworkPolicy to each namespace (`podSelector: {}`, "
    "`policyTypes: [Ingress, Egress]`) and allow only the flows each workload needs; keep "
    "workloads off `hostNetwork`.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: registry.example/web:1.0}
""",
    good="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - {name: web, image: registry.example/web:1.0}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
""",
    references=(
        "CIS Kubernetes 5.3.2",
        "Checkov CKV2_K8S_6",
        "kube-linter non-isolated-pod",
        "kube-score pod-networkpolicy",
        "Polaris missingNetworkPolicy",
        "Kubescape C-0260",
        "Kubescape C-0206",
    ),
    collect=collect,
    decide=decide,
)
