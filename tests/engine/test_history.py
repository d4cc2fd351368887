"""`--git-history` on real repositories built in tmp dirs: one finding per secret, under the
key that makes it a credential, saying whether HEAD still holds it and where."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from deploysafe.config import Config
from deploysafe.engine import scan_history
from deploysafe.model import Severity, redact
from tests.support.secretgen import expand, fake_github_token

VALUE = expand("{an:24}", seed=41)
GH = fake_github_token(seed=42)
HEAD = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\n"


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "dev",
        "GIT_AUTHOR_EMAIL": "dev@shop.internal",
        "GIT_COMMITTER_NAME": "dev",
        "GIT_COMMITTER_EMAIL": "dev@shop.internal",
        "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True
    )
    return proc.stdout.strip()


def commit(root: Path, files: dict[str, str | None], message: str) -> str:
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")[:12]


def history(root: Path) -> list[tuple[str, str, str, Severity, str]]:
    report = scan_history(root, Config(), jobs=1)
    return [(f.rule_id, f.file, f.pointer, f.severity, f.message) for f in report.findings]


def test_a_value_later_used_as_a_password_is_reported_under_the_password(
    tmp_path: Path,
) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    first = commit(tmp_path, {"k8s/db.yaml": HEAD + f"stringData:\n  username: {VALUE}\n"}, "db")
    second = commit(
        tmp_path,
        {"k8s/db.yaml": HEAD + f"stringData:\n  username: {VALUE}\n  password: {VALUE}\n"},
        "password",
    )
    assert history(tmp_path) == [
        (
            "DS310",
            "k8s/db.yaml",
            "/stringData/password",
            Severity.HIGH,
            "Secret db commits secret material (plain text): 'username' holds a random-looking "
            f"value; 'password' holds a password-like literal: {redact(VALUE)} (introduced in "
            f"commit {first}, 2026-01-02; reported as found in commit {second}; still in HEAD "
            "at k8s/db.yaml)",
        )
    ]


def test_each_finding_says_whether_head_still_holds_the_secret(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    added = commit(
        tmp_path,
        {"ci.env": f"GH_TOKEN={GH}\n", "k8s/db.yaml": HEAD + f"stringData:\n  password: {VALUE}\n"},
        "add",
    )
    # The env file goes; the Secret moves to another folder, unchanged.
    commit(tmp_path, {"ci.env": None}, "drop the token")
    git(tmp_path, "mv", "k8s", "deploy")
    commit(tmp_path, {}, "move")
    assert [
        (rid, file, message.split(": ", 1)[0], message.rsplit(" (", 1)[1])
        for rid, file, _, _, message in history(tmp_path)
    ] == [
        (
            "DS301",
            "ci.env",
            "hard-coded GitHub personal access token (classic) [github-pat]",
            f"introduced in commit {added}, 2026-01-02; no longer in HEAD, but in every "
            "clone of the history)",
        ),
        (
            "DS310",
            "k8s/db.yaml",
            "Secret db commits secret material (plain text)",
            f"introduced in commit {added}, 2026-01-02; still in HEAD at deploy/db.yaml)",
        ),
    ]


def test_an_edited_secret_without_credentials_is_never_reported(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    for n in range(3):
        ini = f"[date_formats]\nfull_date = YYYY-MM-DD HH:mm:{n}\n[users]\nallow_sign_up = false\n"
        body = "stringData:\n  grafana.ini: |\n" + "".join(f"    {ln}\n" for ln in ini.splitlines())
        commit(tmp_path, {"grafana.yaml": HEAD + body}, f"edit {n}")
    assert history(tmp_path) == []
