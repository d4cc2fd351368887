"""The `environments:` section: what to render, test and release where, validated with
errors that name key and line.

    environments:
      prod:
        tenant: shop
        source: {...}                     # the trigger check (`deploysafe verify`)
        render: {helm: {chart: chart/, values: [values-prod.yaml], namespace: shop}}
        #   or {kustomize: overlays/prod, namespace: shop} or {manifests: k8s/, namespace: shop}
        tests:
          - {name: unit, run: "make test", timeout: 10m}
        target: {repo: git@example/env.git, branch: main, path: clusters/prod/shop}
        sign: {gpg_key: FINGERPRINT}      # or {ssh_key: path/to/key}
        policy: restricted                # optional: this environment's PSS level and
        fail_on: high                     #   failing severity (default: the file's)

Paths (chart, values, folders, ssh_key, a local target repo) are relative to the folder
of the policy file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from deploysafe.config import Config, ConfigError, Reader
from deploysafe.k8s.tenancy import Tenant, load_tenants
from deploysafe.model import Level, Severity
from deploysafe.secrets.detect import analyse

# `source` belongs to the trigger check (deploysafe.gitops.verify), which validates it.
_KEYS = {"tenant", "source", "render", "tests", "target", "sign", "policy", "fail_on"}
_RENDER_KINDS = ("helm", "kustomize", "manifests")
_HELM_KEYS = {"chart", "values", "set", "namespace", "release"}
_TEST_KEYS = {"name", "run", "timeout", "junit"}
_TARGET_KEYS = {"repo", "branch", "path"}
_SIGN_KEYS = {"gpg_key", "ssh_key"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # as deploysafe.config.source
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$")
_FINGERPRINT = re.compile(r"^(?:0x)?[0-9A-Fa-f]{16}(?:[0-9A-Fa-f]{24})?$")
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/:]+@[^/:]+:")
_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?P<info>[^/@\s]*)@")
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class Render:
    kind: str  # helm, kustomize or manifests
    path: Path  # the chart, kustomization folder or manifests folder (absolute)
    display: str  # as written in the config
    namespace: str
    values: tuple[Path, ...] = ()
    set_values: tuple[str, ...] = ()
    release: str | None = None  # Helm release name (default: the chart's name)


@dataclass(frozen=True, slots=True)
class GateTest:
    name: str
    run: str
    timeout: float  # seconds
    junit: str | None = None  # a JUnit XML report the command writes (relative path)


@dataclass(frozen=True, slots=True)
class Target:
    repo: str  # URL, or absolute path of a local repository
    branch: str
    path: str  # folder in the environment repository (posix, relative)


@dataclass(frozen=True, slots=True)
class Signing:
    gpg_key: str | None = None
    ssh_key: Path | None = None

    def describe(self) -> str:
        return f"gpg {self.gpg_key}" if self.gpg_key else f"ssh {self.ssh_key}"


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    tenant: Tenant
    render: Render
    tests: tuple[GateTest, ...]
    target: Target
    sign: Signing | None
    has_source: bool  # a `source` section exists (the trigger check needs one)
    policy: Level | None = None
    fail_on: Severity | None = None

    @property
    def namespace(self) -> str:
        return self.render.namespace

    def config(self, cfg: Config) -> Config:
        """The policy file with this environment's overrides."""
        if self.policy is not None:
            cfg = replace(cfg, policy=self.policy)
        if self.fail_on is not None:
            cfg = replace(cfg, fail_on=self.fail_on)
        return cfg


def base_dir(cfg: Config) -> Path:
    return Path(cfg.path).resolve().parent if cfg.path else Path.cwd()


def load_environment(cfg: Config, name: str) -> Environment:
    envs = cfg.reader().mapping(cfg.sections.get("environments"), ("environments",))
    if name not in envs:
        known = ", ".join(sorted(str(k) for k in envs)) or "none are configured"
        raise ConfigError(
            f"{cfg.path or 'deploysafe.yaml'}: unknown environment {name!r} ({known})"
        )
    return _environment(cfg, name, envs[name])


def load_environments(cfg: Config) -> dict[str, Environment]:
    """Every environment, each validated; also checks that targets do not overlap."""
    envs = cfg.reader().mapping(cfg.sections.get("environments"), ("environments",))
    out = {str(name): _environment(cfg, str(name), raw) for name, raw in envs.items()}
    _check_overlaps(cfg.reader(), out)
    return out


def _environment(cfg: Config, name: str, raw: Any) -> Environment:
    r = cfg.reader()
    p: tuple[str | int, ...] = ("environments", name)
    if not _NAME.match(name):
        raise r.fail(p, "an environment name is letters, digits, '.', '_' or '-'")
    e = r.mapping(raw, p, _KEYS)
    base = base_dir(cfg)
    for key in ("tenant", "render", "target"):
        if key not in e:
            raise r.fail(p, f"missing `{key}`")
    tenant_name = r.string(e["tenant"], (*p, "tenant"))
    tenants = load_tenants(cfg)
    if tenant_name not in tenants:
        known = ", ".join(sorted(tenants)) or "no tenants are configured"
        raise r.fail((*p, "tenant"), f"unknown tenant {tenant_name!r} ({known})")
    tenant = tenants[tenant_name]
    env = Environment(
        name=name,
        tenant=tenant,
        render=_render(r, e["render"], (*p, "render"), base, tenant),
        tests=_tests(r, e.get("tests"), (*p, "tests")),
        target=_target(r, e["target"], (*p, "target"), base),
        sign=_sign(r, e["sign"], (*p, "sign"), base) if "sign" in e else None,
        has_source="source" in e,
    )
    if "policy" in e:
        policy = r.convert(Level, r.string(e["policy"], (*p, "policy")), (*p, "policy"))
        env = replace(env, policy=policy)
    if "fail_on" in e:
        fail_on = r.convert(Severity.parse, r.string(e["fail_on"], (*p, "fail_on")), p)
        env = replace(env, fail_on=fail_on)
    if not tenant.owns(env.namespace):
        raise r.fail(
            (*p, "render"),
            f"the environment's namespace {env.namespace!r} is not one of tenant "
            f"{tenant.name!r}'s namespaces ({tenant.describe()})",
        )
    return env


def _relative(r: Reader, value: Any, path: tuple[str | int, ...], base: Path) -> Path:
    text = r.string(value, path)
    return (base / text).resolve()


def _render(r: Reader, raw: Any, p: tuple[str | int, ...], base: Path, tenant: Tenant) -> Render:
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
            raise r.fail((*hp, "namespace"), f"differs from render.namespace {namespace!r}")
        namespace = helm_ns if helm_ns is not None else namespace
        release = r.string(h["release"], (*hp, "release")) if "release" in h else None
        render = Render(
            kind,
            (base / display).resolve(),
            display,
            "",
            values=tuple(
                _relative(r, v, (*hp, "values", i), base)
                for i, v in enumerate(r.strings(h.get("values"), (*hp, "values")))
            ),
            set_values=r.strings(h.get("set"), (*hp, "set")),
            release=release,
        )
    else:
        display = r.string(spec[kind], (*p, kind))
        render = Render(kind, (base / display).resolve(), display, "")
    if namespace is None:
        literal = tenant.literal_namespaces
        if not literal:
            raise r.fail(p, "set `namespace` (the tenant lists only globs)")
        namespace = literal[0]
    ns = r.string(namespace, (*p, "namespace"))
    if not _NAMESPACE.match(ns):
        raise r.fail((*p, "namespace"), f"{ns!r} is not a namespace name")
    return replace(render, namespace=ns)


def parse_duration(text: Any) -> float:
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 90s, 10m or 1h")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        m = _DURATION.match(str(text).strip())
        if not m:
            raise ValueError(f"{text!r} is not a duration (such as 90s, 10m or 1h)")
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]
    if seconds <= 0:
        raise ValueError("a timeout must be more than zero")
    return seconds


def _tests(r: Reader, raw: Any, p: tuple[str | int, ...]) -> tuple[GateTest, ...]:
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
            raise r.fail((*tp, "name"), f"two test stages are named {name!r}")
        seen.add(name)
        timeout = (
            r.convert(parse_duration, t["timeout"], (*tp, "timeout"))
            if "timeout" in t
            else DEFAULT_TIMEOUT
        )
        junit = r.string(t["junit"], (*tp, "junit")) if "junit" in t else None
        out.append(GateTest(name, r.string(t["run"], (*tp, "run")), timeout, junit))
    return tuple(out)


def _target(r: Reader, raw: Any, p: tuple[str | int, ...], base: Path) -> Target:
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
        raise r.fail((*p, "branch"), f"{branch!r} is not a branch name")
    path = r.string(t["path"], (*p, "path")).strip().strip("/")
    parts = path.split("/")
    if path in ("", ".") or any(part in ("", ".", "..") for part in parts) or "\\" in path:
        raise r.fail((*p, "path"), "expected a folder inside the repository, such as clusters/prod")
    if parts[0] == ".deploysafe" or parts[0] == ".git":
        raise r.fail((*p, "path"), f"{parts[0]}/ is reserved")
    return Target(repo, branch, path)


def _credential_in(url: str) -> bool:
    m = _USERINFO.match(url)
    if m is None:
        return False
    info = m["info"]
    return ":" in info or bool(analyse(info, "url").tokens) or _token_like(info)


def _token_like(user: str) -> bool:
    """A user name of 20+ characters mixing letters and digits: a token sent as the user."""
    return len(user) >= 20 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user)


def _sign(r: Reader, raw: Any, p: tuple[str | int, ...], base: Path) -> Signing:
    s = r.mapping(raw, p, _SIGN_KEYS)
    if len(s) != 1:
        raise r.fail(p, "give exactly one of gpg_key (a fingerprint) or ssh_key (a path)")
    if "gpg_key" in s:
        fpr = r.string(s["gpg_key"], (*p, "gpg_key")).replace(" ", "")
        if not _FINGERPRINT.match(fpr):
            raise r.fail((*p, "gpg_key"), "expected a key fingerprint (40 hex digits) or key ID")
        return Signing(gpg_key=fpr.removeprefix("0x").upper())
    return Signing(ssh_key=_relative(r, s["ssh_key"], (*p, "ssh_key"), base))


def _check_overlaps(r: Reader, envs: dict[str, Environment]) -> None:
    items = sorted(envs.values(), key=lambda e: e.name)
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if (a.target.repo, a.target.branch) != (b.target.repo, b.target.branch):
                continue
            pa, pb = a.target.path + "/", b.target.path + "/"
            if pa.startswith(pb) or pb.startswith(pa):
                raise r.fail(
                    ("environments", b.name, "target", "path"),
                    f"overlaps environment {a.name!r}'s target path {a.target.path!r} in the "
                    "same repository and branch: each release replaces its whole folder",
                )
