"""DS310: a Kubernetes Secret (or an ExternalSecret template) commits its values in plain text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe.k8s.pods import as_map, get, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets._install import install_time
from deploysafe.secrets.detect import (
    DetectOptions,
    analyse,
    decoded,
    is_placeholder,
    is_reference,
    public_certificate,
)


def is_sops(doc: Document) -> bool:
    sops = doc.data.get("sops")
    return isinstance(sops, dict) and bool({"mac", "lastmodified", "version"} & set(sops))


def _literal(value: Any, options: DetectOptions) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value)
    if not text.strip() or text.startswith("ENC[") or is_reference(text, options.references):
        return None
    return text


def _placeholder(plain: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    """A decoded value that stands in for a secret. A Docker config is judged by its
    credentials (`auth`, `password`, `identitytoken`), not by its registry's host name."""
    try:
        config = json.loads(plain)
    except ValueError:
        config = None
    if isinstance(config, dict):
        creds = [
            (decoded(str(v)) or str(v)) if k == "auth" else str(v)  # auth: base64 user:password
            for entry in as_map(config.get("auths", config)).values()
            for k, v in as_map(entry).items()
            if k in ("auth", "password", "identitytoken") and v
        ]
        if creds:
            return all(is_placeholder(c, patterns) for c in creds)
    return is_placeholder(plain, patterns)


# A whole SOPS-encrypted file (YAML, JSON, INI, dotenv), as a Secret key holds it when a
# kustomize generator read it with `files:`.
_SOPS_FILE = re.compile(r'^(?:sops:|[ \t]*"sops"[ \t]*:|\[sops\]|sops_mac=)', re.MULTILINE)


def sops_encrypted(text: str) -> bool:
    """SOPS ciphertext: an `ENC[...]` value, or a whole encrypted file. A kustomize
    generator that reads a SOPS-encrypted file (decrypted at apply time by Flux) renders to
    a Secret holding these."""
    v = text.strip()
    return v.startswith("ENC[") or ("ENC[" in v and _SOPS_FILE.search(v) is not None)


def _what(text: str, options: DetectOptions) -> str:
    hits = analyse(text, "value", options).tokens
    return f": it holds a {hits[0].type.description}" if hits else ""


# kind -> (API group prefix, manager)
_KINDS = {
    "SealedSecret": ("bitnami.com/", "sealed-secrets"),
    "ExternalSecret": ("external-secrets.io/", "external-secrets"),
    "SecretStore": ("external-secrets.io/", "external-secrets"),
    "ClusterSecretStore": ("external-secrets.io/", "external-secrets"),
    "SopsSecret": ("isindir.github.com/", "sops-secret"),
    "SecretProviderClass": ("secrets-store.csi.x-k8s.io/", "csi"),
}


def manager_of(doc: Document) -> tuple[str, tuple[str | int, ...]] | None:
    """The secret manager a document relies on, and where that shows."""
    known = _KINDS.get(doc.kind)
    if known is not None and doc.api_version.startswith(known[0]):
        return known[1], ("kind",)
    if is_sops(doc):
        return "sops", ("sops",)
    pod = pod_template(doc)
    if pod is not None and str(pod.annotations.get("vault.hashicorp.com/agent-inject")) == "true":
        return "vault", (*pod.path, "metadata", "annotations")
    return None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if p.excluded(doc.file):
        return
    manager = manager_of(doc)
    if manager is not None and not p.allows(manager[0]):
        allowed = ", ".join(sorted(p.managers)) or "none"
        yield Violation(
            manager[1],
            f"{doc.kind} {doc.name} relies on {manager[0]}, which the secrets policy does "
            f"not allow (allowed: {allowed})",
        )
    if is_sops(doc):
        return
    options = p.options
    if doc.kind == "Secret" and doc.api_version == "v1":
        if doc.data.get("type") == "kubernetes.io/service-account-token":
            return
        fields = (("data", True), ("stringData", False))
        # A SOPS-encrypted dotenv read by a generator: its metadata keys come along.
        dotenv = any("sops_mac" in as_map(doc.data.get(f)) for f, _ in fields)
        for field, is_b64 in fields:
            for key, value in as_map(doc.data.get(field)).items():
                text = _literal(value, options)
                if text is None or (dotenv and str(key).startswith("sops_")):
                    continue
                plain = decoded(text) if is_b64 else text
                if plain is not None and sops_encrypted(plain):
                    continue
                if is_b64 and plain is not None and _placeholder(plain, p.placeholders):
                    continue
                if (plain is not None and public_certificate(plain)) or install_time(
                    doc, (field, str(key))
                ):
                    continue  # public material; or generated/looked up at install time
                what = _what(plain, options) if plain else ""
                yield Violation(
                    (field, str(key)),
                    f"Secret {doc.name} commits {key!r} in {field} "
                    f"({'base64 is an encoding, not encryption' if is_b64 else 'plain text'})"
                    + what,
                    secret=text,
                )
    elif doc.kind == "ExternalSecret" and doc.api_version.startswith("external-secrets.io/"):
        template = as_map(get(doc.data, "spec", "target", "template", "data"))
        for key, value in template.items():
            text = _literal(value, options)
            if text is None or "{{" in text:
                continue
            yield Violation(
                ("spec", "target", "template", "data", str(key)),
                f"ExternalSecret {doc.name} templates {key!r} with a literal value instead "
                "of a reference to the store",
                secret=text,
            )


RULE = Rule(
    id="DS310",
    title="Secrets must not be committed as plain Kubernetes Secret data",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.KUBERNETES,
    why=(
        "A `kind: Secret` manifest in Git carries its values base64-encoded, which anyone "
        "can decode: the repository becomes the secret store, with every reader and every "
        "clone as a holder. The runtime secret should reach the cluster from a secret "
        "manager or encrypted in Git: SOPS-encrypted files (recognised by their `sops:` "
        "block and `ENC[...]` values, also in the Secret a kustomize generator makes of them), "
        "SealedSecret, ExternalSecret, the Secrets Store CSI "
        "driver or Vault injection are all fine. Templated values (`{{ .Values.x }}`, "
        "`${VAR}`) and service-account token Secrets are not reported; nor are values that "
        "are public (PEM certificates, CA bundles: `ca.crt` holding only `BEGIN "
        "CERTIFICATE` blocks) or made when a Helm chart is installed (its template line "
        "generates them with `randAlphaNum`, `randAscii`, `genPrivateKey`, `derivePassword` "
        "..., or reads the cluster with `lookup`, directly or through a template variable; "
        "a value from a helper `include` is not followed). When "
        "`secrets.managers` in deploysafe.yaml lists the allowed managers, a secret "
        "delivered through any other one is reported too."
    ),
    fix="Rotate the values, delete the manifest from Git, and deliver the Secret through "
    "SOPS (`sops -e -i secret.yaml`), a SealedSecret (`kubeseal`), or an ExternalSecret "
    "that reads your secret manager.",
    bad="""\
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData:
  password: Tz8-qLm2Vx4
""",
    good="""\
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db, namespace: shop}
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target: {name: db}
  data:
  - secretKey: password
    remoteRef: {key: shop/db, property: password}
""",
    references=(
        "gitleaks kubernetes-secret-yaml",
        "Kubernetes: Good practices for Kubernetes Secrets",
        "onedr0p/sops-pre-commit forbid-secrets",
    ),
    check=check,
    # A Secret in the API server is where secret data belongs: the rule is about Secrets
    # committed to a repository.
    scopes=frozenset({Scope.MANIFESTS, Scope.HISTORY}),
)
