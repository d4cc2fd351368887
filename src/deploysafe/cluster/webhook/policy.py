"""The `webhook:` section of deploysafe.yaml: default levels per mode, exemptions.

Modes work as Pod Security Admission's do. A namespace picks a level per mode with a label
(`deploysafe.io/enforce: high`, `deploysafe.io/warn: low`, `deploysafe.io/audit: info`);
a mode whose label is missing uses the default from this section.

- enforce LEVEL: findings at or above LEVEL deny the request;
- warn LEVEL: findings at or above LEVEL (and not denying) come back as warnings;
- audit LEVEL: findings at or above LEVEL go into the audit annotations and the log.

A level is a severity (critical, high, medium, low, info) or `off`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from deploysafe.config import Config, ConfigError, Reader
from deploysafe.model import Severity

MODES = ("enforce", "warn", "audit")
LABEL_PREFIX = "deploysafe.io/"
# Label values, strictest threshold last; `off` switches a mode off.
LEVELS = ("critical", "high", "medium", "low", "info", "off")
DEFAULT_NAMESPACE = "deploysafe"
DEFAULT_EXEMPT_NAMESPACES = ("kube-system",)
# The controllers that turn checked workloads into ReplicaSets, Jobs and Pods; the
# workload itself was checked when it was written.
DEFAULT_EXEMPT_USERS = (
    "system:kube-controller-manager",
    "system:kube-scheduler",
    "system:serviceaccount:kube-system:*",
)
EXISTING = ("warn", "deny")
DEFAULT_MAX_BODY = 8 * 1024 * 1024


def parse_level(text: str) -> Severity | None:
    """`off` is None; anything else must be a severity name."""
    if text.strip().lower() == "off":
        return None
    return Severity.parse(text)


def level_label(level: Severity | None) -> str:
    return "off" if level is None else level.label


@dataclass(frozen=True, slots=True)
class Modes:
    enforce: Severity | None
    warn: Severity | None
    audit: Severity | None

    def describe(self) -> str:
        return ", ".join(
            f"{m} {level_label(getattr(self, m))}" for m in MODES if getattr(self, m) is not None
        )


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    defaults: Modes
    namespace: str = DEFAULT_NAMESPACE  # where the webhook runs: always exempt
    exempt_namespaces: tuple[str, ...] = DEFAULT_EXEMPT_NAMESPACES  # globs
    exempt_users: tuple[str, ...] = DEFAULT_EXEMPT_USERS  # globs
    exempt_groups: tuple[str, ...] = ()  # exact names
    # On UPDATE, findings the old object already had: "warn" lets them through with a
    # warning (objects admitted before the webhook keep working), "deny" refuses them.
    existing_violations: str = "warn"
    max_body_bytes: int = DEFAULT_MAX_BODY
    # Who acts for which tenant (tenant name -> user globs / group names). A ServiceAccount
    # that lives in a tenant's namespace acts for that tenant without being listed.
    tenant_users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tenant_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def exemption(self, namespace: str | None, username: str, groups: Sequence[str]) -> str | None:
        """Why a request is exempt, or None."""
        if namespace:
            if namespace == self.namespace:
                return f"namespace {namespace} is the webhook's own"
            for pattern in self.exempt_namespaces:
                if fnmatch.fnmatchcase(namespace, pattern):
                    return f"namespace {namespace} is exempt ({pattern})"
        for pattern in self.exempt_users:
            if fnmatch.fnmatchcase(username, pattern):
                return f"user {username} is exempt ({pattern})"
        for group in groups:
            if group in self.exempt_groups:
                return f"group {group} is exempt"
        return None

    def literal_exempt_namespaces(self) -> list[str]:
        """Exempt namespaces a label selector can name (globs are checked by the server)."""
        names = [self.namespace]
        names += [n for n in self.exempt_namespaces if not any(c in n for c in "*?[")]
        return sorted(set(names))


_KEYS = {
    "namespace",
    "enforce",
    "warn",
    "audit",
    "exempt",
    "existing_violations",
    "max_body_bytes",
    "tenants",
}


def from_config(cfg: Config, *, namespace: str | None = None) -> WebhookPolicy:
    """The section, validated; errors name the key and its line. `namespace` overrides
    the section's (the serving pod knows where it runs)."""
    r = cfg.reader()
    raw = cfg.sections.get("webhook")
    sec = r.mapping(raw, ("webhook",), _KEYS)
    levels: dict[str, Severity | None] = {
        "enforce": cfg.fail_on,
        "warn": Severity.LOW,
        "audit": None,
    }
    for mode in MODES:
        if mode in sec:
            levels[mode] = _level(r, sec[mode], ("webhook", mode))
    exempt = r.mapping(sec.get("exempt"), ("webhook", "exempt"), {"namespaces", "users", "groups"})
    policy = WebhookPolicy(
        defaults=Modes(**levels),
        namespace=namespace
        or (r.string(sec["namespace"], ("webhook", "namespace")) if "namespace" in sec else None)
        or DEFAULT_NAMESPACE,
    )
    changes: dict[str, Any] = {}
    for key, attr in (
        ("namespaces", "exempt_namespaces"),
        ("users", "exempt_users"),
        ("groups", "exempt_groups"),
    ):
        if key in exempt:
            changes[attr] = r.strings(exempt[key], ("webhook", "exempt", key))
    if "existing_violations" in sec:
        value = sec["existing_violations"]
        if value not in EXISTING:
            raise r.fail(("webhook", "existing_violations"), "expected `warn` or `deny`")
        changes["existing_violations"] = value
    if "max_body_bytes" in sec:
        size = sec["max_body_bytes"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1024:
            raise r.fail(("webhook", "max_body_bytes"), "expected a number of bytes >= 1024")
        changes["max_body_bytes"] = size
    if "tenants" in sec:
        users, groups = _tenant_subjects(cfg, r, sec["tenants"])
        changes["tenant_users"] = users
        changes["tenant_groups"] = groups
    return replace(policy, **changes)


def _tenant_subjects(
    cfg: Config, r: Reader, raw: Any
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    from deploysafe.k8s.tenancy import load_tenants

    known = load_tenants(cfg)
    users: dict[str, tuple[str, ...]] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for name, subjects in r.mapping(raw, ("webhook", "tenants")).items():
        p: tuple[str, ...] = ("webhook", "tenants", str(name))
        if name not in known:
            listed = ", ".join(sorted(known)) or "none are configured"
            raise r.fail(p, f"unknown tenant (tenants: {listed})")
        s = r.mapping(subjects, p, {"users", "groups"})
        users[str(name)] = r.strings(s.get("users"), (*p, "users"))
        groups[str(name)] = r.strings(s.get("groups"), (*p, "groups"))
    return users, groups


def _level(r: Reader, value: Any, path: tuple[str, ...]) -> Severity | None:
    if value is False:  # YAML 1.1 reads a bare `off` as false
        return None
    if not isinstance(value, str):
        raise r.fail(path, f"expected one of {', '.join(LEVELS)}")
    try:
        return parse_level(value)
    except ValueError:
        raise r.fail(
            path, f"unknown level {value!r} (expected one of {', '.join(LEVELS)})"
        ) from None


__all__ = ["ConfigError", "Modes", "WebhookPolicy", "from_config", "parse_level"]
