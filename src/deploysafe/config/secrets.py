"""The `secrets:` section of deploysafe.yaml, validated with errors that name key and line.

secrets:
  managers: [sops, sealed-secrets, external-secrets]   # allowed ways to deliver secrets
  placeholders: ["^DEV-ONLY-", "(?i)not-a-secret"]       # extra placeholder regexes
  references: ["conjur:"]                                # extra secret-manager prefixes
  exclude: ["docs/samples/*"]                            # paths no secrets rule reads
  rules: custom-rules.toml                                # gitleaks-format custom rules
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deploysafe.errors import ConfigError
from deploysafe.frozen import record
from deploysafe.globs import any_match, from_base
from deploysafe.model import KeyPath
from deploysafe.secrets.detect import DetectOptions
from deploysafe.secrets.patterns import TOKEN_TYPES, TokenType
from deploysafe.secrets.redact import quoted

if TYPE_CHECKING:
    from deploysafe.config.reader import Reader

# The ways a secret may reach a cluster without its value being committed in plain text.
MANAGERS: Mapping[str, str] = {
    "sops": "SOPS-encrypted files (values ENC[...], a top-level sops: block)",
    "sealed-secrets": "Bitnami SealedSecret (spec.encryptedData)",
    "external-secrets": "External Secrets Operator (ExternalSecret, SecretStore)",
    "vault": "HashiCorp Vault Agent injection (vault.hashicorp.com annotations)",
    "csi": "Secrets Store CSI driver (SecretProviderClass)",
    "sops-secret": "sops-secrets-operator (SopsSecret)",
}

KEYS = frozenset({"managers", "placeholders", "references", "exclude", "rules"})


@record
class SecretsPolicy:
    """The `secrets:` section: accepted managers, placeholders, references, excluded files
    and custom rules, with the detector options they make."""

    managers: frozenset[str] = frozenset(MANAGERS)
    placeholders: tuple[re.Pattern[str], ...] = ()
    references: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    custom: tuple[TokenType, ...] = ()
    options: DetectOptions = field(default_factory=DetectOptions)
    base: str = ""  # the scan root from the policy file's folder (Config.base)

    def excluded(self, file: str) -> bool:
        # Asked by each secrets rule of each document: most policies exclude nothing.
        return bool(self.exclude) and any_match(from_base(self.base, file), self.exclude)

    def allows(self, manager: str) -> bool:
        return manager in self.managers


DEFAULT = SecretsPolicy()


def build(
    managers: frozenset[str] = frozenset(MANAGERS),
    placeholders: tuple[re.Pattern[str], ...] = (),
    references: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    custom: tuple[TokenType, ...] = (),
) -> SecretsPolicy:
    options = DetectOptions(
        types=TOKEN_TYPES + custom, placeholders=placeholders, references=references
    )
    return SecretsPolicy(managers, placeholders, references, exclude, custom, options)


def parse(r: Reader, raw: Any, base: Path) -> SecretsPolicy:
    """The section (problems go to the reader); `rules` is relative to `base`, the folder
    of the policy file."""
    p: KeyPath = ("secrets",)
    section = r.mapping(raw, p, KEYS)
    managers = frozenset(MANAGERS)
    with r.item():
        listed = r.strings(section.get("managers"), (*p, "managers"))
        for i, name in enumerate(listed):
            if name not in MANAGERS:
                known = ", ".join(MANAGERS)
                r.note((*p, "managers", i), f"unknown manager {quoted(name)} ({known})")
        if "managers" in section:
            managers = frozenset(listed)
    patterns = []
    with r.item():
        for i, text in enumerate(r.strings(section.get("placeholders"), (*p, "placeholders"))):
            try:
                patterns.append(re.compile(text))
            except re.error as exc:
                r.note((*p, "placeholders", i), f"not a regular expression: {exc}")
    references: tuple[str, ...] = ()
    with r.item():
        references = r.strings(section.get("references"), (*p, "references"))
    exclude: tuple[str, ...] = ()
    with r.item():
        exclude = r.strings(section.get("exclude"), (*p, "exclude"))
    custom: tuple[TokenType, ...] = ()
    if "rules" in section:
        from deploysafe.secrets import gitleaks  # imported for a rules file only (and tomllib)

        with r.item():
            name = r.string(section["rules"], (*p, "rules"))
            try:
                custom = gitleaks.load(base / name)
            except gitleaks.RulesError as exc:
                raise r.fail((*p, "rules"), str(exc)) from None
    return build(managers, tuple(patterns), references, exclude, custom)


def with_rules_file(policy: SecretsPolicy, rules: Path) -> SecretsPolicy:
    """The policy with the custom rules of `rules` (`scan --secrets-rules FILE`) in place of
    the file's `secrets.rules`. Raises ConfigError when the file is wrong."""
    from deploysafe.secrets import gitleaks

    try:
        custom = gitleaks.load(rules)
    except gitleaks.RulesError as exc:
        raise ConfigError(str(exc)) from None
    return build(policy.managers, policy.placeholders, policy.references, policy.exclude, custom)
