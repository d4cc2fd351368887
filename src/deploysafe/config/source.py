"""The `environments:` section of deploysafe.yaml: where each environment may be deployed
from (validated here, with errors that name key and line).

    environments:
      prod:
        source:
          repos: [github.com/acme/shop]          # allowed origin remotes
          refs: [refs/heads/main, refs/tags/v*]    # allowed branches and tags (globs)
          signed_by:
            gpg: [FINGERPRINT...]                  # accepted primary-key fingerprints
            gpg_keys: keys/release-signers.asc     # their public keys, armored
            ssh_allowed_signers: keys/allowed_signers

Relative key paths are relative to the folder of the policy file. Later features add their
own keys next to `source` (ENV_KEYS names the ones known).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from deploysafe.config import Config, ConfigError, Reader
from deploysafe.model import Path

# Keys an environment may have; features that read other keys add them here.
ENV_KEYS = {"source"}
# `deploysafe deploy` (deploysafe.gitops.environments validates them).
ENV_KEYS |= {"tenant", "render", "tests", "target", "sign", "policy", "fail_on"}
SOURCE_KEYS = {"repos", "refs", "signed_by"}
SIGNED_BY_KEYS = {"gpg", "gpg_keys", "ssh_allowed_signers"}
_FPR = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


@dataclass(frozen=True, slots=True)
class SignedBy:
    gpg: tuple[str, ...] = ()  # primary-key fingerprints, upper-case hex
    gpg_keys: FsPath | None = None
    ssh_allowed_signers: FsPath | None = None


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    repos: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    signed_by: SignedBy | None = None


@dataclass(frozen=True, slots=True)
class Environment:
    name: str
    source: SourcePolicy | None


def environments(cfg: Config, base: FsPath | None = None) -> dict[str, Environment]:
    """Every environment in the policy file, validated. `base` is the folder relative key
    paths start from (default: the policy file's folder)."""
    raw = cfg.sections.get("environments")
    r = cfg.reader()
    if base is None:
        base = FsPath(cfg.path).resolve().parent if cfg.path else FsPath.cwd()
    out: dict[str, Environment] = {}
    for name, value in r.mapping(raw, ("environments",)).items():
        p: Path = ("environments", str(name))
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise r.fail(p, "an environment name is letters, digits, '.', '_' or '-'")
        env = r.mapping(value, p, ENV_KEYS)
        source = None
        if "source" in env:
            source = _source(r, env["source"], (*p, "source"), base)
        out[name] = Environment(name, source)
    return out


def environment(cfg: Config, name: str, base: FsPath | None = None) -> Environment:
    envs = environments(cfg, base)
    if name not in envs:
        known = ", ".join(sorted(envs)) or "none"
        where = cfg.path or "the policy file"
        raise ConfigError(f"{where}: no environment {name!r} (known: {known})")
    return envs[name]


def _source(r: Reader, value: Any, p: Path, base: FsPath) -> SourcePolicy:
    src = r.mapping(value, p, SOURCE_KEYS)
    repos = r.strings(src.get("repos"), (*p, "repos"))
    refs = r.strings(src.get("refs"), (*p, "refs"))
    for i, ref in enumerate(refs):
        if not ref.startswith("refs/"):
            raise r.fail(
                (*p, "refs", i),
                f"{ref!r} is not a full ref: write refs/heads/{ref} or refs/tags/{ref}",
            )
    signed_by = None
    if "signed_by" in src:
        signed_by = _signed_by(r, src["signed_by"], (*p, "signed_by"), base)
    return SourcePolicy(repos, refs, signed_by)


def _signed_by(r: Reader, value: Any, p: Path, base: FsPath) -> SignedBy:
    s = r.mapping(value, p, SIGNED_BY_KEYS)
    fprs = []
    for i, raw in enumerate(r.strings(s.get("gpg"), (*p, "gpg"))):
        fpr = re.sub(r"\s+", "", raw).upper().removeprefix("0X")
        if not _FPR.fullmatch(fpr):
            raise r.fail(
                (*p, "gpg", i),
                f"{raw!r} is not a primary-key fingerprint (40 hex digits; key IDs can collide "
                "and are not accepted)",
            )
        fprs.append(fpr)
    keys = _file(r, s.get("gpg_keys"), (*p, "gpg_keys"), base)
    allowed = _file(r, s.get("ssh_allowed_signers"), (*p, "ssh_allowed_signers"), base)
    if fprs and keys is None:
        raise r.fail(p, "`gpg` fingerprints need `gpg_keys`: the armored public keys to check with")
    if keys is not None and not fprs:
        raise r.fail(p, "`gpg_keys` without `gpg`: list the fingerprints to accept")
    if not fprs and allowed is None:
        raise r.fail(
            p, "name at least one accepted signer: `gpg` (+ `gpg_keys`) or `ssh_allowed_signers`"
        )
    return SignedBy(tuple(fprs), keys, allowed)


def _file(r: Reader, value: Any, p: Path, base: FsPath) -> FsPath | None:
    if value is None:
        return None
    path = FsPath(r.string(value, p)).expanduser()
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise r.fail(p, f"no such file: {path}")
    return path


def as_json(policy: SourcePolicy) -> Mapping[str, Any]:
    sb = policy.signed_by
    return {
        "repos": list(policy.repos),
        "refs": list(policy.refs),
        "signed_by": None
        if sb is None
        else {
            "gpg": list(sb.gpg),
            "gpg_keys": str(sb.gpg_keys) if sb.gpg_keys else None,
            "ssh_allowed_signers": str(sb.ssh_allowed_signers) if sb.ssh_allowed_signers else None,
        },
    }
