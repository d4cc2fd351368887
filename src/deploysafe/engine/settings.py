"""Which rules run, with which context: everything a worker needs, small and picklable."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from deploysafe.config import Config
from deploysafe.config.secrets import DEFAULT as DEFAULT_SECRETS
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.engine.namespaces import NamespacePolicy, policy_key
from deploysafe.frozen import record
from deploysafe.model import Document, Level, Severity, Target, Version
from deploysafe.rules import BY_ID, REGISTRY
from deploysafe.rules.base import Context, Rule, Scope
from deploysafe.rules.defaults.default_namespace import cluster_scoped
from deploysafe.rules.environment.pss.verdict import active_rules

if TYPE_CHECKING:
    from deploysafe.config.tenants import Tenant

# What a scan of a repository checks: its files and the objects it deploys.
REPOSITORY_SCOPES = frozenset({Scope.REPOSITORY, Scope.MANIFESTS})


@record
class Settings:
    """Everything a worker needs; small and picklable."""

    rule_ids: tuple[str, ...]
    severities: Mapping[str, Severity]
    policy: Level
    pss_version: Version
    namespaces: Mapping[str, NamespacePolicy]
    inline: bool
    annotations: bool
    max_file_size: int
    today: dt.date
    targets: frozenset[Target] = frozenset()  # document types some active rule reads
    secrets: SecretsPolicy = DEFAULT_SECRETS  # Context.secrets
    tenant: Tenant | None = None  # Context.tenant
    # Where objects that name no namespace and get none from their render land (`-n`).
    namespace: str | None = None


def rules_for(
    config: Config,
    scopes: frozenset[Scope] = REPOSITORY_SCOPES,
    only: Collection[str] | None = None,
) -> tuple[str, ...]:
    """The rules the policy enables that apply in `scopes` (and are among `only`, if given)."""
    return tuple(
        r.id
        for r in REGISTRY
        if enabled(config, r) and r.applies_to(scopes) and (only is None or r.id in only)
    )


def enabled(config: Config, rule: Rule) -> bool:
    """What the policy file says (`rules: {ID: {enabled: ...}}`), else the rule's default."""
    setting = config.rules.get(rule.id)
    if setting is None or setting.enabled is None:
        return rule.default_enabled
    return setting.enabled


def settings_for(
    config: Config,
    namespaces: Mapping[str, NamespacePolicy],
    *,
    inline: bool | None = None,
    annotations: bool | None = None,
    today: dt.date | None = None,
    scopes: frozenset[Scope] = REPOSITORY_SCOPES,
    only: Collection[str] | None = None,
    namespace: str | None = None,
) -> Settings:
    rule_ids = rules_for(config, scopes, only)
    return Settings(
        rule_ids=rule_ids,
        severities={rid: s.severity for rid, s in config.rules.items() if s.severity is not None},
        policy=config.policy,
        pss_version=config.pss_version,
        namespaces=namespaces,
        inline=config.inline_suppressions if inline is None else inline,
        annotations=config.annotation_suppressions if annotations is None else annotations,
        max_file_size=config.max_file_size,
        today=today or dt.date.today(),
        targets=targets_of(rule_ids),
        secrets=config.secrets,
        tenant=config.selected_tenant,
        namespace=namespace,
    )


def targets_of(rule_ids: Iterable[str]) -> frozenset[Target]:
    out = {BY_ID[r].target for r in rule_ids}
    if Target.KUBERNETES_SET in out:
        out.add(Target.KUBERNETES)
    return frozenset(out)


def rules_of(s: Settings) -> tuple[Rule, ...]:
    return tuple(BY_ID[rid] for rid in s.rule_ids)


def placed(doc: Document, s: Settings) -> Document:
    """The object in the namespace `-n` gives, if it names none and its render gives none
    (as `kubectl apply -n`: a cluster-scoped object stays in none)."""
    if s.namespace is None or doc.namespace is not None or doc.type is not Target.KUBERNETES:
        return doc
    if cluster_scoped(doc):
        return doc
    return replace(doc, default_namespace=s.namespace)


def context_for(doc: Document, s: Settings) -> tuple[Context, bool]:
    """The doc's context and whether PSS applies (a privileged namespace turns it off)."""
    ns = doc.namespace
    # Most trees hold no Namespace with PSS labels: then no object's key need be made.
    policy = (
        s.namespaces.get(policy_key(doc))
        if s.namespaces and doc.type is Target.KUBERNETES
        else None
    )
    last = _Last.context
    if last is not None and last[0] is s and last[1] is policy and last[2] == ns:
        return last[3], last[4]
    made = _context(s, policy, ns)
    _Last.context = (s, policy, ns, *made)
    return made


class _Last:
    """The context made last: the documents of a file, and of a folder, mostly share one
    (a frozen dataclass costs a call per field to make)."""

    context: tuple[Settings, NamespacePolicy | None, str | None, Context, bool] | None = None


def _context(s: Settings, policy: NamespacePolicy | None, ns: str | None) -> tuple[Context, bool]:
    if policy is not None:
        if policy.level is None:
            return Context(s.policy, policy.version, ns, s.secrets, s.tenant), False
        return Context(policy.level, policy.version, ns, s.secrets, s.tenant), True
    return Context(s.policy, s.pss_version, ns, s.secrets, s.tenant), True


@functools.lru_cache(maxsize=64)
def active_ids(rule_ids: tuple[str, ...], level: Level, version: Version) -> frozenset[str]:
    """The PSS rules that judge at `level` and `version` (PSA's overrides applied)."""
    rules = tuple(BY_ID[r] for r in rule_ids)
    return frozenset(r.id for r in active_rules(rules, level, version))
