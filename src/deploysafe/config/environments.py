"""The `environments:` section: where each environment may be deployed from (`verify`)
and what `deploy` renders, tests, releases and signs for it. One parser for both.

    environments:
      prod:
        source: {...}                     # the trigger check (deploysafe.config.source)
        tenant: shop
        render: {helm: {chart: chart/, values: [values-prod.yaml], namespace: shop}}
        #   or {kustomize: overlays/prod, namespace: shop} or {manifests: k8s/, namespace: shop}
        tests:
          - {name: unit, run: "make test", timeout: 10m}
        target: {repo: git@example/env.git, branch: main, path: clusters/prod/shop}
        sign: {gpg_key: FINGERPRINT}      # or {ssh_key: path/to/key}
        policy: restricted                # optional: this environment's PSS level and
        fail_on: high                     #   failing severity (default: the file's)

An environment with only `source` can be verified but not deployed; `tenant`, `render` and
`target` come together. Paths (chart, values, folders, keys, a local target repo) are
relative to the folder of the policy file.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from deploysafe.config import source as sourcemod
from deploysafe.config.reader import Reader, quoted
from deploysafe.config.render import contained
from deploysafe.config.source import SourcePolicy
from deploysafe.config.tenants import Tenant
from deploysafe.frozen import record
from deploysafe.model import KeyPath, Level, Severity
from deploysafe.secrets.detect import analyse

KEYS = frozenset({"source", "tenant", "render", "tests", "target", "sign", "policy", "fail_on"})
_DEPLOY_KEYS = ("tenant", "render", "target")
_RENDER_KINDS = ("helm", "kustomize", "manifests")
_HELM_KEYS = frozenset({"chart", "values", "set", "namespace", "release"})
_TEST_KEYS = frozenset({"name", "run", "timeout", "junit"})
_TARGET_KEYS = frozenset({"repo", "branch", "path"})
_SIGN_KEYS = frozenset({"gpg_key", "ssh_key"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$")
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/:]+@[^/:]+:")
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<info>[^/@\s]*)@")
DEFAULT_TIMEOUT = 600.0


@record
class Render:
    kind: str  # helm, kustomize or manifests
    path: Path  # the chart, kustomization folder or manifests folder (absolute)
    display: str  # as written in the config
    namespace: str
    values: tuple[Path, ...] = ()
    set_values: tuple[str, ...] = ()
    release: str | None = None  # Helm release name (default: the chart's name)


@record
class GateTest:
    name: str
    run: str
    timeout: float  # seconds
    junit: str | None = None  # a JUnit XML report the command writes (relative path)


@record
class ReleaseTarget:
    repo: str  # URL, or absolute path of a local repository
    branch: str
    path: str  # folder in the environment repository (posix, relative)


@record
class Signing:
    gpg_key: str | None = None  # fingerprint or long key ID, upper-case hex
    ssh_key: Path | None = None

    def describe(self) -> str:
        return f"gpg {self.gpg_key}" if self.gpg_key else f"ssh {self.ssh_key}"


@record
class Deploy:
    """What `deploysafe deploy` renders, tests, writes and signs for an environment."""

    tenant: Tenant
    render: Render
    target: ReleaseTarget
    tests: tuple[GateTest, ...] = ()
    sign: Signing | None = None


@record
class Environment:
    name: str
    line: int  # where the file defines it, for errors found when it is used
    source: SourcePolicy | None = None
    deploy: Deploy | None = None
    policy: Level | None = None
    fail_on: Severity | None = None

    @property
    def has_source(self) -> bool:
        return self.source is not None

    # The deploy side reads these; `deploy` is set on every environment it is given (see
    # gitops.environments.load_environment), so reaching one without it is a bug.
    def _deploy(self) -> Deploy:
        if self.deploy is None:
            raise ValueError(f"environment {quoted(self.name)} has no tenant, render and target")
        return self.deploy

    @property
    def tenant(self) -> Tenant:
        return self._deploy().tenant

    @property
    def render(self) -> Render:
        return self._deploy().render

    @property
    def target(self) -> ReleaseTarget:
        return self._deploy().target

    @property
    def tests(self) -> tuple[GateTest, ...]:
        return self._deploy().tests

    @property
    def sign(self) -> Signing | None:
        return self._deploy().sign

    @property
    def namespace(self) -> str:
        return self.render.namespace


def parse(
    r: Reader,
    raw: Any,
    base: Path,
    inputs: Path,
    tenants: Mapping[str, Tenant],
    declared: Collection[str],
) -> dict[str, Environment]:
    """Every valid environment; `declared` names the tenants the file lists (valid or not),
    so an environment of a broken tenant does not repeat that tenant's problem."""
    out: dict[str, Environment] = {}
    for name, value in r.mapping(raw, ("environments",)).items():
        with r.item():
            env = _environment(r, name, value, base, inputs, tenants, declared)
            if env is not None:
                out[env.name] = env
    with r.item():
        _check_overlaps(r, out)
    return out


def _environment(
    r: Reader,
    name: Any,
    raw: Any,
    base: Path,
    inputs: Path,
    tenants: Mapping[str, Tenant],
    declared: Collection[str],
) -> Environment | None:
    p: KeyPath = ("environments", str(name))
    if not isinstance(name, str) or not _NAME.match(name):
        raise r.fail(p, "an environment name is letters, digits, '.', '_' or '-'")
    e = r.mapping(raw, p, KEYS)
    env = Environment(name, r.line(p))
    if "source" in e:
        with r.item():
            env = replace(env, source=sourcemod.parse(r, e["source"], (*p, "source"), base))
    if "policy" in e:
        with r.item():
            policy = r.convert(Level, r.string(e["policy"], (*p, "policy")), (*p, "policy"))
            env = replace(env, policy=policy)
    if "fail_on" in e:
        with r.item():
            fail_on = r.convert(
                Severity.parse, r.string(e["fail_on"], (*p, "fail_on")), (*p, "fail_on")
            )
            env = replace(env, fail_on=fail_on)
    if not any(k in e for k in (*_DEPLOY_KEYS, "tests", "sign")):
        return env
    for key in _DEPLOY_KEYS:
        if key not in e:
            raise r.fail(p, f"missing `{key}`")
    tenant_name = r.string(e["tenant"], (*p, "tenant"))
    if tenant_name not in tenants:
        if tenant_name in declared:
            return None  # the tenant's own problem is reported
        known = ", ".join(sorted(tenants)) or "no tenants are configured"
        raise r.fail((*p, "tenant"), f"unknown tenant {quoted(tenant_name)} ({known})")
    tenant = tenants[tenant_name]
    deploy = Deploy(
        tenant=tenant,
        render=_render(r, e["render"], (*p, "render"), inputs, tenant),
        tests=_tests(r, e.get("tests"), (*p, "tests")),
        target=_target(r, e["target"], (*p, "target"), base),
        sign=_sign(r, e["sign"], (*p, "sign"), base) if "sign" in e else None,
    )
    if not tenant.owns(deploy.render.namespace):
        raise r.fail(
            (*p, "render"),
            f"the environment's namespace {quoted(deploy.render.namespace)} is not one of tenant "
            f"{quoted(tenant.name)}'s namespaces ({tenant.describe()})",
        )
    return replace(env, deploy=deploy)


def _relative(r: Reader, value: Any, path: KeyPath, base: Path) -> Path:
    text = r.string(value, path)
    return (base / text).resolve()


def _render(r: Reader, raw: Any, p: KeyPath, base: Path, tenant: Tenant) -> Render:
    spec = r.mapping(raw, p, {*_RENDER_KINDS, "namespace"})
    kinds = [k for k in _RENDER_KINDS if k in spec]
    if len(kinds) != 1:
        raise r.fail(p, "give exactly one of helm, kustomize or manifests")
    kind = kinds[0]
    namespace = spec.get("namespace")
    if kind == "helm":
        hp = (*p, "helm")
        h = r.mapping(spec["helm"], hp, _HELM_KEYS)
        if "chart" not in h:
            raise r.fail(hp, "missing `chart` (the chart folder)")
        display = r.string(h["chart"], (*hp, "chart"))
        helm_ns = h.get("namespace")
        if helm_ns is not None and namespace is not None and helm_ns != namespace:
            raise r.fail((*hp, "namespace"), f"differs from render.namespace {quoted(namespace)}")
        namespace = helm_ns if helm_ns is not None else namespace
        release = r.string(h["release"], (*hp, "release")) if "release" in h else None
        render = Render(
            kind,
            contained(r, display, (*hp, "chart"), base),
            display,
            "",
            values=tuple(
                contained(r, v, (*hp, "values", i), base)
                for i, v in enumerate(r.strings(h.get("values"), (*hp, "values")))
            ),
            set_values=r.strings(h.get("set"), (*hp, "set")),
            release=release,
        )
    else:
        display = r.string(spec[kind], (*p, kind))
        render = Render(kind, contained(r, display, (*p, kind), base), display, "")
    if namespace is None:
        literal = tenant.literal_namespaces
        if not literal:
            raise r.fail(p, "set `namespace` (the tenant lists only globs)")
        namespace = literal[0]
    ns = r.string(namespace, (*p, "namespace"))
    if not _NAMESPACE.match(ns):
        raise r.fail((*p, "namespace"), f"{quoted(ns)} is not a namespace name")
    return replace(render, namespace=ns)


def parse_duration(text: Any) -> float:
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 90s, 10m or 1h")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text).strip())
        if not m:
            raise ValueError(f"{quoted(text)} is not a duration (such as 90s, 10m or 1h)")
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("a timeout must be more than zero")
    return seconds


def _tests(r: Reader, raw: Any, p: KeyPath) -> tuple[GateTest, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail(p, "expected a list of test stages ({name, run, timeout})")
    out = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        tp = (*p, i)
        t = r.mapping(item, tp, _TEST_KEYS)
        for key in ("name", "run"):
            if key not in t:
                raise r.fail(tp, f"a test stage needs `{key}`")
        name = r.string(t["name"], (*tp, "name"))
        if name in seen:
            raise r.fail((*tp, "name"), f"two test stages are named {quoted(name)}")
        seen.add(name)
        timeout = (
            r.convert(parse_duration, t["timeout"], (*tp, "timeout"))
            if "timeout" in t
            else DEFAULT_TIMEOUT
        )
        junit = r.string(t["junit"], (*tp, "junit")) if "junit" in t else None
        out.append(GateTest(name, r.string(t["run"], (*tp, "run")), timeout, junit))
    return tuple(out)


def _target(r: Reader, raw: Any, p: KeyPath, base: Path) -> ReleaseTarget:
    t = r.mapping(raw, p, _TARGET_KEYS)
    for key in ("repo", "path"):
        if key not in t:
            raise r.fail(p, f"missing `{key}`")
    repo = r.string(t["repo"], (*p, "repo"))
    if _credential_in(repo):
        raise r.fail(
            (*p, "repo"),
            "the URL holds a credential (user:password@ or token@), which would be "
            "committed here and shown in every log and release record; authenticate with "
            "`ssh_key:`, a git credential helper or GIT_ASKPASS instead",
        )
    if not _REMOTE.match(repo):
        repo = str((base / repo).resolve())
    branch = r.string(t.get("branch", "main"), (*p, "branch"))
    if branch.startswith(("-", "/")) or ".." in branch or " " in branch:
        raise r.fail((*p, "branch"), f"{quoted(branch)} is not a branch name")
    path = r.string(t["path"], (*p, "path")).strip().strip("/")
    parts = path.split("/")
    if path in ("", ".") or any(part in ("", ".", "..") for part in parts) or "\\" in path:
        raise r.fail((*p, "path"), "expected a folder inside the repository, such as clusters/prod")
    if parts[0] == ".deploysafe" or parts[0] == ".git":
        raise r.fail((*p, "path"), f"{parts[0]}/ is reserved")
    return ReleaseTarget(repo, branch, path)


def _credential_in(url: str) -> bool:
    m = _USERINFO.match(url)
    if m is None:
        return False
    info = m["info"]
    return ":" in info or bool(analyse(info, "url").tokens) or _token_like(info)


def _token_like(user: str) -> bool:
    """A user name of 20+ characters mixing letters and digits: a token sent as the user."""
    return len(user) >= 20 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user)


def _sign(r: Reader, raw: Any, p: KeyPath, base: Path) -> Signing:
    s = r.mapping(raw, p, _SIGN_KEYS)
    if len(s) != 1:
        raise r.fail(p, "give exactly one of gpg_key (a fingerprint) or ssh_key (a path)")
    if "gpg_key" in s:
        return Signing(gpg_key=sourcemod.gpg_key(r, s["gpg_key"], (*p, "gpg_key"), key_id_ok=True))
    return Signing(ssh_key=_relative(r, s["ssh_key"], (*p, "ssh_key"), base))


def _check_overlaps(r: Reader, envs: Mapping[str, Environment]) -> None:
    items = sorted((e for e in envs.values() if e.deploy is not None), key=lambda e: e.name)
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if (a.target.repo, a.target.branch) != (b.target.repo, b.target.branch):
                continue
            pa, pb = a.target.path + "/", b.target.path + "/"
            if pa.startswith(pb) or pb.startswith(pa):
                r.note(
                    ("environments", b.name, "target", "path"),
                    f"overlaps environment {quoted(a.name)}'s target path "
                    f"{quoted(a.target.path)} in the "
                    "same repository and branch: each release replaces its whole folder",
                )
