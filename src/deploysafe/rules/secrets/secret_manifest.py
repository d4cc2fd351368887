"""DS310: a Kubernetes Secret (or an ExternalSecret template) commits its values in plain text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any

from deploysafe import jsondata
from deploysafe.frozen import record
from deploysafe.k8s.pods import as_map, get, pod_template
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.secrets._install import install_time
from deploysafe.secrets.detect import (
    DetectOptions,
    analyse,
    decoded,
    entropy,
    is_placeholder,
    is_reference,
    judge,
    public_certificate,
)
from deploysafe.secrets.names import credential_name


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


_DOCKER_CONFIG_KEYS = frozenset({".dockerconfigjson", ".dockercfg"})


def _registry_credentials(plain: str, key: str = "") -> list[str] | None:
    """The credentials of a Docker config (`auth`, `password`, `identitytoken` of each
    registry), or None when the value is not one. It is judged by these, not by its
    registry's host name."""
    try:
        config = jsondata.loads(plain)
    except jsondata.JsonTooDeep:
        # Too deep to read: its credentials cannot be told from placeholders, so under a
        # Docker config key the whole value counts as one.
        return [plain] if key in _DOCKER_CONFIG_KEYS else None
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    creds = [
        str(v)
        for entry in as_map(config.get("auths", config)).values()
        for k, v in as_map(entry).items()
        if k in ("auth", "password", "identitytoken") and v
    ]
    return creds or None


def _placeholder(plain: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    """A value that stands in for a secret; for a Docker config, one whose credentials all
    do (an `auth` is base64 of user:password)."""
    creds = _registry_credentials(plain)
    if creds is not None:
        return all(is_placeholder(decoded(c) or c, patterns) for c in creds)
    # A file (several lines) is judged value by value (`material`): a marker somewhere in
    # it says nothing of the whole, and a PEM block's base64 spells `tbd` or `todo` by chance.
    return "\n" not in plain.strip() and is_placeholder(plain, patterns)


# A whole SOPS-encrypted file (YAML, JSON, INI, dotenv), as a Secret key holds it when a
# kustomize generator read it with `files:`.
_sops_file = on_first_use(r'^(?:sops:|[ \t]*"sops"[ \t]*:|\[sops\]|sops_mac=)', re.MULTILINE)


def sops_encrypted(text: str) -> bool:
    """SOPS ciphertext: an `ENC[...]` value, or a whole encrypted file. A kustomize
    generator that reads a SOPS-encrypted file (decrypted at apply time by Flux) renders to
    a Secret holding these."""
    v = text.strip()
    return v.startswith("ENC[") or ("ENC[" in v and _sops_file().search(v) is not None)


@record
class Material:
    """Secret material in one value of a Secret: what it is, how bad, where in the value."""

    severity: Severity
    what: str  # "holds a GitHub personal access token", "sets password to a literal ..."
    secret: str
    offset: int | None = None  # in the (decoded) value, for a line of an embedded file


def _random_looking(key: str, value: str, options: DetectOptions) -> bool:
    """A one-line value under a key that names no credential, shaped like a generated
    secret (long, mixed, high entropy): not a host, URL, path or address."""
    v = value.strip()
    return (
        len(v) >= 16
        and entropy(v) >= 3.5
        and not any(c in v for c in ".:@ ")
        and not v.startswith("/")
        and judge(key, v, False, options) == "secret"
    )


def material(key: str, plain: str, options: DetectOptions) -> list[Material]:
    """The secret material in one value: tokens of a known format, credential settings of
    an embedded file (INI, YAML, JSON, properties ...), the value itself when its key names
    a credential, or a random-looking value. Most severe first."""
    # The key is the file name a mount gives the value; an extensionless one is config.
    path = key if PurePosixPath(key).suffix else f"{key}.conf"
    found = analyse(plain, path, options)
    # The severities DS301 and DS302 give the same text in any other file.
    out = [
        Material(
            Severity.CRITICAL, f"holds {_article(hit.type.description)}", hit.secret, hit.offset
        )
        for hit in found.tokens
    ]
    out.extend(
        Material(Severity.HIGH, f"sets {a.key} to {what}", a.value, a.offset)
        for group, what in (
            (found.credentials, "a literal credential"),
            (found.defaults, "a well-known default password"),
        )
        for a in group
    )
    registry = _registry_credentials(plain, key) if not out else None
    if registry is not None:
        # A Docker config holds registry credentials by construction (placeholders were
        # dropped before): whatever their shape, they log in.
        out.extend(Material(Severity.HIGH, "holds registry credentials", c) for c in registry)
    one_line = plain.strip()
    if not out and "\n" not in one_line:
        # A Secret's bare `key` or `auth` is one (`credential_name` reads them as parts of
        # longer names elsewhere).
        pw = True if key.lower() in ("key", "auth") else credential_name(key)
        verdict = judge(key, one_line, pw, options) if pw is not None else None
        if verdict is None and pw is not None and " " in one_line:
            # The value of a Secret's password key is the password, spaces and all (the
            # detector drops spaced values elsewhere as prose).
            verdict = judge(key, one_line.replace(" ", ""), pw, options)
        if verdict == "secret":
            what = "a password-like literal" if pw else "a literal credential"
            out.append(Material(Severity.HIGH, f"holds {what}", one_line))
        elif verdict == "default":
            out.append(Material(Severity.HIGH, "holds a well-known default password", one_line))
        elif pw is None and _random_looking(key, one_line, options):
            out.append(Material(Severity.MEDIUM, "holds a random-looking value", one_line))
    return sorted(out, key=lambda m: -m.severity)


def _article(description: str) -> str:
    first = description.split(" ", 1)[0]
    if first[1:].islower():  # "Password embedded in a URL"; not "AWS ...", "GitHub ..."
        description = description[0].lower() + description[1:]
    if description.startswith(("a ", "an ", "the ")):
        return description
    return ("an " if description[:1].lower() in "aeiou" else "a ") + description


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
        yield from _secret(doc, ctx)
    elif doc.kind == "ExternalSecret" and doc.api_version.startswith("external-secrets.io/"):
        base = ("spec", "target", "template", "data")
        found: list[tuple[KeyPath, str, Material]] = []
        for key, value in as_map(get(doc.data, *base)).items():
            text = _literal(value, options)
            if text is None or "{{" in text:
                continue
            found.extend(((*base, str(key)), text, m) for m in material(str(key), text, options))
        v = _report(
            doc,
            found,
            f"ExternalSecret {doc.name} templates literal values "
            "instead of references to the store",
        )
        if v is not None:
            yield v


def _secret(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    options = p.options
    fields = (("data", True), ("stringData", False))
    # A SOPS-encrypted dotenv read by a generator: its metadata keys come along.
    dotenv = any("sops_mac" in as_map(doc.data.get(f)) for f, _ in fields)
    found: list[tuple[KeyPath, str, Material]] = []
    encoded = False
    for field, is_b64 in fields:
        for key, value in as_map(doc.data.get(field)).items():
            text = _literal(value, options)
            if text is None or (dotenv and str(key).startswith("sops_")):
                continue
            plain = decoded(text) if is_b64 else text
            if plain is not None and sops_encrypted(plain):
                continue
            if plain is None:
                plain = text  # not base64: the API server rejects it, but it is in Git
            if _placeholder(plain, p.placeholders):
                continue
            if public_certificate(plain) or install_time(doc, (field, str(key))):
                continue  # public material; or generated/looked up at install time
            for m in material(str(key), plain, options):
                encoded = encoded or is_b64
                found.append(((field, str(key)), plain, m))
    how = "base64 is an encoding, not encryption" if encoded else "plain text"
    v = _report(doc, found, f"Secret {doc.name} commits secret material ({how})")
    if v is not None:
        yield v


def _report(
    doc: Document, found: list[tuple[KeyPath, str, Material]], head: str
) -> Violation | None:
    """One finding for an object: at its most severe secret, listing each key that holds
    secret material (what, and the line of an embedded file) at the highest severity."""
    if not found:
        return None
    ranked = sorted(found, key=lambda f: -f[2].severity)  # stable: document order within
    path, value, top = ranked[0]
    by_key: dict[KeyPath, list[str]] = {}
    for where, text, m in found:
        line = (
            ""
            if m.offset is None or "\n" not in text.strip()
            else f" (line {_line(text, m.offset)})"
        )
        what = f"{m.what}{line}"
        if what not in by_key.setdefault(where, []):
            by_key[where].append(what)
    parts = [f"{where[-1]!r} {', '.join(whats)}" for where, whats in by_key.items()]
    secrets = list(dict.fromkeys(m.secret for _, _, m in ranked))
    return Violation(
        path,
        f"{head}: " + "; ".join(parts),
        # At the line of an embedded file that holds it; at the key for a value that is
        # the secret, or for base64 `data` (which hides the embedded file's lines).
        offset=None
        if path[0] == "data" or top.secret.strip() == value.strip()
        else _in_file(doc, path, value, top.offset),
        secret=top.secret,
        others=tuple(s for s in secrets[1:] if s != top.secret),
        severity=top.severity,
    )


def _in_file(doc: Document, path: KeyPath, value: str, offset: int | None) -> int | None:
    """Where a line of an embedded file, written as it is (a block scalar), sits in the
    file: an offset for the engine to turn into a line. None when it cannot be told (a
    rendered or patched document, a folded or quoted value, a one-line value)."""
    if offset is None or "\n" not in value.strip() or doc.rendered_from or doc.written:
        return None
    k = value.count("\n", 0, offset)
    vline = value.split("\n")[k]
    col = offset - (value.rfind("\n", 0, offset) + 1)
    key_line, _ = doc.locate(path)
    at = key_line + k  # 0-based: the value starts on the line after its key
    if not vline.strip() or at >= len(doc.lines) or not doc.lines[at].rstrip().endswith(vline):
        return None
    indent = len(doc.lines[at].rstrip()) - len(vline)
    return sum(len(ln) + 1 for ln in doc.lines[:at]) + indent + col


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


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
        "driver or Vault injection are all fine. Values made when a Helm chart is installed "
        "are not reported either (the template line generates them with `randAlphaNum`, "
        "`randAscii`, `genPrivateKey`, `derivePassword` ..., or reads the cluster with "
        "`lookup`, directly or through a template variable; a value from a helper "
        "`include` is not followed). When "
        "`secrets.managers` in deploysafe.yaml lists the allowed managers, a secret "
        "delivered through any other one is reported too.\n\n"
        "A Secret is judged by what its values hold (`data` decoded from base64), with the "
        "detector the other secrets rules use; a value that is a whole config file (INI, "
        "YAML, JSON, properties: `password = ...` lines, a `bearer_token:`) is read as one. "
        "Each Secret is reported once, at its most severe secret (in `stringData`, at the "
        "line of the embedded file that holds it), and the message lists every key that "
        "holds secret material. The severity follows the material:\n\n"
        "- critical: a token or key of a known format (DS301's types: private keys, cloud "
        "and VCS tokens, passwords inside URLs ...);\n"
        "- high: a literal under a credential-named key (`password`, `api-token`, a bare "
        "`key`), a credential setting inside an embedded file, a well-known default "
        "password, registry credentials in a Docker config;\n"
        "- medium: a random-looking value (16 characters or more, mixed, high entropy) "
        "under a key that names no credential.\n\n"
        "Not reported, on purpose: a Secret none of whose values holds secret material "
        "(a `grafana.ini` of display settings, a datasource URL without credentials, "
        "Alertmanager routing, a user name, a public certificate): it is configuration, "
        "and the rule's subject is a committed secret; templated values (`{{ .Values.x }}`, "
        "`${VAR}`), placeholders (`your-password-here`, `<token>`, `xxxx`) and service-account "
        "token Secrets. A severity set for DS310 in deploysafe.yaml replaces the scale."
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
