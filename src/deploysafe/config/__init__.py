"""`deploysafe.yaml`: the one policy file, loaded once into typed, frozen sections.

Every section is validated at load, for every command: unknown keys, wrong types and bad
values are problems naming file, line and key, and `load` reports all of them in one
ConfigError. The known rule ids are passed in, so the policy sits below the rule registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from deploysafe.config import render as rendermod
from deploysafe.config import secrets as secretsmod
from deploysafe.config import toplevel
from deploysafe.config.render import RenderSettings
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.config.toplevel import DEFAULT_MAX_FILE_SIZE
from deploysafe.errors import ConfigError
from deploysafe.frozen import record
from deploysafe.lazy import exports
from deploysafe.model import LATEST, Level, Severity, Version
from deploysafe.secrets.redact import scrubbed
from deploysafe.yamlload import YamlProblem, parse_all

if TYPE_CHECKING:
    from deploysafe.config.environments import Environment
    from deploysafe.config.reader import Reader
    from deploysafe.config.rules import Exception_, RuleSetting
    from deploysafe.config.tenants import Tenant
    from deploysafe.config.webhook import WebhookPolicy

CONFIG_NAMES = ("deploysafe.yaml", "deploysafe.yml", ".deploysafe.yaml", ".deploysafe.yml")
_CI_FOLDERS = frozenset({".github", ".gitea", ".forgejo"})

SECTIONS = frozenset(
    {
        "rules",
        "exceptions",
        "suppressions",
        "secrets",
        "tenants",
        "environments",
        "webhook",
        "render",
    }
)
KEYS = toplevel.KEYS | SECTIONS


@record
class Config:
    """The policy file, every section read and checked; the defaults when there is none."""

    path: str | None = None
    policy: Level = Level.RESTRICTED
    pss_version: Version = LATEST
    fail_on: Severity = Severity.HIGH
    exclude: tuple[str, ...] = ()
    rules: Mapping[str, RuleSetting] = field(default_factory=dict)
    exceptions: tuple[Exception_, ...] = ()
    inline_suppressions: bool = True
    annotation_suppressions: bool = True
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    secrets: SecretsPolicy = secretsmod.DEFAULT
    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    environments: Mapping[str, Environment] = field(default_factory=dict)
    # The `webhook:` section, read as `webhook` (None: its defaults, enforcing at high). Its
    # `enforce` defaults to the file's fail_on: `load` sets both, and a Config built in code
    # with another fail_on sets its webhook too.
    webhook_section: WebhookPolicy | None = None
    render: RenderSettings = rendermod.DEFAULT  # per-chart and per-overlay render settings
    # The tenant the DS4xx rules check against (`scan --tenant`, `--env`, the deploy gate,
    # the webhook per request); not a key of the file.
    selected_tenant: Tenant | None = None
    # The scan root's path from the policy file's folder ("" when they are one, or the root
    # is not below it): `exclude`, `secrets.exclude` and `exceptions[].file` name files
    # from the policy file's folder, findings name them from the scan root.
    base: str = ""

    @property
    def webhook(self) -> WebhookPolicy:
        """The `webhook:` section. Its defaults are made when read: only the webhook's
        commands read them, and a scan starts sooner without importing them."""
        if self.webhook_section is not None:
            return self.webhook_section
        from deploysafe.config import webhook

        return webhook.defaults(Severity.HIGH)


def find(root: Path, top: Path | None = None) -> Path | None:
    """The nearest policy file from `root` up to `top` (the repository's top level; only
    `root` itself when not given)."""
    folder = (root if root.is_dir() else root.parent).resolve()
    while True:
        # A CI folder's `deploysafe.yml` is the workflow that runs deploysafe, not its policy.
        ci = folder.name == "workflows" and folder.parent.name in _CI_FOLDERS
        for name in () if ci else CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        if top is None or folder == top or not folder.is_relative_to(top):
            return None
        folder = folder.parent


def for_root(cfg: Config, policy: Path, root: Path) -> Config:
    """The policy at `policy` applied to a scan rooted at `root`: its globs keep naming
    files from its own folder."""
    folder, real = policy.resolve().parent, root.resolve()
    if real == folder or not real.is_relative_to(folder):
        return cfg
    base = real.relative_to(folder).as_posix()
    return replace(cfg, base=base, secrets=replace(cfg.secrets, base=base))


def load(
    path: Path,
    display: str | None = None,
    *,
    rule_ids: frozenset[str],
    inputs_root: Path | None = None,
) -> Config:
    """The policy file at `path`, shown as `display` in messages. `rule_ids` are the rules
    `rules:` and `exceptions:` may name. Render inputs (charts, values, overlays) must stay
    inside `inputs_root`, and relative ones are read from it: the policy file's folder unless
    the policy lives outside the checkout it judges (a CD host's). Raises ConfigError listing
    every problem."""
    # Imported with a policy file to read, as are the readers of most sections: a scan
    # without one starts sooner.
    from deploysafe.config.reader import Invalid, Reader

    file = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read the config file: {exc}") from None
    docs = list(parse_all(text))
    if not docs:
        return Config(path=file)
    first = docs[0]
    if isinstance(first, YamlProblem):
        raise ConfigError(f"{file}:{first.line}: {scrubbed(str(first))}")
    if first.warnings:
        raise ConfigError(
            "\n".join(f"{file}:{line}: {scrubbed(msg)}" for line, msg in first.warnings)
        )
    r = Reader(file, first.positions)
    try:
        top = r.mapping(first.data, (), KEYS)
    except Invalid as exc:
        raise ConfigError(str(exc)) from None
    base = path.resolve().parent
    cfg = _build(r, top, file, base, (inputs_root or base).resolve(), rule_ids)
    error = r.error()
    if error is not None:
        raise error
    return cfg


def _build(
    r: Reader,
    top: Mapping[str, object],
    file: str,
    base: Path,
    inputs: Path,
    rule_ids: frozenset[str],
) -> Config:
    from deploysafe.config import environments as environmentsmod
    from deploysafe.config import rules as rulesmod
    from deploysafe.config import tenants as tenantsmod
    from deploysafe.config import webhook as webhookmod

    basics = toplevel.parse(r, top)
    rules: dict[str, RuleSetting] = {}
    with r.item():
        rules = rulesmod.parse_rules(r, top.get("rules"), rule_ids)
    exceptions: tuple[Exception_, ...] = ()
    with r.item():
        exceptions = rulesmod.parse_exceptions(r, top.get("exceptions"), rule_ids)
    suppressions = rulesmod.Suppressions()
    with r.item():
        suppressions = rulesmod.parse_suppressions(r, top.get("suppressions"))
    secrets = secretsmod.DEFAULT
    with r.item():
        secrets = secretsmod.parse(r, top.get("secrets"), base)
    tenants: dict[str, Tenant] = {}
    with r.item():
        tenants = tenantsmod.parse(r, top.get("tenants"))
    raw_tenants = top.get("tenants")
    declared = frozenset(str(k) for k in raw_tenants) if isinstance(raw_tenants, dict) else ()
    environments: dict[str, Environment] = {}
    with r.item():
        environments = environmentsmod.parse(
            r, top.get("environments"), base, inputs, tenants, declared
        )
    webhook = webhookmod.defaults(basics.fail_on)
    with r.item():
        webhook = webhookmod.parse(r, top.get("webhook"), basics.fail_on, tenants, declared)
    render = rendermod.DEFAULT
    with r.item():
        render = rendermod.parse(r, top.get("render"), inputs)
    return Config(
        path=file,
        policy=basics.policy,
        pss_version=basics.pss_version,
        fail_on=basics.fail_on,
        exclude=basics.exclude,
        rules=rules,
        exceptions=exceptions,
        inline_suppressions=suppressions.inline,
        annotation_suppressions=suppressions.annotations,
        max_file_size=basics.max_file_size,
        secrets=secrets,
        tenants=tenants,
        environments=environments,
        webhook_section=webhook,
        render=render,
    )


__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_MAX_FILE_SIZE",
    "Config",
    "ConfigError",
    "Environment",
    "Exception_",
    "RenderSettings",
    "RuleSetting",
    "SecretsPolicy",
    "Tenant",
    "WebhookPolicy",
    "find",
    "for_root",
    "load",
]


# Re-exported on first use: only a policy file's sections need their modules.
_LAZY = {
    "Environment": "environments",
    "Exception_": "rules",
    "RuleSetting": "rules",
    "Tenant": "tenants",
    "WebhookPolicy": "webhook",
}

__getattr__ = exports(__name__, _LAZY)


def for_environment(cfg: Config, env: Environment) -> Config:
    """The policy file with an environment's own `policy` and `fail_on` overrides."""
    if env.policy is not None:
        cfg = replace(cfg, policy=env.policy)
    if env.fail_on is not None:
        cfg = replace(cfg, fail_on=env.fail_on)
    return cfg
