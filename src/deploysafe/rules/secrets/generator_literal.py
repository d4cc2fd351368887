"""DS314: a kustomization's secretGenerator (or configMapGenerator) commits a secret literal."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.config.secrets import SecretsPolicy
from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets.configmap_secret import named_credential
from deploysafe.secrets.detect import DetectOptions, analyse, is_placeholder, is_reference, unquote


def literal(entry: str) -> tuple[str, str] | None:
    """(key, value) of a `literals:` entry, read as kustomize reads it: split at the first
    `=`, one pair of matching quotes around the value removed. None when kustomize would
    reject the entry (no `=`, or nothing before it)."""
    key, sep, value = entry.partition("=")
    if not sep or not key:
        return None
    return key, unquote(value)


def _committed(value: str, p: SecretsPolicy) -> bool:
    """A value that is the secret itself: not empty, not a reference (`${VAR}`, `$(VAR)`,
    `ENC[...]`, a secret-manager URI) and not a stand-in (`<token>`, `changeme-later`...)."""
    v = value.strip()
    return bool(v) and not is_reference(v, p.references) and not is_placeholder(v, p.placeholders)


def _config_secret(key: str, value: str, options: DetectOptions) -> str | None:
    """In a ConfigMap literal: the secret, when the key names a credential and the value is
    one, or when the value holds a token of a known format (DS311's test)."""
    named = named_credential(key, value, options)
    if named is not None:
        return value.strip() if named else None
    found = analyse(value, key, options)
    if found.tokens:
        return found.tokens[0].secret
    if found.credentials:
        return found.credentials[0].value
    return None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if p.excluded(doc.file):
        return
    for field in ("secretGenerator", "configMapGenerator"):
        for i, generator in enumerate(as_list(doc.data.get(field))):
            gen = as_map(generator)
            name = gen.get("name")
            label = f"{field} {name!r}" if isinstance(name, str) else f"{field} entry {i + 1}"
            for j, entry in enumerate(as_list(gen.get("literals"))):
                pair = literal(entry) if isinstance(entry, str) else None
                if pair is None:
                    continue
                key, value = pair
                path = (field, i, "literals", j)
                if field == "secretGenerator":
                    if _committed(value, p):
                        yield Violation(
                            path,
                            f"{label} commits the value of {key!r} in plain text; the "
                            "generated Secret only base64-encodes it",
                            secret=value.strip(),
                        )
                    continue
                secret = _config_secret(key, value, p.options)
                if secret is not None:
                    yield Violation(
                        path,
                        f"{label} puts a credential ({key!r}) into a ConfigMap, in plain text",
                        secret=secret,
                    )


RULE = Rule(
    id="DS314",
    title="Kustomize generators must not commit secret literals",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.KUSTOMIZATION,
    why=(
        "`secretGenerator` `literals:` (`- password=...`) put the secret in the "
        "kustomization file, in Git, in plain text: the same as committing a `kind: Secret` "
        "with its data (DS310), with the value even easier to read. A credential in a "
        "`configMapGenerator` literal is worse still, since ConfigMaps are read widely "
        "(DS311). The rule reads `kustomization.yaml`, `kustomization.yml` and "
        "`Kustomization` files as written, with or without rendering, and points at the "
        "literal's line. Values that are references are not reported: `${VAR}` (Flux "
        "post-build substitution), `$(VAR)`, `ENC[...]` (SOPS), secret-manager URIs, and "
        "stand-ins such as `<token>`. Generators that read `envs:` or `files:` are not "
        "reported here: those files are read on their own (DS301, DS302), and a rendered "
        "scan checks the Secret they produce (DS310)."
    ),
    fix="Rotate the value and take it out of the kustomization. Generate the Secret from a "
    "file that is encrypted in Git: `envs:` or `files:` naming a SOPS-encrypted file "
    "(decrypted at apply time by Flux's kustomize-controller, or by a KSOPS generator with "
    "Argo CD), or list an ExternalSecret or a SealedSecret under `resources:` instead of the "
    "generator. A credential in a `configMapGenerator` moves to such a Secret.",
    bad="""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
secretGenerator:
- name: db
  literals:
  - password=Tz8-qLm2Vx4
""",
    good="""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
secretGenerator:
- name: db
  envs:
  - db.sops.env  # encrypted with `sops -e`; Flux decrypts it at apply time
""",
    references=(
        "Kustomize: secretGenerator",
        "Flux: Kustomize secretGenerator with SOPS",
        "viaduct-ai/kustomize-sops (KSOPS)",
        "Kubernetes: Good practices for Kubernetes Secrets",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
