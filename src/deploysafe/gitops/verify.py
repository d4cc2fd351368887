"""Verify a checkout before it is deployed: the trigger check of practice 1.

    result = verify(Path("."), env.source, environment="prod", signed_range="v1.4.0")
    if not result.ok: ...

Four checks, each with a one-line reason:
- origin:    the repository git fetches `origin` from (after `url.<base>.insteadOf`) is in
             `source.repos` (ssh, https, scp-like forms compared as host/owner/repo, as
             the server reads the path: deploysafe.host.urls);
- ref:       the ref being deployed is in `source.refs` (globs) and, in this checkout,
             points at HEAD;
- signature: HEAD (and every commit since BASE) carries a good signature from a listed key,
             checked by `git verify-commit` against a throwaway GNUPGHOME holding only
             `gpg_keys` and `gpg.ssh.allowedSignersFile`; never the user's own keyring;
- ci:        the CI run is not one an outsider started (fork pull request, merge request
             from another project, unprotected ref).

A check the policy does not configure is reported as skipped, not as passed silently.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import field, replace
from pathlib import Path
from typing import Any

from deploysafe.config.source import SignedBy, SourcePolicy
from deploysafe.frozen import record
from deploysafe.host import ci as runtime
from deploysafe.host.ci import DeployedRef, deployed_ref
from deploysafe.host.git import Git, Result
from deploysafe.host.urls import RemoteError, matches, public_url, repository

GPG_TIMEOUT = 60
_SHORT = 12
_MAX_LISTED = 3


@record
class Check:
    name: str  # "origin", "ref", "signature", "ci"
    ok: bool
    reason: str  # one line
    skipped: bool = False
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "skipped": self.skipped,
            "reason": self.reason,
            "details": list(self.details),
        }


@record
class VerifyResult:
    environment: str
    checkout: str
    head: str | None
    checks: tuple[Check, ...]
    ref: str | None = None  # the deployed ref, as checked (None: detached, no tag)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "checkout": self.checkout,
            "head": self.head,
            "ok": self.ok,
            "checks": [c.as_dict() for c in self.checks],
        }


def _gpg_env(home: Path) -> dict[str, str]:
    """gpg's environment: this keyring only, C messages (parsed), nothing from GNUPG*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GNUPG"))}
    env.update(LC_ALL="C", GNUPGHOME=str(home))
    return env


# ---------------------------------------------------------------- origin


def normalize_remote(url: str) -> str:
    """host/owner/repo for any URL form git accepts; local paths stay paths.

    https://github.com/Acme/Shop.git, git@github.com:acme/shop, ssh://git@github.com:22/acme/shop
    and github.com/acme/shop all give `github.com/acme/shop`; RemoteError for a URL whose
    repository a server could read otherwise (see deploysafe.host.urls).
    """
    return repository(url)


def check_origin(git: Git, repos: Sequence[str]) -> Check:
    """`git` reads the configuration a fetch would use (the user's and the system's too):
    `url.<base>.insteadOf` there decides where the checkout was fetched from."""
    if not repos:
        return Check("origin", True, "not configured (source.repos): any origin", skipped=True)
    urls = (git.out("config", "--get-all", "remote.origin.url") or "").splitlines()
    if not urls:
        return Check("origin", False, "the checkout has no `origin` remote")
    if len(urls) > 1:
        listed = ", ".join(public_url(u) for u in urls)
        return Check(
            "origin",
            False,
            f"remote.origin.url is set {len(urls)} times ({listed}): git fetches from the "
            "first and pushes to every one; keep one URL",
        )
    fetched = git.out("ls-remote", "--get-url", "origin") or urls[0]
    url = public_url(fetched)
    if fetched != urls[0]:
        url = f"{public_url(urls[0])} (fetched from {url}: url.<base>.insteadOf)"
    try:
        got = repository(fetched)
    except RemoteError as exc:
        return Check("origin", False, f"origin {exc}")
    allowed: list[str] = []
    for entry in repos:
        try:
            allowed.append(repository(entry))
        except RemoteError as exc:
            return Check("origin", False, f"source.repos entry {exc}")
    if any(matches(got, pattern) for pattern in allowed):
        return Check("origin", True, f"origin {url} is allowed ({got})")
    return Check(
        "origin",
        False,
        f"origin {url} ({got}) is not an allowed repository (allowed: {', '.join(allowed)})",
    )


# ---------------------------------------------------------------- ref


def chosen_ref(deployed: DeployedRef, refs: Sequence[str]) -> str | None:
    """The deployed ref; of several tags at a detached HEAD, the first the policy allows."""
    for tag in deployed.tags:
        if any(fnmatch.fnmatchcase(tag, p) for p in refs):
            return tag
    return deployed.ref


def check_ref(git: Git, refs: Sequence[str], head: str, deployed: DeployedRef) -> Check:
    """The deployed ref must be allowed and must be shown to be HEAD: a ref this checkout
    does not hold proves nothing, whatever the CI variables say."""
    if not refs:
        return Check("ref", True, "not configured (source.refs): any ref", skipped=True)
    if deployed.problem is not None:
        return Check("ref", False, deployed.problem)
    ref, how = chosen_ref(deployed, refs), deployed.source
    if ref is None:
        return Check(
            "ref",
            False,
            f"HEAD {head[:_SHORT]} is detached and no tag points at it; name the ref with --ref",
        )
    if not any(fnmatch.fnmatchcase(ref, p) for p in refs):
        return Check(
            "ref", False, f"{ref} (from {how}) is not an allowed ref (allowed: {', '.join(refs)})"
        )
    tip = _resolve_ref(git, ref)
    if tip is None:
        return Check(
            "ref",
            False,
            f"{ref} (from {how}) is not in this checkout, so it cannot be shown to be HEAD "
            f"{head[:_SHORT]}; fetch it first: git fetch origin {_refspec(ref)}",
        )
    if tip != head:
        return Check("ref", False, f"{ref} is at {tip[:_SHORT]}, but HEAD is {head[:_SHORT]}")
    return Check("ref", True, f"{ref} is allowed and is HEAD")


def _local_names(ref: str) -> list[str]:
    """Where a clone keeps `ref`: itself, and the remote-tracking name a CI checkout
    fetches a branch (refs/remotes/origin/...) or a pull request (refs/remotes/pull/...) to."""
    names = [ref]
    if ref.startswith("refs/heads/"):
        names.append("refs/remotes/origin/" + ref.removeprefix("refs/heads/"))
    elif ref.startswith("refs/pull/"):
        names.append("refs/remotes/pull/" + ref.removeprefix("refs/pull/"))
    return names


def _refspec(ref: str) -> str:
    return f"+{ref}:{_local_names(ref)[-1]}"


def _resolve_ref(git: Git, ref: str) -> str | None:
    for name in _local_names(ref):
        sha = git.out("rev-parse", "--verify", "-q", f"{name}^{{commit}}")
        if sha:
            return sha
    return None


# ---------------------------------------------------------------- signatures


@record
class _Key:
    fingerprint: str  # primary
    validity: str  # gpg --with-colons field 2: e (expired), r (revoked), ...
    uid: str


@record(frozen=False)
class _Keyring:
    home: Path | None = None
    keys: dict[str, _Key] = field(default_factory=dict)  # any fingerprint (sub too) -> primary
    problem: str | None = None


@contextmanager
def _keyring(signed_by: SignedBy) -> Iterator[_Keyring]:
    """A private GNUPGHOME with only the configured public keys, removed afterwards."""
    ring = _Keyring()
    if signed_by.gpg_keys is None:
        yield ring
        return
    if shutil.which("gpg") is None:
        ring.problem = "gpg is not installed: cannot check GPG signatures"
        yield ring
        return
    home = Path(tempfile.mkdtemp(prefix="ds-gpg-"))
    home.chmod(0o700)
    ring.home = home
    env = _gpg_env(home)
    try:
        imp = subprocess.run(
            ["gpg", "--batch", "--no-tty", "--import", str(signed_by.gpg_keys)],
            env=env,
            capture_output=True,
            text=True,
            timeout=GPG_TIMEOUT,
            check=False,
        )
        listing = subprocess.run(
            ["gpg", "--batch", "--no-tty", "--with-colons", "--fixed-list-mode", "--list-keys"],
            env=env,
            capture_output=True,
            text=True,
            timeout=GPG_TIMEOUT,
            check=False,
        )
        ring.keys = _parse_keys(listing.stdout)
        if not ring.keys:
            msg = imp.stderr.strip().splitlines()[-1:] or ["no keys"]
            ring.problem = f"no public keys could be read from {signed_by.gpg_keys}: {msg[0]}"
        yield ring
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"],
            env=env,
            capture_output=True,
            timeout=GPG_TIMEOUT,
            check=False,
        )
        shutil.rmtree(home, ignore_errors=True)


def _parse_keys(colons: str) -> dict[str, _Key]:
    out: dict[str, _Key] = {}
    primary: _Key | None = None
    pending: str | None = None  # "pub" or "sub" waiting for its fpr line
    validity = ""
    for line in colons.splitlines():
        f = line.split(":")
        if f[0] in ("pub", "sub"):
            pending, validity = f[0], f[1] if len(f) > 1 else ""
        elif f[0] == "fpr" and pending is not None and len(f) > 9:
            fpr = f[9].upper()
            if pending == "pub":
                primary = _Key(fpr, validity, "")
                out[fpr] = primary
            elif primary is not None:
                out[fpr] = primary
            pending = None
        elif f[0] == "uid" and primary is not None and not primary.uid and len(f) > 9:
            primary = _Key(primary.fingerprint, primary.validity, f[9])
            for k, v in list(out.items()):
                if v.fingerprint == primary.fingerprint:
                    out[k] = primary
    return out


@record
class CommitCheck:
    sha: str
    ok: bool
    reason: str


def _signature_kind(git: Git, sha: str) -> str | None:
    raw = git.out("cat-file", "commit", sha) or ""
    header = raw.split("\n\n", 1)[0]
    m = re.search(r"^gpgsig(?:-sha256)? (-----BEGIN [A-Z ]+-----)", header, re.MULTILINE)
    if m is None:
        return None
    if "SSH" in m.group(1):
        return "ssh"
    if "PGP" in m.group(1):
        return "gpg"
    return "x509"


def _status(stderr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        if line.startswith("[GNUPG:] "):
            parts = line.split()
            if len(parts) >= 2:
                out.setdefault(parts[1], parts[2:])
    return out


def check_commit(git: Git, sha: str, signed_by: SignedBy, ring: _Keyring) -> CommitCheck:
    short = sha[:_SHORT]
    kind = _signature_kind(git, sha)
    if kind is None:
        return CommitCheck(sha, False, f"{short} is unsigned")
    if kind == "x509":
        return CommitCheck(sha, False, f"{short} has an x509 (gitsign) signature: not supported")
    if kind == "ssh" and signed_by.ssh_allowed_signers is None:
        return CommitCheck(sha, False, f"{short} is SSH-signed but no ssh_allowed_signers is set")
    if kind == "gpg" and not signed_by.gpg:
        return CommitCheck(sha, False, f"{short} is GPG-signed but no gpg keys are accepted")
    if kind == "gpg" and ring.problem:
        return CommitCheck(sha, False, f"{short}: {ring.problem}")
    proc = git.run("verify-commit", "--raw", sha, check=False)
    if kind == "ssh":
        log = git.out("log", "-1", "--format=%G?%x00%GF%x00%GS", sha) or ""
        result, signer_fpr, signer = [*log.split("\x00"), "", "", ""][:3]
        return _ssh_result(sha, proc, result, signer_fpr, signer, signed_by)
    return _gpg_result(sha, proc, signed_by, ring)


def _ssh_result(
    sha: str,
    proc: Result,
    result: str,
    fpr: str,
    principal: str,
    signed_by: SignedBy,
) -> CommitCheck:
    short = sha[:_SHORT]
    if result == "G" and proc.returncode == 0:
        return CommitCheck(sha, True, f"{short} signed by {principal} (ssh {fpr})")
    if result == "B":
        return CommitCheck(sha, False, f"{short} has a bad SSH signature: changed after signing")
    if result == "U":
        return CommitCheck(
            sha,
            False,
            f"{short} is signed by SSH key {fpr or '?'}, unknown to "
            f"{signed_by.ssh_allowed_signers} (or outside its valid-after/valid-before dates)",
        )
    detail = (proc.err.strip().splitlines() or [f"result {result or '?'}"])[-1]
    return CommitCheck(sha, False, f"{short}: SSH signature not accepted: {detail}")


def _gpg_result(sha: str, proc: Result, signed_by: SignedBy, ring: _Keyring) -> CommitCheck:
    short = sha[:_SHORT]
    st = _status(proc.err)
    if "NO_PUBKEY" in st or ("ERRSIG" in st and "VALIDSIG" not in st):
        keyid = (st.get("NO_PUBKEY") or st.get("ERRSIG") or ["?"])[0]
        return CommitCheck(
            sha, False, f"{short} is signed by unknown key {keyid} (not in {signed_by.gpg_keys})"
        )
    if "BADSIG" in st:
        return CommitCheck(sha, False, f"{short} has a bad GPG signature: changed after signing")
    valid = st.get("VALIDSIG", [])
    fpr = valid[0].upper() if valid else ""
    primary = valid[9].upper() if len(valid) > 9 else fpr
    key = ring.keys.get(primary) or ring.keys.get(fpr)
    who = f"{key.uid} " if key and key.uid else ""
    named = f"{who}({primary})" if who else primary
    if "REVKEYSIG" in st or "KEYREVOKED" in st or (key is not None and key.validity == "r"):
        return CommitCheck(sha, False, f"{short} is signed by revoked key {named}")
    if "EXPKEYSIG" in st or "KEYEXPIRED" in st or (key is not None and key.validity == "e"):
        return CommitCheck(sha, False, f"{short} is signed by expired key {named}")
    if "EXPSIG" in st:
        return CommitCheck(sha, False, f"{short} has an expired signature (key {primary})")
    if "GOODSIG" not in st or not valid or proc.returncode != 0:
        detail = (proc.err.strip().splitlines() or ["no good signature"])[-1]
        return CommitCheck(sha, False, f"{short}: GPG signature not accepted: {detail}")
    if primary not in signed_by.gpg:
        return CommitCheck(sha, False, f"{short} is signed by {named}, which is not a listed key")
    return CommitCheck(sha, True, f"{short} signed by {named}")


def check_signatures(git: Git, signed_by: SignedBy | None, head: str, since: str | None) -> Check:
    if signed_by is None:
        return Check(
            "signature", True, "not configured (source.signed_by): not checked", skipped=True
        )
    commits = [head]
    if since is not None:
        base = git.out("rev-parse", "--verify", "-q", f"{since}^{{commit}}")
        if base is None:
            shallow = git.out("rev-parse", "--is-shallow-repository") == "true"
            hint = " in this shallow clone: fetch more history" if shallow else ""
            return Check("signature", False, f"--require-signed-range: {since!r} not found{hint}")
        if not git.run("merge-base", "--is-ancestor", base, head, check=False).ok:
            return Check("signature", False, f"{since} is not an ancestor of HEAD {head[:_SHORT]}")
        listed = git.out("rev-list", "--reverse", f"{base}..{head}")
        commits = (listed or "").split() or [head]
    with _keyring(signed_by) as ring:
        gpg_home = {"GNUPGHOME": str(ring.home)} if ring.home else {"GNUPGHOME": os.devnull}
        config = [
            "gpg.minTrustLevel=undefined",
            "gpg.program=gpg",
            "gpg.openpgp.program=gpg",  # wins over gpg.program when set, e.g. in .git/config
            "gpg.ssh.program=ssh-keygen",
            "gpg.ssh.revocationFile=",
        ]
        if signed_by.ssh_allowed_signers is not None:
            config.append(f"gpg.ssh.allowedSignersFile={signed_by.ssh_allowed_signers}")
        vgit = replace(git, env=gpg_home, config=(*git.config, *config))
        missing = [f for f in signed_by.gpg if f not in ring.keys] if ring.home else []
        results = [check_commit(vgit, sha, signed_by, ring) for sha in commits]
    bad = [r for r in results if not r.ok]
    details = tuple(r.reason for r in results)
    notes = ""
    if missing:
        notes = f" (listed but not in {signed_by.gpg_keys}: {', '.join(missing)})"
    what = "HEAD" if since is None else f"the {len(commits)} commit(s) since {since}"
    if not bad:
        return Check("signature", True, f"{what}: {results[-1].reason}{notes}", details=details)
    shown = "; ".join(r.reason for r in bad[:_MAX_LISTED])
    more = f"; and {len(bad) - _MAX_LISTED} more" if len(bad) > _MAX_LISTED else ""
    if since is None:
        return Check("signature", False, f"HEAD {shown}{notes}", details=details)
    return Check(
        "signature",
        False,
        f"{len(bad)} of {len(commits)} commit(s) since {since} fail: {shown}{more}{notes}",
        details=details,
    )


# ---------------------------------------------------------------- all together


def verify(
    checkout: Path,
    policy: SourcePolicy,
    *,
    environment: str = "",
    ref: str | None = None,
    signed_range: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> VerifyResult:
    """Check that `checkout` may be deployed under `policy` (an environment's `source`)."""
    environ = os.environ if environ is None else environ
    checkout = checkout.resolve()
    ci = runtime.detect(environ)
    ci_check = Check("ci", ci.trusted, ci.reason)
    if shutil.which("git") is None:
        return VerifyResult(
            environment, str(checkout), None, (Check("checkout", False, "git is not installed"),)
        )
    git = Git(checkout, config=(f"safe.directory={checkout}",), isolated=True)
    head = git.out("rev-parse", "--verify", "-q", "HEAD^{commit}") if checkout.is_dir() else None
    if head is None:
        why = "not a git checkout" if checkout.is_dir() else "no such folder"
        return VerifyResult(
            environment,
            str(checkout),
            None,
            (Check("checkout", False, f"{checkout}: {why} (or it has no commit)"), ci_check),
        )
    deployed = deployed_ref(git, environ, ref)
    checks = (
        check_origin(replace(git, isolated=False), policy.repos),
        check_ref(git, policy.refs, head, deployed),
        check_signatures(git, policy.signed_by, head, signed_range),
        ci_check,
    )
    return VerifyResult(environment, str(checkout), head, checks, chosen_ref(deployed, policy.refs))
