"""DS313: a Secret is consumed as environment variables where a mounted file would do."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, containers, get, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None or ctx.secrets.excluded(doc.file):
        return
    for c in containers(pod):
        for i, env in enumerate(as_list(c.data.get("env"))):
            ref = get(env, "valueFrom", "secretKeyRef")
            if isinstance(ref, dict):
                name = as_map(env).get("name")
                yield Violation(
                    (*c.path, "env", i, "valueFrom", "secretKeyRef"),
                    f"{c.label} reads Secret {ref.get('name')!r} into env {name}; "
                    "mount it as a file",
                )
        for i, src in enumerate(as_list(c.data.get("envFrom"))):
            ref = as_map(src).get("secretRef")
            if isinstance(ref, dict):
                yield Violation(
                    (*c.path, "envFrom", i, "secretRef"),
                    f"{c.label} loads all of Secret {ref.get('name')!r} as env variables; "
                    "mount it as a file",
                )


RULE = Rule(
    id="DS313",
    title="Prefer secret files over secret env variables",
    practice=Practice.SECRETS,
    severity=Severity.LOW,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "Environment variables leak more easily than files: they are inherited by every "
        "child process, dumped in crash reports and debug endpoints, visible in "
        "`/proc/<pid>/environ` and often logged at start-up. A Secret volume is only "
        "readable at its path, can be limited with `defaultMode`, and is updated in place "
        "when the Secret rotates.\n\n"
        "Off by default. `valueFrom.secretKeyRef` and `envFrom.secretRef` are how the "
        "Kubernetes documentation tells applications to consume Secrets at run time, nothing "
        "is committed, and most images read their settings only from env variables: on real "
        "repositories this rule reports nearly every workload and almost none of those "
        "findings lead to a change. Turn it on where your images accept `*_FILE` settings and "
        "you want files everywhere. What it never reports: a literal credential in `env` (that "
        "is DS312, on by default) and a Secret mounted as a volume."
    ),
    fix="Mount the Secret as a volume (`volumes[].secret`, `volumeMounts`) and point the "
    "application at the file (many images take `*_FILE` variables for this).",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  containers:
  - name: api
    image: registry.example/api:1.4.2
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
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
    - {name: DB_PASSWORD_FILE, value: /run/secrets/db/password}
    volumeMounts:
    - {name: db, mountPath: /run/secrets/db, readOnly: true}
  volumes:
  - name: db
    secret: {secretName: db, defaultMode: 0400}
""",
    references=(
        "Checkov CKV_K8S_35",
        "CIS Kubernetes 5.4.1",
        "KICS Secrets as Environment Variables",
    ),
    check=check,
    scopes=frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION, Scope.HISTORY}),
    default_enabled=False,
)
