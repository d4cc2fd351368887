"""DS508: env literals must not carry well-known default passwords."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.k8s.pods import Container, as_list, as_map, containers, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.secrets.names import LOGIN_NAME, env_password_name
from deploysafe.secrets.words import DEFAULT_PASSWORDS, DEFAULT_USERS


def _literal(env: Any) -> str | None:
    value = as_map(env).get("value")
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip().lower()


def _default_user(c: Container) -> str | None:
    """The name of an env variable of `c` that sets a well-known default login name."""
    for env in as_list(c.data.get("env")):
        name = str(as_map(env).get("name", ""))
        user_like = LOGIN_NAME.search(name.upper()) and not env_password_name(name)
        if user_like and _literal(env) in DEFAULT_USERS:
            return name
    return None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for c in containers(pod):
        user = None
        for i, env in enumerate(as_list(c.data.get("env"))):
            name = str(as_map(env).get("name", ""))
            if not env_password_name(name) or _literal(env) not in DEFAULT_PASSWORDS:
                continue
            user = user or _default_user(c)
            pair = f" (and {user} a default user name: a default login pair)" if user else ""
            # Never the value: findings are printed, and this is a credential.
            yield Violation(
                (*c.path, "env", i, "value"),
                f"{c.label} sets {name} to a well-known default password{pair}",
                secret=str(as_map(env).get("value")),
            )


RULE = Rule(
    id="DS508",
    title="Env variables must not carry default passwords",
    practice=Practice.DEFAULTS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "Default and trivial passwords (admin, changeme, password ...) are the first thing any "
        "scanner or attacker tries; a database or admin console started with one is open to "
        "anyone who reaches it. Written as an env literal, it is also in Git for everyone with "
        "read access."
    ),
    fix="Generate a strong credential, store it in a Secret (or an external secret store) and "
    "reference it with `valueFrom.secretKeyRef`; rotate anything that ran with the default.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop}
spec:
  containers:
  - name: db
    image: registry.example/postgres:16.3
    env:
    - {name: POSTGRES_PASSWORD, value: changeme}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop}
spec:
  containers:
  - name: db
    image: registry.example/postgres:16.3
    env:
    - name: POSTGRES_PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
""",
    references=(
        "kube-linter env-var-secret",
        "Polaris sensitiveContainerEnvVar",
        "Kubescape C-0012",
    ),
    check=check,
)
