"""DS502: pods must not run as the default ServiceAccount with its token mounted."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import pod_template
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    spec = pod.spec
    # `serviceAccount` is the deprecated alias; the API server prefers serviceAccountName.
    field = "serviceAccountName" if spec.get("serviceAccountName") else "serviceAccount"
    sa = spec.get(field) or "default"
    if sa != "default" or spec.get("automountServiceAccountToken") is False:
        return
    path: KeyPath = (*pod.spec_path, field)  # the spec when neither field is set
    what = f"{doc.kind} {doc.name or '<unnamed>'!r}"
    how = f"sets {field} 'default'" if spec.get(field) else "sets no ServiceAccount"
    yield Violation(
        path,
        f"{what} {how}: its pods run as the namespace's default ServiceAccount with its API "
        "token mounted",
    )


def fixer(doc: Document, path: KeyPath) -> Fix | None:
    pod = pod_template(doc)
    # An explicit `automountServiceAccountToken: true` says the pod calls the API: it needs
    # its own ServiceAccount, which only a human can define.
    if pod is None or "automountServiceAccountToken" in pod.spec:
        return None
    edit = Edit(EditOp.SET, (*pod.spec_path, "automountServiceAccountToken"), False)
    return Fix((edit,), False, "set spec.automountServiceAccountToken: false")


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
"""


RULE = Rule(
    id="DS502",
    title="Pods must not use the default ServiceAccount with a mounted token",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "Every pod that names no ServiceAccount runs as `default` and gets its API token "
        "mounted. All such pods share one identity, so a role bound to `default` for one of "
        "them is granted to all, and any compromised container can call the API server with "
        "that token."
    ),
    fix="Create a ServiceAccount per workload and set `serviceAccountName`; if the pod never "
    "calls the Kubernetes API, set `automountServiceAccountToken: false` in the pod spec.",
    bad="""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
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
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers:
      - {name: web, image: registry.example/web:1.0}
""",
    references=(
        "CIS Kubernetes 5.1.5",
        "CIS Kubernetes 5.1.6",
        "Checkov CKV_K8S_41",
        "kube-linter default-service-account",
        "Trivy KSV-0036",
        "Kubescape C-0189",
        "Kubescape C-0034",
    ),
    check=check,
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Sets `automountServiceAccountToken: false` in the pod spec, so no API token is "
            "mounted. Unsafe because a pod that does call the Kubernetes API (a controller, "
            "an operator, a client library's in-cluster config) loses its credentials: such "
            "a pod needs its own ServiceAccount instead. A pod that sets "
            "`automountServiceAccountToken: true` is left for a human: its author said it "
            "calls the API."
        ),
        before=_FIX_EXAMPLE,
        after=_FIX_EXAMPLE + "      automountServiceAccountToken: false\n",
    ),
)
