"""DS509: every workload's pods must be selected by an ingress NetworkPolicy.

Cross-resource: `collect` keeps each workload's namespace and pod labels and each
NetworkPolicy's namespace and pod selector; `decide` matches them. Objects with no namespace
get one at install time: those installed together (one render, one folder of plain
manifests) share it, so only a NetworkPolicy installed with them, also without a namespace,
covers them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from deploysafe.frozen import record
from deploysafe.inputs.documents import install_unit
from deploysafe.k8s.pods import as_list, as_map, pod_template
from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults._selectors import (
    CalicoSelector,
    Labels,
    LabelSelector,
    Selector,
    labels_of,
)

__all__ = [
    "LabelSelector",
    "Namespace",
    "Policy",
    "Workload",
    "collect",
    "decide",
    "no_policy",
    "no_policy_installed",
]


@record
class Workload:
    """A workload as NetworkPolicies see it: its namespace, pod labels and host network."""

    namespace: str | None
    labels: Labels
    host_network: bool
    install: str | None = None  # what decides the namespace when there is none


@record
class Policy:
    """A policy of any kind DS509 knows, as far as isolation goes: which pods it selects
    and whether it restricts their ingress."""

    namespace: str | None
    selector: Selector
    ingress: bool  # isolates (or denies some of) the ingress of the pods it selects
    install: str | None = None
    kind: str = "NetworkPolicy"
    # Cluster-wide kinds select pods in every namespace `namespaces` matches (None: all).
    cluster: bool = False
    namespaces: Selector | None = None


@record
class Namespace:
    """A scanned Namespace's labels, for cluster-wide policies' namespace selectors."""

    name: str
    labels: Labels


# Labels selectors can use beyond a pod's own: the namespace it runs in as Cilium and Calico
# expose it, and (Cilium) its namespace's labels.
_CILIUM_NS = "io.kubernetes.pod.namespace"
_CILIUM_NS_LABEL = "io.cilium.k8s.namespace.labels."
_CALICO_NS = "projectcalico.org/namespace"


def pod_view(w: Workload, ns_labels: Mapping[str, str]) -> dict[str, str]:
    view = dict(w.labels)
    if w.namespace is not None:
        view.update({_CILIUM_NS: w.namespace, _CALICO_NS: w.namespace})
        view.update({_CILIUM_NS_LABEL + k: v for k, v in ns_labels.items()})
    return view


def namespace_view(name: str, labels: Labels) -> dict[str, str]:
    """A namespace's labels as selectors see them, with those the API server and Calico set."""
    return {**dict(labels), "kubernetes.io/metadata.name": name, "projectcalico.org/name": name}


def _install(doc: Document, ctx: Context) -> str | None:
    return install_unit(doc) if ctx.namespace is None else None


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def _calico_ingress(spec: Mapping[str, Any]) -> bool:
    types = spec.get("types")
    if isinstance(types, list):
        return "Ingress" in types
    # Unset: Ingress, unless the policy has egress rules and no ingress rules.
    return bool(spec.get("ingress")) or not spec.get("egress")


def _cilium_ingress(spec: Mapping[str, Any]) -> bool:
    # Any ingress section, even `ingress: [{}]`, puts the selected endpoints in default deny
    # for ingress, unless `enableDefaultDeny.ingress: false` says it only adds allows.
    if "ingress" not in spec and "ingressDeny" not in spec:
        return False
    return as_map(spec.get("enableDefaultDeny")).get("ingress") is not False


def _admin_ingress(spec: Mapping[str, Any]) -> bool:
    # Traffic no rule matches falls through to NetworkPolicies and then to allow: only Deny
    # rules take away reachability.
    return any(as_map(r).get("action") == "Deny" for r in as_list(spec.get("ingress")))


# The kinds `_policies` reads (it is asked of every object).
_POLICY_KINDS = frozenset(
    {
        "NetworkPolicy",
        "GlobalNetworkPolicy",
        "CiliumNetworkPolicy",
        "CiliumClusterwideNetworkPolicy",
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
    }
)


def _policies(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Policy]]:
    kind = doc.kind
    if kind not in _POLICY_KINDS:
        return
    spec = as_map(doc.data.get("spec"))
    group = _group(doc.api_version)
    ns, install = ctx.namespace, _install(doc, ctx)
    if kind in ("NetworkPolicy", "GlobalNetworkPolicy") and group.endswith("projectcalico.org"):
        label = f"Calico {kind}"
        pods: Selector = CalicoSelector(str(spec.get("selector") or ""))
        ingress = _calico_ingress(spec)
        if kind == "NetworkPolicy":
            yield ("spec",), Policy(ns, pods, ingress, install, label)
            return
        raw_ns = spec.get("namespaceSelector")
        namespaces: Selector | None = CalicoSelector(str(raw_ns)) if raw_ns else None
        yield ("spec",), Policy(None, pods, ingress, None, label, True, namespaces)
        return
    if kind == "NetworkPolicy":
        types = spec.get("policyTypes")
        # Unset policyTypes always means Ingress (plus Egress if there are egress rules).
        ingress = "Ingress" in as_list(types) if isinstance(types, list) else True
        selector = LabelSelector.parse(spec.get("podSelector"))
        yield ("spec", "podSelector"), Policy(ns, selector, ingress, install)
        return
    if kind in ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"):
        cluster = kind == "CiliumClusterwideNetworkPolicy"
        entries: list[tuple[KeyPath, Any]] = [(("spec",), doc.data.get("spec"))]
        entries += [(("specs", i), s) for i, s in enumerate(as_list(doc.data.get("specs")))]
        for path, raw in entries:
            rule = as_map(raw)
            if "endpointSelector" not in rule:  # a host policy (nodeSelector) or no spec
                continue
            selector = LabelSelector.parse(rule.get("endpointSelector"), cilium=True)
            where = (*path, "endpointSelector")
            if cluster:
                yield where, Policy(None, selector, _cilium_ingress(rule), None, kind, True)
            else:
                yield where, Policy(ns, selector, _cilium_ingress(rule), install, kind)
        return
    if kind in ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy"):
        subject = as_map(spec.get("subject"))
        if "namespaces" in subject:
            pods = LabelSelector()
            namespaces = LabelSelector.parse(subject.get("namespaces"))
        else:
            both = as_map(subject.get("pods"))
            pods = LabelSelector.parse(both.get("podSelector"))
            namespaces = LabelSelector.parse(both.get("namespaceSelector"))
        yield (
            ("spec", "subject"),
            Policy(None, pods, _admin_ingress(spec), None, kind, True, namespaces),
        )


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    kind = doc.kind
    if kind == "Namespace":
        if doc.name:
            yield ("metadata",), Namespace(doc.name, labels_of(doc.metadata.get("labels")))
        return
    policies = list(_policies(doc, ctx))
    if policies:
        yield from policies
        return
    pod = pod_template(doc)
    if pod is None or kind == "PodTemplate":  # a PodTemplate object runs nothing
        return
    host = pod.spec.get("hostNetwork") is True
    # A host-network pod is out of reach because of that line, not because of its labels.
    where = (*pod.spec_path, "hostNetwork") if host else (*pod.path, "metadata", "labels")
    yield (
        where,
        Workload(ctx.namespace, labels_of(pod.metadata.get("labels")), host, _install(doc, ctx)),
    )


def _among(w: Workload) -> str:
    if w.namespace:
        return f"in namespace {w.namespace!r}"
    return f"installed with it ({w.install}, namespace decided at install time)"


# The two reasons that mean "no policy at all where this workload is installed": the cases
# `deploysafe fix` writes a default-deny NetworkPolicy for (fix.netpol).
def no_policy(namespace: str) -> str:
    return f"namespace {namespace!r} has no NetworkPolicy"


def no_policy_installed(install: str) -> str:
    return f"no NetworkPolicy is installed with it ({install}, namespace decided at install time)"


def _covers_namespace(p: Policy, w: Workload, namespaces: Mapping[str, Labels]) -> bool:
    if p.namespaces is None:
        return True
    if w.namespace is None:  # decided at install time: no namespace selector is known to match
        return False
    return p.namespaces.matches(namespace_view(w.namespace, namespaces.get(w.namespace, ())))


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str]]:
    policies: dict[tuple[str | None, str | None], list[Policy]] = {}
    cluster: list[Policy] = []
    namespaces: dict[str, Labels] = {}
    for f in facts:
        if isinstance(f.data, Policy):
            if f.data.cluster:
                cluster.append(f.data)
            else:
                policies.setdefault((f.data.namespace, f.data.install), []).append(f.data)
        elif isinstance(f.data, Namespace):
            namespaces[f.data.name] = f.data.labels
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
        view = pod_view(w, dict(namespaces.get(w.namespace or "", ())))
        here = policies.get((w.namespace, w.install), [])
        wide = [p for p in cluster if _covers_namespace(p, w, namespaces)]
        selecting = [p for p in (*here, *wide) if p.selector.matches(view)]
        if any(p.ingress for p in selecting):
            continue
        if selecting and all(p.kind == "NetworkPolicy" for p in selecting):
            why = "only egress NetworkPolicies select its pods"
        elif selecting:
            kinds = ", ".join(sorted({p.kind for p in selecting}))
            why = f"only policies that leave its ingress open select its pods ({kinds})"
        elif here:
            shown = ", ".join(f"{k}={v}" for k, v in w.labels) or "no labels"
            why = f"no NetworkPolicy {_among(w)} selects its pods ({shown})"
        elif w.namespace:
            why = no_policy(w.namespace)
        else:
            why = no_policy_installed(str(w.install))
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
        "names no namespace either is known to share it, so only such a policy covers it.\n\n"
        "Policies of the common network plugins count as well as NetworkPolicy: "
        "`CiliumNetworkPolicy` and `CiliumClusterwideNetworkPolicy` (an endpoint selector with "
        "an `ingress` or `ingressDeny` section isolates, `k8s:`/`any:` label keys and the "
        "`io.kubernetes.pod.namespace` label are understood), Calico `NetworkPolicy` and "
        "`GlobalNetworkPolicy` (projectcalico.org; selector expressions, `types` as Calico "
        "defaults it, `namespaceSelector`), and `AdminNetworkPolicy` / "
        "`BaselineAdminNetworkPolicy` (a subject with an ingress `Deny` rule; Allow and Pass "
        "rules alone leave the rest of the traffic open). Cluster-wide policies cover a "
        "workload whose namespace is decided at install time only if they select every "
        "namespace. Not reported: a pod any of these select for ingress; a policy's rules are "
        "not judged (an allow-all ingress rule still counts as coverage)."
    ),
    fix="Add a default-deny NetworkPolicy to each namespace (`podSelector: {}`, "
    "`policyTypes: [Ingress, Egress]`) and allow only the flows each workload needs; keep "
    "workloads off `hostNetwork`. Where a namespace (or a folder installed without one) has "
    "no NetworkPolicy at all, `deploysafe fix --unsafe-fixes` writes "
    "`networkpolicy-default-deny.yaml` next to its manifests (and lists it in the "
    "kustomization there): unsafe, because it cuts every pod off, DNS included, until the "
    "allow policies exist.",
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
