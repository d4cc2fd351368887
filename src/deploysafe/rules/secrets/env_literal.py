"""DS312: a credential-named env variable is set with a literal `value:`."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, containers, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets._install import install_time
from deploysafe.secrets.detect import judge
from deploysafe.secrets.names import credential_name


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    pod = pod_template(doc)
    if pod is None or p.excluded(doc.file):
        return
    for c in containers(pod):
        for i, env in enumerate(as_list(c.data.get("env"))):
            e = as_map(env)
            name, value = str(e.get("name", "")), e.get("value")
            if value is None or isinstance(value, dict | list | bool):
                continue
            pw = credential_name(name)
            # Default passwords are DS508's (practice 5); this rule is about real ones.
            if pw is None or judge(name, str(value), pw, p.options) != "secret":
                continue
            if install_time(doc, (*c.path, "env", i, "value")):
                continue
            yield Violation(
                (*c.path, "env", i, "value"),
                f"{c.label} sets {name} to a literal credential; use valueFrom.secretKeyRef",
                secret=str(value),
            )


RULE = Rule(
    id="DS312",
    title="Credential env variables must come from a Secret",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "An env `value:` is part of the workload's spec: it is committed with the "
        "manifest, stored unencrypted in etcd as part of the Deployment, and shown by "
        "`kubectl get -o yaml` to anyone who may read Deployments (a much wider group than "
        "those who may read Secrets). A value a Helm template generates at install time "
        "(`randAlphaNum`, `lookup` ...) is not reported: it is in no committed file."
    ),
    fix="Store the credential in a Secret (delivered by your secret manager) and "
    "reference it with `valueFrom.secretKeyRef`, or better mount it as a file.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  containers:
  - name: api
    image: registry.example/api:1.4.2
    env:
    - {name: STRIPE_API_KEY, value: Tz8-qLm2Vx4-Rk9pWd}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  containers:
  - name: api
    image: registry.example/api:1.4.2
    env:
    - name: STRIPE_API_KEY
      valueFrom: {secretKeyRef: {name: stripe, key: api-key}}
""",
    references=(
        "KICS K8s Environment Variable Password",
        "Kubescape C-0012",
        "kube-linter env-var-secret",
    ),
    check=check,
    scopes=frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION, Scope.HISTORY}),
)
