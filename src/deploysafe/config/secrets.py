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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploysafe.globs import any_match
from deploysafe.secrets.detect import Options
from deploysafe.secrets.patterns import TOKEN_TYPES, TokenType

# The ways a secret may reach a cluster without its value being committed in plain text.
MANAGERS: Mapping[str, str] = {
    "sops": "SOPS-encrypted files (values ENC[...], a top-level sops: block)",
    "sealed-secrets": "Bitnami SealedSecret (spec.encryptedData)",
    "external-secrets": "External Secrets Operator (ExternalSecret, SecretStore)",
    "vault": "HashiCorp Vault Agent injection (vault.hashicorp.com annotations)",
    "csi": "Secrets Store CSI driver (SecretProviderClass)",
    "sops-secret": "sops-secrets-operator (SopsSecret)",
}

_KEYS = {"managers", "placeholders", "references", "exclude", "rules"}


@dataclass(frozen=True, slots=True)
class SecretsPolicy:
    managers: frozenset[str] = frozenset(MANAGERS)
    placeholders: tuple[re.Pattern[str], ...] = ()
    references: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    custom: tuple[TokenType, ...] = ()
    options: Options = field(default_factory=Options)

    def excluded(self, file: str) -> bool:
        return any_match(file, self.exclude)

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
    options = Options(types=TOKEN_TYPES + custom, placeholders=placeholders, references=references)
    return SecretsPolicy(managers, placeholders, references, exclude, custom, options)


def from_config(config: Any, rules_file: Path | None = None) -> SecretsPolicy:
    """The policy from a Config's `secrets` section (raises ConfigError with key and line)."""
    from deploysafe.config import ConfigError
    from deploysafe.secrets import gitleaks

    raw = config.sections.get("secrets")
    r = config.reader()
    section = r.mapping(raw, ("secrets",), _KEYS)
    managers = frozenset(MANAGERS)
    if "managers" in section:
        listed = r.strings(section["managers"], ("secrets", "managers"))
        for i, name in enumerate(listed):
            if name not in MANAGERS:
                known = ", ".join(MANAGERS)
                raise r.fail(("secrets", "managers", i), f"unknown manager {name!r} ({known})")
        managers = frozenset(listed)
    patterns = []
    for i, text in enumerate(r.strings(section.get("placeholders"), ("secrets", "placeholders"))):
        try:
            patterns.append(re.compile(text))
        except re.error as exc:
            raise r.fail(
                ("secrets", "placeholders", i), f"not a regular expression: {exc}"
            ) from None
    references = r.strings(section.get("references"), ("secrets", "references"))
    exclude = r.strings(section.get("exclude"), ("secrets", "exclude"))
    custom: tuple[TokenType, ...] = ()
    sources = []
    if "rules" in section:
        name = r.string(section["rules"], ("secrets", "rules"))
        base = Path(config.path).parent if config.path else Path(".")
        sources.append(base / name)
    if rules_file is not None:
        sources.append(rules_file)
    for src in sources:
        try:
            custom += gitleaks.load(src)
        except gitleaks.RulesError as exc:
            raise ConfigError(str(exc)) from None
    return build(managers, tuple(patterns), references, exclude, custom)
