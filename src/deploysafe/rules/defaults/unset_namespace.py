"""DS511: objects whose namespace is decided at install time, reported once per install.

An object that names no namespace (or Helm's `.Release.Namespace`, in a scan given no
`--namespace`) lands in the namespace of whoever installs it. Cross-resource, so that a chart
of fifty such objects gives one finding: `collect` keeps what installs each one (its render,
or its folder for plain manifests), `decide` reports each install once, at its first object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe.inputs.documents import install_unit
from deploysafe.model import Document, Fact, KeyPath, Practice, Severity, Target
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.defaults.default_namespace import cluster_scoped, namespaced


def collect(doc: Document, ctx: Context) -> Iterator[tuple[KeyPath, Any]]:
    if ctx.namespace is None and not cluster_scoped(doc) and namespaced(doc):
        yield ("metadata", "namespace"), install_unit(doc)


def decide(facts: Sequence[Fact]) -> Iterator[tuple[Fact, str]]:
    installs: dict[str, list[Fact]] = {}
    for f in sorted(facts, key=lambda f: (f.file, f.line, f.column)):
        installs.setdefault(str(f.data), []).append(f)
    for unit, group in installs.items():
        first = group[0]
        what = first.resource.display()
        if len(group) > 1:
            what += f" and {len(group) - 1} other object{'s' if len(group) > 2 else ''}"
        one = len(group) == 1
        yield (
            first,
            f"{what} in {unit} {'names' if one else 'name'} no namespace: "
            f"{'its' if one else 'their'} namespace is decided at install time, so this scan "
            f"could not judge it. Give the scan the namespace {'it is' if one else 'they are'} "
            "installed in (`--namespace NAME`, or `namespace:` in deploysafe.yaml), as the "
            "Argo CD destination or `helm install -n` will",
        )


RULE = Rule(
    id="DS511",
    title="Namespace decided at install time",
    practice=Practice.DEFAULTS,
    severity=Severity.LOW,
    target=Target.KUBERNETES_SET,
    why=(
        "An object that names no namespace, or a Helm template that writes "
        "`namespace: {{ .Release.Namespace }}`, lands wherever the person or tool installing "
        "it points: the Argo CD destination, `helm install -n`, or the kubeconfig's namespace "
        "(often `default`). A scan that is not told which one cannot judge what depends on "
        "it: whether it is `default` (DS501), which Pod Security labels apply, which "
        "NetworkPolicies cover the pods (DS509). The objects of one install share that "
        "namespace: one chart, one kustomization, or one folder of plain manifests "
        "(`kubectl apply -f folder`). Reported once per install, at its first object, "
        "naming how many objects it covers."
    ),
    fix="Scan with the namespace the objects are installed in: `deploysafe scan -n shop` (as "
    "the Argo CD Application's `destination.namespace` or `helm install -n` sets it), or the "
    "chart's or kustomization's `namespace:` in deploysafe.yaml; or write `metadata.namespace` "
    "in the manifests, or `namespace:` in the kustomization.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
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
""",
    references=("kube-linter use-namespace", "Checkov CKV_K8S_21"),
    collect=collect,
    decide=decide,
)
