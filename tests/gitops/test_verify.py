"""`deploysafe verify` with real git repositories and real keys made here: gpg and
ssh-keygen keys in temp dirs, commits signed by them, bare remotes, CI event payloads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploysafe.cli.main import main
from deploysafe.config.source import SignedBy, SourcePolicy
from deploysafe.gitops.verify import normalize_remote, verify
from tests.support.ci_events import pull_request_event
from tests.support.secretgen import expand

pytestmark = pytest.mark.skipif(
    not (shutil.which("git") and shutil.which("gpg") and shutil.which("ssh-keygen")),
    reason="needs git, gpg and ssh-keygen",
)

NO_CI: dict[str, str] = {}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GNUPG"))}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", LANG="C")
    env.update(extra)
    return env


def run(*cmd: str, cwd: Path | None = None, **env: str) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stderr}"
    return proc.stdout.strip()


@dataclass(frozen=True)
class GpgKey:
    home: Path
    fpr: str
    email: str


@dataclass(frozen=True)
class Keys:
    alice: GpgKey
    mallory: GpgKey
    rev: GpgKey  # its public export carries a revocation
    ssh_alice: Path  # private key file
    ssh_mallory: Path
    allowed_signers: Path
    trusted_asc: Path  # alice, mallory (not listed), rev (revoked)
    alice_asc: Path


def _gen(home: Path, name: str, expire: str = "1y") -> GpgKey:
    email = f"{name.lower()}@example.com"
    run(
        "gpg", "--batch", "--passphrase", "", "--quick-gen-key",
        f"{name} <{email}>", "ed25519", "sign", expire, GNUPGHOME=str(home),
    )  # fmt: skip
    listing = run("gpg", "--with-colons", "--list-keys", email, GNUPGHOME=str(home))
    fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    return GpgKey(home, fpr, email)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    base = Path(os.environ.get("TMPDIR", "/tmp"))  # short: gpg-agent socket paths are limited
    root = Path(str(tmp_path_factory.mktemp("keys")))
    home = Path(os.path.realpath(base)) / f"ds-test-gpg-{os.getpid()}"
    home.mkdir(mode=0o700)
    try:
        alice, mallory = _gen(home, "Alice"), _gen(home, "Mallory")
        rev = _gen(home, "Rev")
        # The revoked export: Rev's public key plus its revocation, in a second keyring,
        # so that Rev can still sign in the first one.
        other = home.parent / f"ds-test-gpg2-{os.getpid()}"
        other.mkdir(mode=0o700)
        pub = root / "rev.asc"
        pub.write_text(run("gpg", "--armor", "--export", rev.fpr, GNUPGHOME=str(home)))
        run("gpg", "--batch", "--import", str(pub), GNUPGHOME=str(other))
        cert = (home / "openpgp-revocs.d" / f"{rev.fpr}.rev").read_text()
        (root / "rev.rev").write_text(cert.replace(":-----BEGIN", "-----BEGIN"))
        run("gpg", "--batch", "--import", str(root / "rev.rev"), GNUPGHOME=str(other))
        trusted = root / "trusted.asc"
        trusted.write_text(
            run("gpg", "--armor", "--export", alice.fpr, mallory.fpr, GNUPGHOME=str(home))
            + "\n"
            + run("gpg", "--armor", "--export", rev.fpr, GNUPGHOME=str(other))
        )
        alice_asc = root / "alice.asc"
        alice_asc.write_text(run("gpg", "--armor", "--export", alice.fpr, GNUPGHOME=str(home)))
        ssh_alice, ssh_mallory = root / "ssh_alice", root / "ssh_mallory"
        for key in (ssh_alice, ssh_mallory):
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", str(key))
        allowed = root / "allowed_signers"
        pubkey = (root / "ssh_alice.pub").read_text().split()
        allowed.write_text(f'alice@example.com namespaces="git" {pubkey[0]} {pubkey[1]}\n')
        yield Keys(alice, mallory, rev, ssh_alice, ssh_mallory, allowed, trusted, alice_asc)
    finally:
        for h in (home, home.parent / f"ds-test-gpg2-{os.getpid()}"):
            subprocess.run(["gpgconf", "--homedir", str(h), "--kill", "all"], check=False)
            shutil.rmtree(h, ignore_errors=True)


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        run("git", "init", "-q", "-b", "main", cwd=path)
        self.n = 0

    def git(self, *args: str, **env: str) -> str:
        return run(
            "git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args,
            cwd=self.path, **env,
        )  # fmt: skip

    def commit(self, signer: GpgKey | Path | None = None, message: str | None = None) -> str:
        self.n += 1
        (self.path / "app.txt").write_text(f"change {self.n}\n")
        self.git("add", "app.txt")
        msg = message or f"change {self.n}"
        if signer is None:
            self.git("commit", "-q", "-m", msg)
        elif isinstance(signer, GpgKey):
            self.git(
                "-c", f"user.signingkey={signer.fpr}", "commit", "-q", "-S", "-m", msg,
                GNUPGHOME=str(signer.home),
            )  # fmt: skip
        else:
            self.git(
                "-c", "gpg.format=ssh", "-c", f"user.signingkey={signer}",
                "commit", "-q", "-S", "-m", msg,
            )  # fmt: skip
        return self.git("rev-parse", "HEAD")


def policy(keys: Keys, **kw: object) -> SourcePolicy:
    signed = SignedBy(
        gpg=(keys.alice.fpr, keys.rev.fpr),
        gpg_keys=keys.trusted_asc,
        ssh_allowed_signers=keys.allowed_signers,
    )
    return SourcePolicy(
        repos=tuple(kw.get("repos", ("github.com/acme/shop",))),  # type: ignore[arg-type]
        refs=tuple(kw.get("refs", ("refs/heads/main", "refs/tags/v*"))),  # type: ignore[arg-type]
        signed_by=kw.get("signed_by", signed),  # type: ignore[arg-type]
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "shop")
    r.git("remote", "add", "origin", "git@github.com:Acme/Shop.git")
    return r


def reasons(result: object) -> dict[str, str]:
    return {c.name: c.reason for c in result.checks}  # type: ignore[attr-defined]


# ---------------------------------------------------------------- signatures


def test_good_gpg_signature(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.alice)
    result = verify(repo.path, policy(keys), environment="prod", environ=NO_CI)
    assert result.ok, reasons(result)
    assert result.head == sha
    assert reasons(result)["signature"] == (
        f"HEAD: {sha[:12]} signed by Alice <alice@example.com> ({keys.alice.fpr})"
    )


def test_key_in_file_but_not_listed(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.mallory)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert not result.ok
    assert [c.name for c in result.failed] == ["signature"]
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} is signed by Mallory <mallory@example.com> ({keys.mallory.fpr}), "
        "which is not a listed key"
    )


def test_unknown_key(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.mallory)
    only_alice = SignedBy(gpg=(keys.alice.fpr,), gpg_keys=keys.alice_asc)
    result = verify(repo.path, policy(keys, signed_by=only_alice), environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} is signed by unknown key {keys.mallory.fpr[-16:]} "
        f"(not in {keys.alice_asc})"
    )


def test_unsigned(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(None)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["signature"] == f"HEAD {sha[:12]} is unsigned"


def test_amended_commit_loses_its_signature(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("commit", "-q", "--amend", "-m", "amended after signing")
    sha = repo.git("rev-parse", "HEAD")
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["signature"] == f"HEAD {sha[:12]} is unsigned"


def test_tampered_commit_keeps_a_bad_signature(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice, message="release 1.0")
    raw = repo.git("cat-file", "commit", "HEAD") + "\n"
    forged = raw.replace("release 1.0", "release 1.0 (and a backdoor)")
    proc = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path,
        input=forged,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    sha = proc.stdout.strip()
    repo.git("reset", "-q", "--hard", sha)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} has a bad GPG signature: changed after signing"
    )


def test_expired_key(repo: Repo, keys: Keys, tmp_path: Path) -> None:
    old = _gen(keys.alice.home, f"Old{os.getpid()}", "seconds=2")  # made here: it must sign first
    sha = repo.commit(old)
    listing = run("gpg", "--with-colons", "--list-keys", old.fpr, GNUPGHOME=str(old.home))
    expires = int(next(ln for ln in listing.splitlines() if ln.startswith("pub")).split(":")[6])
    asc = tmp_path / "old.asc"
    asc.write_text(run("gpg", "--armor", "--export", old.fpr, GNUPGHOME=str(old.home)))
    time.sleep(max(0.0, expires - time.time() + 1.2))
    signed = SignedBy(gpg=(old.fpr,), gpg_keys=asc)
    result = verify(repo.path, policy(keys, signed_by=signed), environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} is signed by expired key Old{os.getpid()} <{old.email}> ({old.fpr})"
    )


def test_revoked_key(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.rev)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} is signed by revoked key Rev <rev@example.com> ({keys.rev.fpr})"
    )


def test_users_own_keyring_is_never_used(
    repo: Repo, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mallory's key is in the user's keyring with ultimate trust; it still does not count."""
    repo.commit(keys.mallory)
    monkeypatch.setenv("GNUPGHOME", str(keys.mallory.home))
    only_alice = SignedBy(gpg=(keys.alice.fpr,), gpg_keys=keys.alice_asc)
    result = verify(repo.path, policy(keys, signed_by=only_alice), environ=NO_CI)
    assert "unknown key" in reasons(result)["signature"]


def test_ssh_signature(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.ssh_alice)
    fpr = run("ssh-keygen", "-l", "-f", f"{keys.ssh_alice}.pub").split()[1]
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert result.ok, reasons(result)
    assert (
        reasons(result)["signature"] == f"HEAD: {sha[:12]} signed by alice@example.com (ssh {fpr})"
    )


def test_ssh_key_not_in_allowed_signers(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.ssh_mallory)
    fpr = run("ssh-keygen", "-l", "-f", f"{keys.ssh_mallory}.pub").split()[1]
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"HEAD {sha[:12]} is signed by SSH key {fpr}, unknown to {keys.allowed_signers} "
        "(or outside its valid-after/valid-before dates)"
    )


def test_signed_range(repo: Repo, keys: Keys) -> None:
    base = repo.commit(keys.alice)
    repo.git("tag", "v1.0.0")
    repo.commit(keys.alice)
    unsigned = repo.commit(None)
    repo.commit(keys.ssh_alice)
    head_only = verify(repo.path, policy(keys), environ=NO_CI)
    assert head_only.ok, reasons(head_only)
    result = verify(repo.path, policy(keys), signed_range="v1.0.0", environ=NO_CI)
    assert reasons(result)["signature"] == (
        f"1 of 3 commit(s) since v1.0.0 fail: {unsigned[:12]} is unsigned"
    )
    assert len(result.checks[2].details) == 3
    assert base not in " ".join(result.checks[2].details)


def test_signed_range_base_missing(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    result = verify(repo.path, policy(keys), signed_range="v9.9.9", environ=NO_CI)
    assert reasons(result)["signature"] == "--require-signed-range: 'v9.9.9' not found"


def test_signed_range_base_not_an_ancestor(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("checkout", "-q", "-b", "side")
    repo.commit(keys.alice)
    repo.git("checkout", "-q", "main")
    repo.commit(keys.alice)
    head = repo.git("rev-parse", "HEAD")
    result = verify(repo.path, policy(keys), signed_range="side", environ=NO_CI)
    assert reasons(result)["signature"] == f"side is not an ancestor of HEAD {head[:12]}"


# ---------------------------------------------------------------- origin and ref


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://github.com/Acme/Shop.git", "github.com/acme/shop"),
        ("https://user@github.com/acme/shop/", "github.com/acme/shop"),
        ("git@github.com:acme/shop.git", "github.com/acme/shop"),
        ("ssh://git@github.com:22/acme/shop", "github.com/acme/shop"),
        ("git://github.com/acme/shop.git", "github.com/acme/shop"),
        ("github.com/acme/shop", "github.com/acme/shop"),
        ("https://gitlab.example.com/group/sub/app.git", "gitlab.example.com/group/sub/app"),
        ("/srv/git/shop.git", "/srv/git/shop"),
        ("file:///srv/git/shop.git", "/srv/git/shop"),
    ],
)
def test_normalize_remote(url: str, normal: str) -> None:
    assert normalize_remote(url) == normal


def test_origin_must_be_allowed(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("remote", "set-url", "origin", "https://github.com/mallory/shop.git")
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert [c.name for c in result.failed] == ["origin"]
    assert reasons(result)["origin"] == (
        "origin https://github.com/mallory/shop.git (github.com/mallory/shop) is not an "
        "allowed repository (allowed: github.com/acme/shop)"
    )


def test_bare_remote_clone(tmp_path: Path, keys: Keys) -> None:
    """A real clone from a bare remote: origin is a path, the branch comes from git."""
    src = Repo(tmp_path / "src")
    src.commit(keys.alice)
    bare = tmp_path / "remote.git"
    run("git", "clone", "-q", "--bare", str(src.path), str(bare))
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(bare), str(clone))
    result = verify(clone, policy(keys, repos=(str(bare),)), environ=NO_CI)
    assert result.ok, reasons(result)
    assert reasons(result)["ref"] == "refs/heads/main is allowed and is HEAD"


def test_branch_not_allowed(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("checkout", "-q", "-b", "feature/x")
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert [c.name for c in result.failed] == ["ref"]
    assert reasons(result)["ref"] == (
        "refs/heads/feature/x (from the checked-out branch) is not an allowed ref "
        "(allowed: refs/heads/main, refs/tags/v*)"
    )


def test_detached_tag(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("tag", "-a", "v1.2.0", "-m", "release")
    repo.git("tag", "nightly")
    repo.commit(keys.alice)
    repo.git("checkout", "-q", "v1.2.0")
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert result.ok, reasons(result)
    assert reasons(result)["ref"] == "refs/tags/v1.2.0 is allowed and is HEAD"


def test_detached_without_ref(repo: Repo, keys: Keys) -> None:
    sha = repo.commit(keys.alice)
    repo.commit(keys.alice)
    repo.git("checkout", "-q", sha)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["ref"] == (
        f"HEAD {sha[:12]} is detached and no tag points at it; name the ref with --ref"
    )


def test_named_ref_must_point_at_head(repo: Repo, keys: Keys) -> None:
    old = repo.commit(keys.alice)
    new = repo.commit(keys.alice)
    repo.git("checkout", "-q", old)
    result = verify(repo.path, policy(keys), ref="main", environ=NO_CI)
    assert reasons(result)["ref"] == f"refs/heads/main is at {new[:12]}, but HEAD is {old[:12]}"


@pytest.mark.parametrize(
    ("url", "reached"),
    [
        ("https://github.com/acme/../mallory/shop.git", "github.com/mallory/shop"),
        ("https://github.com/acme/shop/../../mallory/shop", "github.com/mallory/shop"),
        ("https://github.com/acme/%2e%2e/mallory/shop.git", "github.com/mallory/shop"),
        ("git@github.com:acme/../mallory/shop.git", "github.com/mallory/shop"),
        ("https://github.com/acme/team/shop.git", "github.com/acme/team/shop"),
    ],
)
def test_origin_that_reaches_another_owner_is_refused(
    repo: Repo, keys: Keys, url: str, reached: str
) -> None:
    repo.commit(keys.alice)
    repo.git("remote", "set-url", "origin", url)
    result = verify(repo.path, policy(keys, repos=("github.com/acme/*",)), environ=NO_CI)
    assert [c.name for c in result.failed] == ["origin"]
    assert reasons(result)["origin"] == (
        f"origin {url} ({reached}) is not an allowed repository (allowed: github.com/acme/*)"
    )


def test_origin_with_an_encoded_slash_is_refused(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    url = "https://github.com/acme/shop%2F..%2F..%2Fmallory%2Fshop"
    repo.git("remote", "set-url", "origin", url)
    result = verify(repo.path, policy(keys, repos=("github.com/acme/*",)), environ=NO_CI)
    assert reasons(result)["origin"] == (
        f"origin {url}: the path holds percent-encoded characters a server may decode into "
        "another path (write the repository path plainly)"
    )


def test_origin_is_compared_after_insteadof(
    repo: Repo, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git fetches from the rewritten URL, longest `insteadOf` prefix first, with the
    user's configuration as well as the checkout's."""
    repo.commit(keys.alice)
    repo.git("remote", "set-url", "origin", "https://github.com/acme/shop.git")
    repo.git("config", "url.https://github.com/acme/.insteadOf", "https://github.com/")
    user = tmp_path / "gitconfig"
    user.write_text('[url "https://github.com/mallory/"]\n\tinsteadOf = https://github.com/acme/\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["origin"] == (
        "origin https://github.com/acme/shop.git (fetched from "
        "https://github.com/mallory/shop.git: url.<base>.insteadOf) (github.com/mallory/shop) "
        "is not an allowed repository (allowed: github.com/acme/shop)"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert reasons(result)["origin"] == (
        "origin https://github.com/acme/shop.git (fetched from "
        "https://github.com/acme/acme/shop.git: url.<base>.insteadOf) "
        "(github.com/acme/acme/shop) is not an allowed repository (allowed: github.com/acme/shop)"
    )


def test_two_origin_urls_are_refused(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("remote", "set-url", "origin", "https://github.com/acme/shop.git")
    repo.git("config", "--add", "remote.origin.url", "https://github.com/mallory/shop.git")
    result = verify(repo.path, policy(keys), environ=NO_CI)
    assert [c.name for c in result.failed] == ["origin"]
    assert reasons(result)["origin"] == (
        "remote.origin.url is set 2 times (https://github.com/acme/shop.git, "
        "https://github.com/mallory/shop.git): git fetches from the first and pushes to every "
        "one; keep one URL"
    )


def _feature_clone(repo: Repo, keys: Keys) -> str:
    """A checkout of a feature branch only, as CI clones it: no main, local or remote."""
    sha = repo.commit(keys.alice)
    repo.git("branch", "-m", "main", "feature")
    repo.git("checkout", "-q", "--detach")
    return sha


@pytest.mark.parametrize(
    ("ref", "environ", "source"),
    [
        ("refs/heads/main", NO_CI, "--ref"),
        (
            None,
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_REF": "refs/heads/main",
            },
            "GITHUB_REF",
        ),
        (
            None,
            {"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_PROTECTED": "true"},
            "CI_COMMIT_BRANCH",
        ),
    ],
)
def test_allowed_ref_missing_from_the_checkout_fails(
    repo: Repo, keys: Keys, ref: str | None, environ: dict[str, str], source: str
) -> None:
    sha = _feature_clone(repo, keys)
    result = verify(repo.path, policy(keys), ref=ref, environ=environ)
    assert [c.name for c in result.failed] == ["ref"]
    assert reasons(result)["ref"] == (
        f"refs/heads/main (from {source}) is not in this checkout, so it cannot be shown to be "
        f"HEAD {sha[:12]}; fetch it first: git fetch origin "
        "+refs/heads/main:refs/remotes/origin/main"
    )


def test_remote_tracking_branch_proves_the_ref(repo: Repo, keys: Keys) -> None:
    _feature_clone(repo, keys)
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    result = verify(repo.path, policy(keys), ref="refs/heads/main", environ=NO_CI)
    assert result.ok, reasons(result)
    assert reasons(result)["ref"] == "refs/heads/main is allowed and is HEAD"


def test_a_name_that_is_a_branch_and_a_tag_must_be_qualified(repo: Repo, keys: Keys) -> None:
    repo.commit(keys.alice)
    repo.git("tag", "main")
    result = verify(repo.path, policy(keys), ref="main", environ=NO_CI)
    assert [c.name for c in result.failed] == ["ref"]
    assert reasons(result)["ref"] == (
        "--ref 'main' names both the branch refs/heads/main and the tag refs/tags/main: "
        "pass --ref refs/heads/main or --ref refs/tags/main"
    )
    qualified = verify(repo.path, policy(keys), ref="refs/heads/main", environ=NO_CI)
    assert qualified.ok, reasons(qualified)


def test_not_a_checkout(tmp_path: Path, keys: Keys) -> None:
    result = verify(tmp_path, policy(keys), environ=NO_CI)
    assert not result.ok
    assert result.checks[0].name == "checkout"
    assert "not a git checkout" in result.checks[0].reason


def test_unconfigured_checks_are_skipped(repo: Repo) -> None:
    repo.commit(None)
    result = verify(repo.path, SourcePolicy(), environ=NO_CI)
    assert result.ok
    assert [c.name for c in result.checks if c.skipped] == ["origin", "ref", "signature"]


# ---------------------------------------------------------------- CI context


def test_ci_context_fails_verify(repo: Repo, keys: Keys, tmp_path: Path) -> None:
    repo.commit(keys.alice)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request_target",
        "GITHUB_EVENT_PATH": pull_request_event(tmp_path, "mallory/shop"),
        "GITHUB_REF": "refs/heads/main",
    }
    result = verify(repo.path, policy(keys), environ=env)
    assert [c.name for c in result.failed] == ["ci"]


# ---------------------------------------------------------------- the command


def _config(tmp_path: Path, keys: Keys, body: str | None = None) -> Path:
    cfg = tmp_path / "deploysafe.yaml"
    cfg.write_text(
        body
        or f"""\
environments:
  prod:
    source:
      repos: [https://github.com/acme/shop]
      refs: [refs/heads/main, refs/tags/v*]
      signed_by:
        gpg: ["{" ".join(keys.alice.fpr[i : i + 4] for i in range(0, 40, 4))}"]
        gpg_keys: {keys.trusted_asc}
        ssh_allowed_signers: {keys.allowed_signers}
""",
        encoding="utf-8",
    )
    return cfg


def _cli(args: list[str]) -> tuple[int, str]:
    runner = CliRunner()
    env = dict.fromkeys(("GITHUB_ACTIONS", "GITLAB_CI"), "")
    result = runner.invoke(main, args, env=env)
    return result.exit_code, result.output


def test_cli_pass_and_fail(repo: Repo, keys: Keys, tmp_path: Path) -> None:
    cfg = _config(tmp_path, keys)
    sha = repo.commit(keys.alice)
    code, out = _cli(["verify", str(repo.path), "--env", "prod", "--config", str(cfg)])
    assert code == 0, out
    assert out.splitlines()[-1] == f"{sha[:12]} may be deployed to prod"
    bad = repo.commit(None)
    code, out = _cli(["verify", str(repo.path), "--env", "prod", "--config", str(cfg)])
    assert code == 1
    assert f"FAIL signature: HEAD {bad[:12]} is unsigned" in out.splitlines()
    code, out = _cli(
        ["verify", str(repo.path), "--env", "prod", "--config", str(cfg), "--format", "json"]
    )
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["head"] == bad
    assert [(c["check"], c["ok"]) for c in data["checks"]] == [
        ("origin", True),
        ("ref", True),
        ("signature", False),
        ("ci", True),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "environments:\n  prod:\n    source:\n      signed_by:\n        gpg: [ABCD1234]\n"
            "        gpg_keys: k.asc\n",
            "deploysafe.yaml:5: environments.prod.source.signed_by.gpg.0: 'ABCD1234' is not a "
            "primary-key fingerprint",
        ),
        (
            "environments:\n  prod:\n    source:\n      refs: [main]\n",
            "deploysafe.yaml:4: environments.prod.source.refs.0: 'main' is not a full ref",
        ),
        (
            "environments:\n  prod:\n    source:\n      repo: [x]\n",
            "deploysafe.yaml:4: environments.prod.source.repo: unknown key",
        ),
        (
            "environments:\n  prod:\n    source:\n      signed_by:\n"
            "        ssh_allowed_signers: missing\n",
            "deploysafe.yaml:5: environments.prod.source.signed_by.ssh_allowed_signers: no such "
            "file",
        ),
        ("environments:\n  staging: {}\n", "no environment 'prod' (known: staging)"),
    ],
)
def test_cli_config_errors(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "k.asc").write_text("")
    cfg = _config(tmp_path, None, body)  # type: ignore[arg-type]
    code, out = _cli(["verify", str(tmp_path), "--env", "prod", "--config", str(cfg)])
    assert code == 2
    assert message in out.replace(str(tmp_path) + "/", "")
    assert "Traceback" not in out


def test_cli_never_prints_origin_credentials(repo: Repo, keys: Keys, tmp_path: Path) -> None:
    cfg = _config(tmp_path, keys)
    repo.commit(keys.alice)
    token = expand("glpat-{url:20}")
    url = f"https://gitlab-ci-token:{token}@github.com/acme/shop.git"
    repo.git("remote", "set-url", "origin", url)
    code, out = _cli(["verify", str(repo.path), "--env", "prod", "--config", str(cfg)])
    assert code == 0, out
    assert (
        "ok   origin: origin https://github.com/acme/shop.git is allowed (github.com/acme/shop)"
        in (out.splitlines())
    )
    code, out = _cli(
        ["verify", str(repo.path), "--env", "prod", "--config", str(cfg), "--format", "json"]
    )
    origin = next(c for c in json.loads(out)["checks"] if c["check"] == "origin")
    assert origin["reason"] == (
        "origin https://github.com/acme/shop.git is allowed (github.com/acme/shop)"
    )
    assert token not in out
    repo.git("config", "--add", "remote.origin.url", url.replace("acme", "mallory"))
    code, out = _cli(["verify", str(repo.path), "--env", "prod", "--config", str(cfg)])
    assert code == 1 and token not in out
