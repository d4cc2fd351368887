"""A file is judged by its place in its repository, not by the folder the scan started
from: real git repositories in tmp dirs, scanned from several starting paths and current
folders, through the command line as users and hooks call it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_EMPTY, EXIT_FINDINGS, EXIT_USAGE
from tests.support import paths
from tests.support.scantools import invoke, write_tree

# A copy of microservices-demo's .github/workflows/ci-main.yaml (Apache-2.0, its header
# kept), with the findings a scan of that repository gives at its root.
CI_MAIN = paths.FIXTURES / "where" / "ci-main.yaml"
CI_MAIN_FINDINGS = {
    *(("DS105", ln) for ln in (15, 33)),
    *(("DS106", ln) for ln in (71, 75, 79, 81)),
    *(("DS107", ln) for ln in (36, 37, 42, 69, 88)),
}

ACTION = """\
name: setup
runs:
  using: composite
  steps:
    - run: echo "${{ github.event.issue.title }}"
      shell: bash
"""
GITLAB = """\
include:
  - local: /ci/jobs.yml
stages: [deploy]
"""
GITLAB_JOBS = """\
deploy:
  stage: deploy
  script:
    - curl https://example.com/install.sh | bash
"""
DOCKERFILE = "FROM node:22-alpine\nARG NPM_TOKEN\nRUN npm ci\n"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    write_tree(
        root,
        {
            ".github/actions/setup/action.yml": ACTION,
            "services/api/.gitlab-ci.yml": GITLAB,
            "ci/jobs.yml": GITLAB_JOBS,
            "services/api/Dockerfile": DOCKERFILE,
        },
    )
    (root / ".github" / "workflows").mkdir()
    shutil.copy(CI_MAIN, root / ".github" / "workflows" / "ci-main.yaml")
    git(root, "init", "-q")
    return root


def scan(*args: str, cwd: Path) -> tuple[int, Any]:
    """`deploysafe scan ARGS --format sarif` run from `cwd`: exit code and the SARIF."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = invoke("scan", *args, "--format", "sarif", "-j", "1")
    finally:
        os.chdir(before)
    return result.exit_code, json.loads(result.stdout)


def places(doc: Any) -> set[tuple[str, str, int]]:
    """(rule, file, line) of every result, the file as code scanning places it."""
    out = set()
    for r in doc["runs"][0]["results"]:
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        out.add((r["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"]))
    return out


def in_file(doc: Any, file: str) -> set[tuple[str, int]]:
    return {(rule, line) for rule, f, line in places(doc) if f == file}


WORKFLOW = ".github/workflows/ci-main.yaml"


@pytest.mark.parametrize(
    "start", [".", ".github", ".github/workflows", WORKFLOW], ids=["root", "github", "wf", "file"]
)
def test_a_workflow_is_a_workflow_from_any_starting_path(repo: Path, start: str) -> None:
    code, doc = scan(start, cwd=repo)
    assert code == EXIT_FINDINGS
    assert in_file(doc, WORKFLOW) == CI_MAIN_FINDINGS
    # Whatever was scanned, the SARIF locates files from the repository's top level.
    base = doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.resolve().as_uri() + "/"


def test_four_starting_paths_give_the_same_findings(repo: Path) -> None:
    results = []
    for start in (".", ".github", ".github/workflows", WORKFLOW):
        _, doc = scan(start, cwd=repo)
        results.append({p for p in places(doc) if p[1] == WORKFLOW})
        fingerprints = [
            r["partialFingerprints"]["deploysafe/v1"]
            for r in doc["runs"][0]["results"]
            if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == WORKFLOW
        ]
        results.append(set(fingerprints))
    assert results[0::2] == [results[0]] * 4
    assert results[1::2] == [results[1]] * 4  # code scanning keeps its alerts
    assert len(results[0]) == len(CI_MAIN_FINDINGS)


def test_the_current_folder_does_not_matter(repo: Path, tmp_path: Path) -> None:
    _, here = scan(WORKFLOW, cwd=repo)
    _, elsewhere = scan(str(repo / WORKFLOW), cwd=tmp_path)
    _, inside = scan("ci-main.yaml", cwd=repo / ".github" / "workflows")
    assert places(here) == places(elsewhere) == places(inside)
    assert in_file(here, WORKFLOW) == CI_MAIN_FINDINGS


def test_actions_gitlab_ci_and_dockerfiles_from_inside(repo: Path) -> None:
    _, action = scan(".github/actions/setup", cwd=repo)
    assert places(action) == {("DS103", ".github/actions/setup/action.yml", 5)}
    # A .gitlab-ci.yml's local includes start at the repository's top level, not at its
    # folder: the job written in ci/jobs.yml is found from services/api.
    _, api = scan("services/api", cwd=repo)
    _, whole = scan(".", cwd=repo)
    assert {p for p in places(api) if p[1].startswith("ci/")} == {
        ("DS120", "ci/jobs.yml", 1),
        ("DS602", "ci/jobs.yml", 1),
    }
    assert {p for p in places(whole) if p[1].startswith("ci/")} == {
        ("DS120", "ci/jobs.yml", 1),
        ("DS602", "ci/jobs.yml", 1),
    }
    assert {p[1] for p in places(api)} == {"ci/jobs.yml", "services/api/Dockerfile"}
    _, dockerfile = scan("services/api/Dockerfile", cwd=repo)
    assert places(dockerfile) == {
        ("DS320", "services/api/Dockerfile", 2),
        ("DS598", "services/api/Dockerfile", 1),  # no USER: runs as root
    }


def test_a_hook_passing_changed_files(repo: Path) -> None:
    # pre-commit runs hooks at the top level and passes the changed files' names.
    changed = [WORKFLOW, ".github/actions/setup/action.yml", "services/api/Dockerfile"]
    code, doc = scan(*changed, cwd=repo)
    _, whole = scan(".", cwd=repo)
    assert code == EXIT_FINDINGS
    assert places(doc) == {p for p in places(whole) if p[1] in changed}
    assert in_file(doc, WORKFLOW) == CI_MAIN_FINDINGS
    # JSON names files from the scan root, here the folder that holds them all.
    result = invoke("scan", *(str(repo / c) for c in changed), "--format", "json")
    files = {f["file"] for f in json.loads(result.stdout)["findings"]}
    assert files == set(changed)


def test_a_missing_path_is_a_usage_error(repo: Path) -> None:
    result = invoke("scan", str(repo / WORKFLOW), str(repo / "nope.yml"))
    assert result.exit_code == EXIT_USAGE
    assert f"Path '{repo / 'nope.yml'}' does not exist." in result.output


def test_nothing_to_check_fails_unless_allowed(repo: Path) -> None:
    (repo / "empty").mkdir()
    result = invoke("scan", str(repo / "empty"), "--format", "json")
    assert result.exit_code == EXIT_EMPTY
    message = (
        f"nothing to check in {repo / 'empty'}: no file deploysafe reads is there (or every "
        "one is excluded or skipped)"
    )
    hint = "; check the path, or pass --allow-empty if that is expected"
    assert result.stderr == f"error: {message}{hint}\n"
    doc = json.loads(result.stdout)
    assert doc["summary"]["files"] == 0
    assert doc["notes"] == [message + hint]
    allowed = invoke("scan", str(repo / "empty"), "--allow-empty")
    assert allowed.exit_code == EXIT_CLEAN
    assert f"note: {message}\n" in allowed.stdout
    # Everything excluded is nothing to check, too.
    (repo / "empty" / "deploysafe.yaml").write_text("exclude: ['*.yaml']\n")
    assert invoke("scan", str(repo / "empty")).exit_code == EXIT_EMPTY


# ------------------------------------------------------------------ render roots


def _findings(*args: str, cwd: Path) -> set[tuple[str, str, int]]:
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = invoke("scan", *args, "--format", "json", "-j", "1")
    finally:
        os.chdir(before)
    doc = json.loads(result.stdout)
    assert doc["errors"] == []
    return {(f["rule_id"], f["file"], f["line"]) for f in doc["findings"]}


@pytest.fixture
def charts(tmp_path: Path) -> Path:
    root = tmp_path / "charts-repo"
    shutil.copytree(paths.FIXTURES / "render" / "chart-insecure", root / "shop")
    shutil.copytree(paths.FIXTURES / "render" / "kustomize", root / "deploy")
    shutil.rmtree(root / "deploy" / "broken")
    git(root, "init", "-q")
    return root


DEPLOYMENT = {
    ("DS201", "shop/templates/deployment.yaml", 23),
    ("DS214", "shop/templates/deployment.yaml", 22),
    ("DS215", "shop/templates/deployment.yaml", 22),
    ("DS216", "shop/templates/deployment.yaml", 22),
    ("DS217", "shop/templates/deployment.yaml", 22),
    ("DS599", "shop/templates/deployment.yaml", 22),
    # The chart names no namespace: once per install, at its first object in scope.
    ("DS511", "shop/templates/deployment.yaml", 3),
    ("DS502", "shop/templates/deployment.yaml", 16),
    ("DS509", "shop/templates/deployment.yaml", 14),
}
SERVICE: set[tuple[str, str, int]] = set()  # the Service's only finding is the install's DS511


def test_a_template_is_scanned_through_its_chart(charts: Path) -> None:
    whole = _findings("shop", cwd=charts)
    assert {(r, f"shop/{f}", ln) for r, f, ln in whole} == DEPLOYMENT | SERVICE
    # Paths stay relative to the scan root (a file's folder); only what the file wrote, judged
    # in the whole install (its DS511 is at the Deployment, the first object in scope).
    assert _findings("shop/templates/service.yaml", cwd=charts) == shown(SERVICE, "shop/templates")
    assert _findings("shop/templates/deployment.yaml", cwd=charts) == shown(
        DEPLOYMENT, "shop/templates"
    )
    assert _findings("shop/templates", cwd=charts) == shown(DEPLOYMENT | SERVICE, "shop/templates")
    # A file every object depends on (values, helpers) is scanned through the whole render.
    assert _findings("shop/values.yaml", cwd=charts) == shown(DEPLOYMENT | SERVICE, "shop")
    assert _findings("shop/templates/_helpers.tpl", cwd=charts) == shown(
        DEPLOYMENT | SERVICE, "shop/templates"
    )
    assert _findings("shop/templates/NOTES.txt", cwd=charts) == set()  # writes no object
    # Several files: named from the folder that holds them all; Chart.yaml shapes all.
    assert _findings("shop/templates/service.yaml", "shop/Chart.yaml", cwd=charts) == shown(
        DEPLOYMENT | SERVICE, "shop"
    )
    # Without rendering, a template is a template (skipped), not broken YAML.
    assert _findings("shop/templates/service.yaml", "--no-render", cwd=charts) == set()


def shown(findings: set[tuple[str, str, int]], root: str) -> set[tuple[str, str, int]]:
    """Findings named from the top level, as a scan rooted at `root` names them."""
    return {(rule, os.path.relpath(file, root), line) for rule, file, line in findings}


BASE_DEPLOYMENT = {
    ("DS214", "deploy/base/deployment.yaml", 18),
    ("DS215", "deploy/base/deployment.yaml", 19),
    ("DS216", "deploy/base/deployment.yaml", 18),
    ("DS217", "deploy/base/deployment.yaml", 18),
    ("DS599", "deploy/base/deployment.yaml", 18),
    ("DS502", "deploy/base/deployment.yaml", 14),
}


def test_a_kustomize_file_is_scanned_through_its_kustomization(charts: Path) -> None:
    # A base's file is built through the overlay that deploys it, as from the top: prod's
    # namespace and NetworkPolicy apply (no DS511, no DS509), its own lines are reported.
    base = _findings("deploy/base/deployment.yaml", cwd=charts)
    from_prod = BASE_DEPLOYMENT | {
        ("DS504", "deploy/base/deployment.yaml", 16),
        ("DS505", "deploy/base/deployment.yaml", 16),
    }
    assert base == shown(from_prod, "deploy/base")
    assert {f for f in _findings(".", cwd=charts) if f[1].startswith("deploy/base/")} == from_prod
    assert _findings("deploy/base/service.yaml", cwd=charts) == set()
    # A patch shapes the overlay's objects: the overlay's whole build (where its privileged
    # container comes from), as a scan of the overlay's folder reports it.
    prod = "deploy/overlays/prod"
    patched = _findings(f"{prod}/replicas.yaml", cwd=charts)
    assert patched == _findings(prod, cwd=charts)
    assert {rule for rule, _, _ in patched} >= {"DS201", "DS214", "DS502"}
    # A resource the overlay lists itself: only its objects (a NetworkPolicy, no finding).
    assert _findings(f"{prod}/networkpolicy.yaml", cwd=charts) == set()
    # A hook passing a template and a patch: each render judged by its own file.
    from_top = {(rule, os.path.normpath(f"{prod}/{f}"), ln) for rule, f, ln in patched}
    both = _findings("shop/templates/service.yaml", f"{prod}/replicas.yaml", cwd=charts)
    assert both == SERVICE | from_top
