"""Real components for the GitOps tests: a throwaway GnuPG home with a generated key, an
SSH key, bare git repositories as remotes, and the sample apps in tests/fixtures/gitops.

Nothing here touches the user's keyring or git config: GNUPGHOME and GIT_CONFIG_GLOBAL
point at temp files for every test, and CI variables are cleared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from deploysafe.cli.main import main
from tests.support import paths

FIXTURES = paths.FIXTURES / "gitops"


def run(*argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, f"{argv}: {proc.stderr}"
    return proc.stdout.strip()


@dataclass(frozen=True)
class Keys:
    home: Path  # GNUPGHOME
    fpr: str  # the developer's key (signs source commits)
    armored: str  # its public key
    release_fpr: str  # the CD host's key (signs release commits)
    ssh_key: Path
    ssh_pub: str


def _gen(home: Path, uid: str) -> str:
    env = {**os.environ, "GNUPGHOME": str(home)}
    run(
        "gpg",
        "--batch",
        "--passphrase",
        "",
        "--quick-gen-key",
        uid,
        "ed25519",
        "sign",
        "1y",
        env=env,
    )
    out = run("gpg", "--batch", "--with-colons", "--list-secret-keys", uid, env=env)
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="session")
def keys() -> Iterator[Keys]:
    home = Path(tempfile.mkdtemp(prefix="ds-gpg-"))  # short: gpg-agent's socket path
    home.chmod(0o700)
    try:
        dev = _gen(home, "Dev Eloper <dev@example.com>")
        rel = _gen(home, "Release Bot <release@example.com>")
        env = {**os.environ, "GNUPGHOME": str(home)}
        armored = run("gpg", "--batch", "--armor", "--export", dev, env=env)
        ssh_key = home / "id_ed25519"
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", ssh_key)
        yield Keys(home, dev, armored, rel, ssh_key, (home / "id_ed25519.pub").read_text())
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated(keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith(("GITHUB_", "GITLAB_", "CI_", "GIT_")) or var == "CI":
            monkeypatch.delenv(var, raising=False)
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Dev Eloper\n\temail = dev@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("GNUPGHOME", str(keys.home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "tester")


@dataclass
class App:
    root: Path  # the source checkout
    origin: Path  # its bare remote
    env_repo: Path  # the environment repository (bare)
    keys: Keys

    def git(self, *args: str) -> str:
        return run("git", "-C", self.root, *args)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str = "change", *, sign: bool = True) -> str:
        self.git("add", "-A")
        flags = [f"-S{self.keys.fpr}"] if sign else ["--no-gpg-sign"]
        self.git("commit", "-q", "--allow-empty", *flags, "-m", message)
        self.git("push", "-q", "origin", "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD")

    def environment(self, name: str = "prod", **over: Any) -> dict[str, Any]:
        env: dict[str, Any] = {
            "tenant": "shop",
            "source": {
                "repos": [str(self.origin)],
                "refs": ["refs/heads/main"],
                "signed_by": {"gpg": [self.keys.fpr], "gpg_keys": "keys/signers.asc"},
            },
            "render": {
                "helm": {"chart": "chart", "values": ["values-prod.yaml"], "namespace": "shop"}
            },
            "tests": [
                {"name": "unit", "run": "sh tests/unit.sh", "timeout": "30s"},
                {"name": "smoke", "run": "sh tests/smoke.sh", "timeout": "30s"},
            ],
            "target": {
                "repo": str(self.env_repo),
                "branch": "main",
                "path": f"clusters/{name}/shop",
            },
            "sign": {"gpg_key": self.keys.release_fpr},
        }
        env.update(over)
        return {k: v for k, v in env.items() if v is not None}

    def configure(self, environments: dict[str, Any], **top: Any) -> None:
        doc = {
            "policy": "restricted",
            "fail_on": "high",
            "tenants": {"shop": {"namespaces": ["shop", "shop-staging"]}},
            "environments": environments,
            **top,
        }
        self.write("deploysafe.yaml", yaml.safe_dump(doc, sort_keys=False))

    def cli(self, *args: str) -> Result:
        result = CliRunner().invoke(main, [*args, "--source", str(self.root)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        return result

    # ---- the environment repository, read directly with git

    def env_git(self, *args: str) -> str:
        return run("git", "--git-dir", self.env_repo, *args)

    def env_head(self) -> str | None:
        out = self.env_git("for-each-ref", "--format=%(objectname)", "refs/heads/main")
        return out or None

    def env_files(self, ref: str = "main", prefix: str = "") -> list[str]:
        out = self.env_git("ls-tree", "-r", "--name-only", ref)
        return [p for p in out.splitlines() if p.startswith(prefix)]

    def env_show(self, path: str, ref: str = "main") -> str:
        return self.env_git("show", f"{ref}:{path}")

    def env_edit(self, files: dict[str, str | None], message: str = "by hand") -> str:
        """A commit made by hand in the environment repository (None deletes a file)."""
        work = self.root.parent / "env-work"
        if not work.exists():
            run("git", "clone", "-q", self.env_repo, work)
        run("git", "-C", work, "pull", "-q", "origin", "main")
        for rel, text in files.items():
            if text is None:
                (work / rel).unlink()
            else:
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                (work / rel).write_text(text)
        run("git", "-C", work, "add", "-A")
        run("git", "-C", work, "commit", "-q", "--no-gpg-sign", "-m", message)
        run("git", "-C", work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return run("git", "-C", work, "rev-parse", "HEAD")

    def record(self, env: str = "prod", ref: str = "main") -> dict[str, Any]:
        import json

        data = json.loads(self.env_show(f".deploysafe/releases/{env}.json", ref))
        assert isinstance(data, dict)
        return data


def make_app(tmp_path: Path, keys: Keys, sample: str = "helm-app") -> App:
    root = tmp_path / "src"
    shutil.copytree(FIXTURES / sample, root)
    origin = tmp_path / "origin.git"
    env_repo = tmp_path / "env.git"
    run("git", "init", "-q", "--bare", origin)
    run("git", "init", "-q", "--bare", env_repo)
    app = App(root, origin, env_repo, keys)
    run("git", "init", "-q", root)
    app.git("remote", "add", "origin", str(origin))
    app.write("keys/signers.asc", keys.armored)
    app.configure({"prod": app.environment()})
    app.commit("initial")
    return app


@pytest.fixture
def app(tmp_path: Path, keys: Keys) -> App:
    return make_app(tmp_path, keys)
