"""An AdmissionReview in, a verdict out: pure and synchronous, no I/O.

`parse` checks the request's shape (errors become HTTP 400), `Reviewer.review` runs the
per-object rules on `request.object` and decides by the namespace's modes, `response`
builds the AdmissionReview the API server reads.

In the mutating mode (`/mutate` paths, only when the policy turns it on), a request that
would be denied is answered with the fixes of its findings as a JSON patch if the patched
object passes, and denied with what remains if it does not.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field, replace
from typing import Any

from deploysafe.cluster.webhook.mutate import ROUNDS, fix_round
from deploysafe.cluster.webhook.policy import (
    LABEL_PREFIX,
    LEVELS,
    MODES,
    Modes,
    Mutation,
    WebhookPolicy,
)
from deploysafe.cluster.webhook.policy import parse_level as _parse_level
from deploysafe.config import Config
from deploysafe.engine import Scope, Settings, check_documents, settings_for
from deploysafe.fix.jsonpatch import PatchRefused
from deploysafe.frozen import record
from deploysafe.inputs.documents import is_kubernetes
from deploysafe.k8s.tenancy import Tenant, select
from deploysafe.model import Document, Finding, ScanError, Severity

API_VERSION = "admission.k8s.io/v1"
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
# Subresources whose object is the whole pod spec: PSA checks these too.
CHECKED_SUBRESOURCES = frozenset({("pods", "ephemeralcontainers")})
MAX_WARNINGS = 20
WARNING_CHARS = 120  # the API server passes warnings on as HTTP headers
MAX_DENY_LISTED = 25
AUDIT_CHARS = 2000
SERVICE_ACCOUNT = "system:serviceaccount:"
_ADMISSION = frozenset({Scope.ADMISSION})

# A Pod every policy has something to say about: reviewed once at start-up, so the first
# real request finds everything compiled, and readiness means the pipeline works.
WARMUP = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "warm-up", "namespace": "warm-up"},
    "spec": {"containers": [{"name": "c", "image": "example/c", "securityContext": {}}]},
}


# An HTTP answer (400), not an exit code: the webhook app turns it into a response.
class BadRequest(Exception):
    """The request is not an AdmissionReview we can answer (HTTP 400). The message never
    repeats the request's content."""


@record
class Request:
    uid: str
    group: str
    version: str
    kind: str
    resource: str
    sub_resource: str
    namespace: str | None
    name: str
    operation: str
    username: str
    groups: tuple[str, ...]
    dry_run: bool
    obj: Mapping[str, Any] | None
    old: Mapping[str, Any] | None

    @property
    def display(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name or '<generated name>'}"


def parse(body: bytes) -> Request:
    try:
        data = json.loads(body)
    except RecursionError:  # the JSON decoder's own nesting limit (about 1000 levels)
        raise BadRequest("request body nests too deeply") from None
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8 text") from None
    except ValueError as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid number"
        raise BadRequest(f"request body is not JSON ({msg})") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object (an AdmissionReview)")
    if data.get("apiVersion") != API_VERSION:
        raise BadRequest(
            f"apiVersion must be {API_VERSION} (list admissionReviewVersions: [v1] in the "
            "webhook configuration)"
        )
    if data.get("kind") != "AdmissionReview":
        raise BadRequest("kind must be AdmissionReview")
    req = data.get("request")
    if not isinstance(req, dict):
        raise BadRequest("request is missing or not an object")
    uid = req.get("uid")
    if not isinstance(uid, str) or not uid.strip() or len(uid) > 256:
        raise BadRequest("request.uid is missing or not a string")
    gvk = req.get("kind")
    if not isinstance(gvk, dict) or not _is_str(gvk.get("kind"), empty=False):
        raise BadRequest("request.kind must be an object with group, version and kind")
    if not _is_str(gvk.get("group")) or not _is_str(gvk.get("version")):
        raise BadRequest("request.kind must be an object with group, version and kind")
    res = req.get("resource")
    if not isinstance(res, dict) or not _is_str(res.get("resource"), empty=False):
        raise BadRequest("request.resource must be an object with group, version and resource")
    op = req.get("operation")
    if op not in OPERATIONS:
        raise BadRequest(f"request.operation must be one of {', '.join(OPERATIONS)}")
    user = req.get("userInfo")
    if not isinstance(user, dict):
        raise BadRequest("request.userInfo is missing or not an object")
    username = user.get("username", "")
    groups = user.get("groups") or []
    if not _is_str(username) or not isinstance(groups, list) or not all(map(_is_str, groups)):
        raise BadRequest("request.userInfo.username and groups must be strings")
    namespace = req.get("namespace")
    if namespace is not None and not _is_str(namespace):
        raise BadRequest("request.namespace must be a string")
    name = req.get("name") or ""
    if not _is_str(name):
        raise BadRequest("request.name must be a string")
    sub = req.get("subResource") or ""
    if not _is_str(sub):
        raise BadRequest("request.subResource must be a string")
    dry_run = req.get("dryRun", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise BadRequest("request.dryRun must be true or false")
    obj, old = req.get("object"), req.get("oldObject")
    if op in ("CREATE", "UPDATE") and not is_kubernetes(obj):
        raise BadRequest(f"request.object must be a Kubernetes object (apiVersion, kind) on {op}")
    if op == "UPDATE" and not is_kubernetes(old):
        raise BadRequest("request.oldObject must be a Kubernetes object on UPDATE")
    return Request(
        uid=uid,
        group=gvk["group"],
        version=gvk["version"],
        kind=gvk["kind"],
        resource=res["resource"],
        sub_resource=sub,
        namespace=namespace or None,
        name=name,
        operation=op,
        username=username,
        groups=tuple(groups),
        dry_run=dry_run,
        obj=obj if isinstance(obj, dict) else None,
        old=old if isinstance(old, dict) else None,
    )


def _is_str(value: Any, *, empty: bool = True) -> bool:
    return isinstance(value, str) and (empty or bool(value))


# ------------------------------------------------------------------ modes


@record
class Route:
    """What the URL path says: all modes at their defaults, or one mode at a level the
    namespace's label chose (the webhook configuration routes by namespaceSelector)."""

    modes: Modes
    label: str = ""  # e.g. "deploysafe.io/enforce=high"; "" for the defaults
    invalid: str | None = None  # a mode whose label has a value we do not know
    path: str = "/validate"
    mutate: bool = False  # a `/mutate` path: answer with the fixes where they help


def route_for(
    policy: WebhookPolicy,
    mode: str | None = None,
    level: str | None = None,
    *,
    mutate: bool = False,
) -> Route:
    """`/validate` (mode None) or `/validate/{mode}/{level}`, and with `mutate` the same
    under `/mutate`; raises LookupError for an unknown path. A mutating path exists only
    when the policy turns the mode on, and judges by enforce alone: warnings and audit
    entries come from the validating webhook, which sees the patched object."""
    if mutate and (not policy.mutate.on or mode not in (None, "enforce")):
        raise LookupError(mode)
    route = _route(policy, mode, level)
    if not mutate:
        return route
    return replace(
        route,
        modes=Modes(route.modes.enforce, None, None),
        path=route.path.replace("/validate", "/mutate", 1),
        mutate=True,
    )


def _route(policy: WebhookPolicy, mode: str | None, level: str | None) -> Route:
    d = policy.defaults
    if mode is None:
        return Route(d)
    if mode not in MODES or level is None:
        raise LookupError(mode)
    path = f"/validate/{mode}/{level}"
    if level == "default":
        return Route(Modes(**{m: getattr(d, m) if m == mode else None for m in MODES}), path=path)
    if level == "invalid":
        return Route(Modes(None, None, None), f"{LABEL_PREFIX}{mode}=?", mode, path)
    if level not in LEVELS:
        raise LookupError(level)
    chosen = _parse_level(level)
    return Route(
        Modes(**{m: chosen if m == mode else None for m in MODES}),
        f"{LABEL_PREFIX}{mode}={level}",
        path=path,
    )


# ------------------------------------------------------------------ verdicts


@record
class Verdict:
    allowed: bool
    outcome: str  # allowed, denied, skipped, exempt, error
    message: str = ""  # the status message when denied
    code: int = 200
    warnings: tuple[str, ...] = ()
    audit: Mapping[str, str] = field(default_factory=dict)
    denied: tuple[Finding, ...] = ()
    warned: tuple[Finding, ...] = ()
    audited: tuple[Finding, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    reason: str = ""  # why skipped or exempt
    tenants: tuple[str, ...] = ()  # the tenants the requester acts for
    patch: tuple[Mapping[str, Any], ...] = ()  # mutating mode: RFC 6902 operations
    fixed: tuple[Finding, ...] = ()  # the findings the patch fixes


def response(uid: str, verdict: Verdict) -> dict[str, Any]:
    out: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if not verdict.allowed:
        out["status"] = {
            "code": verdict.code,
            "reason": "Forbidden" if verdict.code == 403 else "InternalError",
            "message": verdict.message,
        }
    elif verdict.patch:
        text = json.dumps(list(verdict.patch), separators=(",", ":"))
        out["patchType"] = "JSONPatch"
        out["patch"] = base64.b64encode(text.encode()).decode()
    if verdict.warnings:
        out["warnings"] = list(verdict.warnings)
    if verdict.audit:
        out["auditAnnotations"] = dict(verdict.audit)
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": out}


def internal_error(fail_open: bool, why: str = "internal error") -> Verdict:
    if fail_open:
        return Verdict(
            True,
            "error",
            warnings=(
                f"deploysafe could not check this object ({why}); allowed "
                "because the webhook runs with --fail-open",
            ),
        )
    return Verdict(
        False,
        "error",
        f"deploysafe could not check this object ({why}), so it is denied: the "
        "webhook fails closed. Its log has the details; retry, or ask the operators.",
        code=500,
    )


class Reviewer:
    """Holds the compiled policy; `review` is called once per request."""

    def __init__(self, config: Config, policy: WebhookPolicy) -> None:
        self.config = config
        self.policy = policy
        self.tenants = config.tenants
        self._day: dt.date | None = None
        self._settings: dict[str | None, tuple[Config, Settings]] = {}

    def _compiled(self, tenant: Tenant | None) -> tuple[Config, Settings]:
        today = dt.date.today()
        if self._day != today:  # suppression expiry dates are judged against today
            self._settings.clear()
            self._day = today
        key = tenant.name if tenant is not None else None
        hit = self._settings.get(key)
        if hit is None:
            cfg = select(self.config, tenant) if tenant is not None else self.config
            s = settings_for(cfg, {}, inline=False, today=today, scopes=_ADMISSION)
            hit = self._settings[key] = (cfg, s)
        return hit

    def tenants_of(self, username: str, groups: Sequence[str]) -> list[Tenant]:
        """The tenants a user acts for: listed in `webhook.tenants`, or a ServiceAccount
        in a tenant's namespace. Several match: the object must respect every one."""
        out = []
        sa_namespace = None
        if username.startswith(SERVICE_ACCOUNT):
            sa_namespace = username[len(SERVICE_ACCOUNT) :].split(":", 1)[0]
        for name, tenant in sorted(self.tenants.items()):
            users = self.policy.tenant_users.get(name, ())
            listed = any(fnmatch.fnmatchcase(username, u) for u in users) or any(
                g in self.policy.tenant_groups.get(name, ()) for g in groups
            )
            if listed or (sa_namespace is not None and tenant.owns(sa_namespace)):
                out.append(tenant)
        return out

    def findings(
        self,
        obj: Mapping[str, Any],
        namespace: str | None,
        tenants: Sequence[Tenant] = (),
    ) -> tuple[list[Finding], list[str]]:
        """Findings for one object (config exceptions applied), and suppression problems."""
        doc = Document("admission", obj, {}, (), default_namespace=namespace)
        seen: set[tuple[str, str, str]] = set()
        found = []
        errors: set[ScanError] = set()
        for tenant in tenants or (None,):
            cfg, s = self._compiled(tenant)
            report = check_documents([doc], cfg, settings=s)
            errors.update(report.errors)
            for f in report.findings:
                key = (f.rule_id, f.pointer, f.message)
                if key in seen:
                    continue
                seen.add(key)
                found.append(f)
        internal = sorted(e.message for e in errors if e.kind == "internal")
        if internal:  # a rule could not judge the object: fail closed like any error
            raise RuntimeError(internal[0])
        found.sort(key=lambda f: (-f.severity, f.rule_id, f.pointer))
        return found, sorted({e.message for e in errors})

    def review(self, req: Request, route: Route) -> Verdict:
        if req.operation in ("DELETE", "CONNECT"):
            return Verdict(True, "skipped", reason=f"{req.operation} is not checked")
        if req.sub_resource and (req.resource, req.sub_resource) not in CHECKED_SUBRESOURCES:
            return Verdict(True, "skipped", reason=f"subresource {req.sub_resource}")
        why = self.policy.exemption(req.namespace, req.username, req.groups)
        if why is not None:
            return Verdict(True, "exempt", reason=why)
        if route.invalid is not None:
            return self._invalid_label(req, route.invalid)
        assert req.obj is not None  # parse() guarantees it on CREATE and UPDATE
        tenants = self.tenants_of(req.username, req.groups)
        findings, problems = self.findings(req.obj, req.namespace, tenants)
        existing: set[tuple[str, str]] = set()
        enforce = route.modes.enforce
        would_deny = enforce is not None and any(
            f.suppressed is None and f.severity >= enforce for f in findings
        )
        if would_deny and req.old is not None and self.policy.existing_violations == "warn":
            old, _ = self.findings(req.old, req.namespace, tenants)
            existing = {(f.rule_id, f.pointer) for f in old if f.suppressed is None}
        verdict = decide(req, route, findings, existing, problems)
        if route.mutate and verdict.denied:
            verdict = self._mutated(req, route, verdict, tenants, existing)
        if tenants:
            verdict = replace(verdict, tenants=tuple(t.name for t in tenants))
        return verdict

    def _mutated(
        self,
        req: Request,
        route: Route,
        verdict: Verdict,
        tenants: Sequence[Tenant],
        existing: set[tuple[str, str]],
    ) -> Verdict:
        """The denied request's fixes as a patch, allowed if the patched object passes;
        else denied with the findings the fixes leave (and the object unpatched)."""
        assert req.obj is not None
        unsafe = self.policy.mutate is Mutation.UNSAFE
        obj: Mapping[str, Any] = req.obj
        ops: list[Mapping[str, Any]] = []
        fixed: list[Finding] = []
        notes: list[str] = []
        descriptions: list[str] = []
        denied = verdict
        for _ in range(ROUNDS):
            try:
                found = fix_round(obj, req.namespace, verdict.denied, unsafe)
            except PatchRefused:  # a fix that does not fit this object: judged unfixed
                return denied
            if found is None:
                break
            ops.extend(found.patch.ops)
            obj = found.patch.patched
            for f, fix in found.fixed:
                fixed.append(f)
                notes.append(_cut(f"deploysafe fixed {f.rule_id}: {fix.description}"))
                descriptions.append(f"{f.rule_id} {f.pointer}")
            findings, problems = self.findings(obj, req.namespace, tenants)
            verdict = decide(replace(req, obj=obj), route, findings, existing, problems)
            if verdict.allowed:
                break
        if not ops:
            return verdict
        if not verdict.allowed:
            ids = ", ".join(sorted({f.rule_id for f in fixed}))
            more = (
                f" (deploysafe can fix {ids} itself; what is listed needs a change to the object)"
            )
            return replace(verdict, message=verdict.message + more)
        warnings = [*notes, *verdict.warnings][:MAX_WARNINGS]
        audit = {**verdict.audit, "fixed": _cap("; ".join(descriptions), AUDIT_CHARS)}
        return replace(
            verdict,
            outcome="patched",
            warnings=tuple(warnings),
            audit=audit,
            patch=tuple(ops),
            fixed=tuple(fixed),
        )

    def _invalid_label(self, req: Request, mode: str) -> Verdict:
        text = (
            f"namespace {req.namespace}: unknown {LABEL_PREFIX}{mode} level; use "
            f"{', '.join(LEVELS[:-1])} or {LEVELS[-1]}"
        )
        if mode == "enforce":
            return Verdict(False, "denied", f"deploysafe denied {req.display}: {text}", 403)
        if mode == "warn":
            return Verdict(True, "allowed", warnings=(_cut(f"deploysafe: {text}"),))
        return Verdict(True, "allowed", audit={"invalid-label": text})


def decide(
    req: Request,
    route: Route,
    findings: Sequence[Finding],
    existing: Iterable[tuple[str, str]] = (),
    problems: Sequence[str] = (),
) -> Verdict:
    modes, old = route.modes, set(existing)
    denied: list[Finding] = []
    warned: list[Finding] = []
    audited: list[Finding] = []
    kept: list[Finding] = []
    warnings: list[str] = [_cut(f"deploysafe: {p}") for p in problems]
    for f in findings:
        if f.suppressed is not None:
            kept.append(f)
            continue
        if _at(f.severity, modes.enforce):
            if (f.rule_id, f.pointer) in old:
                warned.append(f)
                warnings.append(_cut(f"{f.rule_id} (already there, allowed): {f.message}"))
            else:
                denied.append(f)
        elif _at(f.severity, modes.warn):
            warned.append(f)
            warnings.append(_cut(f"{f.rule_id}: {f.message}"))
        if _at(f.severity, modes.audit):
            audited.append(f)
    if len(warnings) > MAX_WARNINGS:
        rest = len(warnings) - MAX_WARNINGS + 1
        warnings = [*warnings[: MAX_WARNINGS - 1], f"deploysafe: {rest} more; run deploysafe scan"]
    audit = {}
    if audited:
        audit["findings"] = _cap(
            "; ".join(f"{f.rule_id} {f.severity.label} {f.pointer}" for f in audited),
            AUDIT_CHARS,
        )
    if not denied:
        return Verdict(
            True,
            "allowed",
            warnings=tuple(warnings),
            audit=audit,
            warned=tuple(warned),
            audited=tuple(audited),
            suppressed=tuple(kept),
        )
    assert modes.enforce is not None
    listed = [f"{f.rule_id} {f.pointer}: {f.message}" for f in denied[:MAX_DENY_LISTED]]
    if len(denied) > MAX_DENY_LISTED:
        listed.append(f"and {len(denied) - MAX_DENY_LISTED} more")
    where = f", {route.label}" if route.label else ""
    message = (
        f"deploysafe denied {req.display} (enforce {modes.enforce.label}{where}): "
        + "; ".join(listed)
        + f". `deploysafe explain {denied[0].rule_id}` tells how to fix it."
    )
    return Verdict(
        False,
        "denied",
        message,
        403,
        tuple(warnings),
        audit,
        tuple(denied),
        tuple(warned),
        tuple(audited),
        tuple(kept),
    )


def _at(severity: Severity, level: Severity | None) -> bool:
    return level is not None and severity >= level


def _cut(text: str) -> str:
    return text if len(text) <= WARNING_CHARS else text[: WARNING_CHARS - 1] + "…"


def _cap(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def where(exc: BaseException) -> str:
    """The exception's type and innermost frame: never its message, which may quote input."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return type(exc).__name__
    code = tb.tb_frame.f_code
    return f"{type(exc).__name__} in {code.co_name} ({code.co_filename}:{tb.tb_lineno})"
