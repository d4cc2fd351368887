"""The `webhook:` section: default levels per mode, exemptions, who acts for which tenant.

Modes work as Pod Security Admission's do. A namespace picks a level per mode with a label
(`deploysafe.io/enforce: high`, `deploysafe.io/warn: low`, `deploysafe.io/audit: info`);
a mode whose label is missing uses the default from this section.

- enforce LEVEL: findings at or above LEVEL deny the request;
- warn LEVEL: findings at or above LEVEL (and not denying) come back as warnings;
- audit LEVEL: findings at or above LEVEL go into the audit annotations and the log.

A level is a severity (critical, high, medium, low, info) or `off`.

`mutate:` turns on the mutating mode (off by default): `safe` answers a request it would
deny with the safe fixes of its findings as a JSON patch, `unsafe` with the unsafe ones too.

`limits:` bounds what one serving process gives to connections and reviews, so that idle
or slow clients and large objects cannot take the capacity ordinary reviews need.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Collection, Mapping, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any

from deploysafe.frozen import record
from deploysafe.model import KeyPath, Severity
from deploysafe.secrets.redact import quoted

if TYPE_CHECKING:
    from deploysafe.config.reader import Reader
    from deploysafe.config.tenants import Tenant

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


@record
class Limits:
    """Per serving process (`serve --workers N` multiplies them by N).

    Connections and reviews are counted apart: a connection without a request in flight
    (waiting for its first request, trickling headers, or idle between requests) is closed
    to make room for a new one, so idle connections never stand between a review and the
    server."""

    # Open connections (TLS done). At the limit, a new connection closes the one idle
    # longest; if every connection has a request in flight, the new one is refused.
    max_connections: int = 1000
    # Open connections from one address; the API server reuses a few dozen at most.
    max_connections_per_client: int = 100
    # Seconds from TCP accept to a completed TLS handshake.
    handshake_timeout: float = 5.0
    # Reviews between request headers and answer; beyond it, HTTP 503.
    max_reviews_in_flight: int = 256
    # A body over this many bytes is a large review: judged in a separate process.
    large_review_bytes: int = 64 * 1024
    # Large reviews between headers and answer (their bodies are held in memory);
    # beyond it, HTTP 503 at once.
    max_large_reviews: int = 4
    # Processes that judge large reviews.
    large_review_processes: int = 1
    # Seconds a large review may take, waiting for a judging process included; past it the
    # review is an internal error and its judging process is killed and replaced. Below
    # the 5 s `timeoutSeconds` of the emitted webhook configuration, so the answer is ours.
    large_review_timeout: float = 4.0
    # Address space of a judging process (RLIMIT_AS), so that a body built to swell when
    # parsed (8 MiB of `[{},{},...]` is 230 MiB of objects) fails in that process (HTTP 413)
    # instead of bringing the container's out-of-memory kill. A 7.5 MiB Pod peaks at 87 MiB.
    large_review_memory: int = 192 * 1024 * 1024


def parse_level(text: str) -> Severity | None:
    """`off` is None; anything else must be a severity name."""
    if text.strip().lower() == "off":
        return None
    return Severity.parse(text)


def level_label(level: Severity | None) -> str:
    return "off" if level is None else level.label


class Mutation(enum.Enum):
    """Which fixes the mutating webhook returns as a patch."""

    OFF = "off"
    SAFE = "safe"  # the fixes that change nothing but the security setting
    UNSAFE = "unsafe"  # those and the ones that may need a human look

    @property
    def on(self) -> bool:
        return self is not Mutation.OFF


@record
class Modes:
    """The threshold of each mode (enforce, warn, audit); None: the mode is off."""

    enforce: Severity | None
    warn: Severity | None
    audit: Severity | None

    def describe(self) -> str:
        return ", ".join(
            f"{m} {level_label(getattr(self, m))}" for m in MODES if getattr(self, m) is not None
        )


@record
class WebhookPolicy:
    """The `webhook:` section: default modes, exemptions, limits, mutation, and who acts
    for which tenant."""

    defaults: Modes
    namespace: str = DEFAULT_NAMESPACE  # where the webhook runs: always exempt
    exempt_namespaces: tuple[str, ...] = DEFAULT_EXEMPT_NAMESPACES  # globs
    exempt_users: tuple[str, ...] = DEFAULT_EXEMPT_USERS  # globs
    exempt_groups: tuple[str, ...] = ()  # exact names
    # On UPDATE, findings the old object already had: "warn" lets them through with a
    # warning (objects admitted before the webhook keep working), "deny" refuses them.
    existing_violations: str = "warn"
    max_body_bytes: int = DEFAULT_MAX_BODY
    limits: Limits = Limits()
    mutate: Mutation = Mutation.OFF
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


KEYS = frozenset(
    {
        "namespace",
        "enforce",
        "warn",
        "audit",
        "exempt",
        "existing_violations",
        "max_body_bytes",
        "limits",
        "mutate",
        "tenants",
    }
)
# Integer limits: the key and the least value that still serves.
_INT_LIMITS = {
    "max_connections": 1,
    "max_connections_per_client": 1,
    "max_reviews_in_flight": 1,
    "large_review_bytes": 1024,
    "max_large_reviews": 1,
    "large_review_processes": 1,
    "large_review_memory": 128 * 1024 * 1024,
}
_SECONDS_LIMITS = ("handshake_timeout", "large_review_timeout")
_LIMIT_KEYS = frozenset({*_INT_LIMITS, *_SECONDS_LIMITS})
_EXEMPT_KEYS = frozenset({"namespaces", "users", "groups"})


def defaults(fail_on: Severity) -> WebhookPolicy:
    """The policy of a file without `webhook:` (enforce defaults to the file's fail_on)."""
    return WebhookPolicy(Modes(fail_on, Severity.LOW, None))


def parse(
    r: Reader,
    raw: Any,
    fail_on: Severity,
    tenants: Mapping[str, Tenant],
    declared: Collection[str],
) -> WebhookPolicy:
    """The section (problems go to the reader). `tenants` are the file's valid tenants,
    `declared` every tenant it names (an invalid one is reported in its own section)."""
    p: KeyPath = ("webhook",)
    sec = r.mapping(raw, p, KEYS)
    levels: dict[str, Severity | None] = {"enforce": fail_on, "warn": Severity.LOW, "audit": None}
    for mode in MODES:
        if mode in sec:
            with r.item():
                levels[mode] = _level(r, sec[mode], (*p, mode))
    policy = WebhookPolicy(defaults=Modes(**levels))
    changes: dict[str, Any] = {}
    if "namespace" in sec:
        with r.item():
            changes["namespace"] = r.string(sec["namespace"], (*p, "namespace"))
    exempt: dict[str, Any] = {}
    with r.item():
        exempt = r.mapping(sec.get("exempt"), (*p, "exempt"), _EXEMPT_KEYS)
    for key, attr in (
        ("namespaces", "exempt_namespaces"),
        ("users", "exempt_users"),
        ("groups", "exempt_groups"),
    ):
        if key in exempt:
            with r.item():
                changes[attr] = r.strings(exempt[key], (*p, "exempt", key))
    if "existing_violations" in sec:
        value = sec["existing_violations"]
        if value in EXISTING:
            changes["existing_violations"] = value
        else:
            r.note((*p, "existing_violations"), "expected `warn` or `deny`")
    if "max_body_bytes" in sec:
        size = sec["max_body_bytes"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1024:
            r.note((*p, "max_body_bytes"), "expected a number of bytes >= 1024")
        else:
            changes["max_body_bytes"] = size
    if "mutate" in sec:
        value = "off" if sec["mutate"] is False else sec["mutate"]  # YAML 1.1: off is false
        choices = [m.value for m in Mutation]
        if value in choices:
            changes["mutate"] = Mutation(value)
        else:
            r.note((*p, "mutate"), f"expected one of {', '.join(choices)}")
    if "limits" in sec:
        with r.item():
            changes["limits"] = _limits(r, sec["limits"])
    if "tenants" in sec:
        with r.item():
            users, groups = _tenant_subjects(r, sec["tenants"], tenants, declared)
            changes["tenant_users"] = users
            changes["tenant_groups"] = groups
    return replace(policy, **changes)


def _limits(r: Reader, raw: Any) -> Limits:
    p: KeyPath = ("webhook", "limits")
    sec = r.mapping(raw, p, _LIMIT_KEYS)
    changes: dict[str, Any] = {}
    for key, least in _INT_LIMITS.items():
        if key in sec:
            value = sec[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                r.note((*p, key), f"expected a whole number >= {least}")
            else:
                changes[key] = value
    for key in _SECONDS_LIMITS:
        if key in sec:
            value = sec[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                r.note((*p, key), "expected a number of seconds > 0")
            else:
                changes[key] = float(value)
    return replace(Limits(), **changes)


def _tenant_subjects(
    r: Reader, raw: Any, known: Mapping[str, Tenant], declared: Collection[str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    users: dict[str, tuple[str, ...]] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for name, subjects in r.mapping(raw, ("webhook", "tenants")).items():
        p: KeyPath = ("webhook", "tenants", str(name))
        with r.item():
            if name not in known:
                if name in declared:
                    continue  # the tenant's own problem is reported
                listed = ", ".join(sorted(known)) or "none are configured"
                raise r.fail(p, f"unknown tenant (tenants: {listed})")
            s = r.mapping(subjects, p, {"users", "groups"})
            users[str(name)] = r.strings(s.get("users"), (*p, "users"))
            groups[str(name)] = r.strings(s.get("groups"), (*p, "groups"))
    return users, groups


def _level(r: Reader, value: Any, path: KeyPath) -> Severity | None:
    if value is False:  # YAML 1.1 reads a bare `off` as false
        return None
    if not isinstance(value, str):
        raise r.fail(path, f"expected one of {', '.join(LEVELS)}")
    try:
        return parse_level(value)
    except ValueError:
        raise r.fail(
            path, f"unknown level {quoted(value)} (expected one of {', '.join(LEVELS)})"
        ) from None
