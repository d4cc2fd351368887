"""The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit (from PyPI) in a
throwaway repository: pre-commit installs deploysafe from this repository into its own
environment, so the hooks are tested as another repository uses them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import paths
from tests.support.secretgen import fake_github_token

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
EXAMPLES_CI = paths.EXAMPLES / "ci"
CHART = paths.FIXTURES / "render" / "chart-insecure"

INSECURE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx
      securityContext:
        privileged: true
"""
HARDENED_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  serviceAccountName: web
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: web
      image: registry.example.com/web:1.0@sha256:{digest}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
      resources:
        requests: {{cpu: 100m, memory: 64Mi}}
        limits: {{memory: 64Mi}}
""".format(digest="0" * 64)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's files as they are now (committed or not), committed in a scratch
    repository: pre-commit installs a hook repository from a commit."""
    if not PRE_COMMIT.is_file():
        pytest.skip(f"pre-commit is not installed next to {sys.executable}")
    index = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", ".", "click"],
        cwd=tmp_path_factory.mktemp("probe"),
        capture_output=True,
        text=True,
        check=False,
    )
    if index.returncode != 0:
        pytest.skip(
            f"pre-commit installs from a package index, which is unreachable: {index.stderr}"
        )
    listed = subprocess.run(
        ["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        cwd=paths.REPO,
        capture_output=True,
        check=True,
    ).stdout
    repo = tmp_path_factory.mktemp("hooks") / "deploysafe"
    for name in (os.fsdecode(n) for n in listed.split(b"\0") if n):
        source = paths.REPO / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "snapshot")
    return repo


def user_repo(root: Path, manifest: str, workflow: Path, notes: str) -> Path:
    """A repository with a manifest, a chart, a workflow and a text file, all staged."""
    (root / "k8s").mkdir(parents=True)
    (root / "k8s/app.yaml").write_text(manifest, encoding="utf-8")
    shutil.copytree(CHART, root / "chart")
    (root / ".github/workflows").mkdir(parents=True)
    shutil.copy2(workflow, root / ".github/workflows/deploy.yml")
    (root / "notes.txt").write_text(notes, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    return root


def try_repo(hook_repo: Path, user: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` with every hook of the repository on `files`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(user.parent / "pre-commit-home")
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(hook_repo), "--color", "never", "--files", *files],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def verdicts(output: str) -> dict[str, str]:
    """Each hook's line in pre-commit's summary: its name and Passed/Failed/Skipped."""
    out = {}
    for line in output.splitlines():
        name, dots, verdict = line.partition("....")
        if dots and name.startswith("deploysafe"):
            out[name.strip(".")] = verdict.strip(".").split()[0]
    return out


NAMES = {
    "deploysafe": "deploysafe (Kubernetes manifests, Helm charts, kustomizations, Dockerfiles)",
    "deploysafe-ci": "deploysafe (CI files)",
    "deploysafe-secrets": "deploysafe (secrets in other files)",
}


def test_hooks_fail_on_insecure_files_and_pass_on_fixed_ones(
    hook_repo: Path, tmp_path: Path
) -> None:
    files = ("k8s/app.yaml", "chart/templates/deployment.yaml", ".github/workflows/deploy.yml")
    bad = user_repo(
        tmp_path / "bad",
        INSECURE_POD,
        EXAMPLES_CI / "insecure/.github/workflows/deploy.yml",
        f"token: {fake_github_token()}\n",
    )
    result = try_repo(hook_repo, bad, *files, "notes.txt")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert verdicts(output) == dict.fromkeys(NAMES.values(), "Failed"), output
    # The manifest as itself, the template through its rendered chart (the privileged
    # value comes from values.yaml), the workflow as CI, the token in the text file.
    # The text report aligns each file's columns: a short place is padded.
    assert "10:9  critical DS201 container 'web' runs privileged" in output
    assert "23:13 critical DS201 container 'shop' runs privileged" in output
    assert "rendered 1 Helm chart(s) with helm-python-sdk" in output
    assert "critical DS101" in output
    assert "DS30" in output and fake_github_token() not in output

    good = user_repo(
        tmp_path / "good",
        HARDENED_POD,
        EXAMPLES_CI / "hardened/.github/workflows/deploy.yml",
        "ok\n",
    )
    result = try_repo(hook_repo, good, "k8s/app.yaml", ".github/workflows/deploy.yml", "notes.txt")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert verdicts(output) == dict.fromkeys(NAMES.values(), "Passed"), output
