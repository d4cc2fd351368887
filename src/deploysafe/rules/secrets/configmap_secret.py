"""DS311: a ConfigMap holds a secret (a credential-named key with a literal, or a token)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_map
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.secrets import embedded
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
        # An embedded file (collector.yaml, application.properties ...): its credentials,
        # parsed as the format it is when it is a config file, else read as text.
        found = analyse(value, name, p.options)
        path = ("data", name)
        judged = embedded.credentials(value, name, p.options, found.names)
        literals = (
            [(a.line, a.key, a.value) for a in found.credentials]
            if judged is None
            else [
                (j.setting.line, j.setting.key, j.setting.value)
                for j in judged
                # a token in a setting is reported once, as the token it is
                if not any(
                    j.setting.value in h.secret or h.secret in j.setting.value for h in found.tokens
                )
            ]
        )
        if judged is not None and embedded.config_format(name, value) in ("ini", "properties"):
            # Line formats: the text reading also finds settings not at a line's start.
            seen = {(line, secret) for line, _, secret in literals}
            literals += [
                (a.line, a.key, a.value) for a in found.credentials if (a.line, a.value) not in seen
            ]
        for line, key, secret in literals:
            yield Violation(
                path,
                f"ConfigMap {doc.name} key {name!r} sets {key} to a literal credential",
                offset=_offset(doc, path, value, line, secret),
                secret=secret,
            )
        for hit in found.tokens:
            yield Violation(
                path,
                f"ConfigMap {doc.name} key {name!r} holds a {hit.type.description}",
                offset=_offset(doc, path, value, hit.line, hit.secret),
                secret=hit.secret,
            )


def _offset(doc: Document, path: KeyPath, value: str, line: int, secret: str) -> int | None:
    """Where `secret`, on line `line` of the embedded file at `path`, is in the document's
    text: a block scalar's lines follow its key's. None (the key's line) when the file does
    not show it there (a rendered template, a quoted or folded scalar)."""
    if doc.rendered_from is not None or doc.written:
        return None
    key_line = doc.positions.get(path, (0, 0))[0]
    n = key_line + line - 1  # index of the value's line in doc.lines
    if key_line == 0 or n >= len(doc.lines) or line > value.count("\n") + 1:
        return None
    want = value.split("\n")[line - 1].strip()
    shown = doc.lines[n]
    at = shown.find(secret)
    if not want or shown.strip() != want or at < 0:
        return None
    return sum(len(ln) + 1 for ln in doc.lines[:n]) + at


RULE = Rule(
    id="DS311",
    title="ConfigMaps must not hold secrets",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    kinds=frozenset({"ConfigMap"}),
    why=(
        "ConfigMaps are meant to be read widely: they are not encrypted at rest, RBAC "
        "roles grant `get configmaps` freely, and they are printed by `kubectl describe`. "
        "A password or token in one is exposed to every workload and operator that can "
        "read configuration. A value that is itself a config file (YAML, JSON, INI, Java "
        "properties: a collector's `relay`, a Kiali `config.yaml`) is parsed, and each "
        "setting is judged by its own name, at its own line when the manifest is read as "
        "written. Not reported: commented-out settings in it, settings whose names say no "
        "credential, and references (`${env:TOKEN}`); a token inside a setting is reported "
        "once, as the token."
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
