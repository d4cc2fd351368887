"""DS311: a ConfigMap holds a secret (a credential-named key with a literal, or a token)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_map
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.secrets.detect import DetectOptions, analyse, judge
from deploysafe.secrets.names import credential_name


def named_credential(key: str, value: str, options: DetectOptions) -> bool | None:
    """For a credential-named key with a one-line value: is the value a secret? None when
    the key names no credential (or the value is an embedded file): read it as text."""
    pw = credential_name(key)
    if pw is None or "\n" in value.strip():
        return None
    return judge(key, value, pw, options) is not None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if doc.kind != "ConfigMap" or p.excluded(doc.file):
        return
    for key, value in as_map(doc.data.get("data")).items():
        if not isinstance(value, str) or not value.strip():
            continue
        name = str(key)
        named = named_credential(name, value, p.options)
        if named is not None:
            if named:
                yield Violation(
                    ("data", name),
                    f"ConfigMap {doc.name} holds {name!r}, a credential, in plain text",
                    secret=value.strip(),
                )
            continue
        # An embedded file (application.properties, config.json ...): its credentials.
        found = analyse(value, name, p.options)
        for a in found.credentials:
            yield Violation(
                ("data", name),
                f"ConfigMap {doc.name} key {name!r} sets {a.key} to a literal credential",
                secret=a.value,
            )
        for hit in found.tokens:
            yield Violation(
                ("data", name),
                f"ConfigMap {doc.name} key {name!r} holds a {hit.type.description}",
                secret=hit.secret,
            )


RULE = Rule(
    id="DS311",
    title="ConfigMaps must not hold secrets",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    why=(
        "ConfigMaps are meant to be read widely: they are not encrypted at rest, RBAC "
        "roles grant `get configmaps` freely, and they are printed by `kubectl describe`. "
        "A password or token in one is exposed to every workload and operator that can "
        "read configuration."
    ),
    fix="Move the value into a Secret delivered by your secret manager (ExternalSecret, "
    "SealedSecret, SOPS) and mount or reference it; keep only non-secret settings in the "
    "ConfigMap.",
    bad="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-config, namespace: shop}
data:
  DB_HOST: db.shop.svc
  DB_PASSWORD: Tz8-qLm2Vx4
""",
    good="""\
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-config, namespace: shop}
data:
  DB_HOST: db.shop.svc
  DB_PASSWORD_FILE: /run/secrets/db/password
""",
    references=("Trivy KSV-0109", "Trivy KSV-01010", "Kubescape C-0012"),
    check=check,
    scopes=frozenset({Scope.MANIFESTS, Scope.LIVE, Scope.ADMISSION, Scope.HISTORY}),
)
