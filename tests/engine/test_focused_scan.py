"""A path scanned alone inside a repository is judged as the repository deploys it: through
the kustomizations elsewhere in it that build the path, reporting only what the path wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine.report import Report
from deploysafe.engine.scan import RenderOptions, scan
from deploysafe.inputs.render import kustomize_available
from deploysafe.model import ScanError
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD, invoke, write_tree

SHARED = paths.FIXTURES / "render" / "shared"

needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(SHARED, root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def run(*targets: Path, root: Path) -> Report:
    return scan(list(targets), Config(), root=root, render=RenderOptions(), jobs=1)


def found(report: Report) -> list[tuple[str, str, int | None, tuple[str, ...]]]:
    return sorted((f.rule_id, f.file, f.line, f.renders) for f in report.findings)


UNUSED = ScanError(
    "unused/kustomization.yaml",
    2,
    "Kustomize Component used by no kustomization: it only applies inside another"
    " kustomization's `components:`, so it is not built and its patches are not checked"
    " (its resource files are scanned as plain manifests); list it in an overlay's"
    " `components:`, or add `unused/` to `exclude` in deploysafe.yaml",
    "render",
)


@needs_kustomize
def test_a_components_file_alone_is_judged_through_the_overlay_that_uses_it(repo: Path) -> None:
    folder = repo / "components" / "debug"
    report = run(folder / "host-network.yaml", root=folder)
    assert report.errors == ()
    # As from the top: the overlay's build, only what this file wrote.
    assert found(report) == [("DS202", "host-network.yaml", 8, ("kustomize ../../overlays/prod",))]
    top = run(repo, root=repo)
    assert [f for f in found(top) if f[1] == "components/debug/host-network.yaml"] == [
        ("DS202", "components/debug/host-network.yaml", 8, ("kustomize overlays/prod",))
    ]


@needs_kustomize
def test_a_folder_of_components_knows_which_are_used(repo: Path) -> None:
    report = run(repo / "components", root=repo / "components")
    # Only the Component no kustomization lists is an error; the other is built by prod.
    assert report.errors == (UNUSED,)
    assert found(report) == [
        ("DS202", "debug/host-network.yaml", 8, ("kustomize ../overlays/prod",))
    ]


@needs_kustomize
def test_a_base_file_alone_is_built_through_its_overlays(repo: Path) -> None:
    folder = repo / "base"
    report = run(folder / "deployment.yaml", root=folder)
    assert report.errors == ()
    # What the top reports for the file, through the same overlays (named from base/),
    # not the base built on its own; nothing in other files.
    top = run(repo, root=repo)
    expected = sorted(
        ("deployment.yaml", f.rule_id, f.line, tuple(r.replace(" ", " ../") for r in f.renders))
        for f in top.findings
        if f.file == "base/deployment.yaml"
    )
    assert len(expected) == 9  # DS599 (readOnlyRootFilesystem) among them
    assert {r for e in expected for r in e[3]} == {
        "kustomize ../overlays/prod",
        "kustomize ../overlays/staging",
    }
    assert sorted((f.file, f.rule_id, f.line, f.renders) for f in report.findings) == expected


PIPELINE = """\
stages: [test, deploy]
unit:
  stage: test
  script: [pytest]
  allow_failure: true
include:
  - local: ci/deploy.yml
"""
INCLUDED = """\
deploy2:
  stage: deploy
  needs: []
  script:
    - helm upgrade --install shop chart/ --set token="$KUBE_TOKEN"
    - echo "$CI_MERGE_REQUEST_TITLE" > x; eval "$CI_COMMIT_MESSAGE"
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
"""


def test_a_folder_the_pipeline_does_not_reach_gains_nothing_from_any_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `../ci/deploy.yml`, shown from the scanned `docs/`, is outside it however the working
    # folder is named: from one named `ci`, `os.path.relpath` resolved it back inside.
    root = tmp_path / "repo"
    (root / "ci").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / ".gitlab-ci.yml").write_text(PIPELINE)
    (root / "ci" / "deploy.yml").write_text(INCLUDED)
    (root / "docs" / "notes.yaml").write_text("a: 1\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for cwd in (tmp_path, tmp_path / "work" / "ci"):
        cwd.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(cwd)
        assert run(root / "docs", root=root / "docs").findings == ()


def test_a_file_the_gitlab_pipeline_includes_is_judged_through_it(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "ci").mkdir(parents=True)
    (root / ".gitlab-ci.yml").write_text(PIPELINE)
    (root / "ci" / "deploy.yml").write_text(INCLUDED)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    top = run(root, root=root)
    from_top = sorted((f.rule_id, f.file, f.line) for f in top.findings if f.file.startswith("ci/"))
    assert from_top == [
        ("DS120", "ci/deploy.yml", 1),
        ("DS121", "ci/deploy.yml", 8),
        ("DS602", "ci/deploy.yml", 1),
    ]
    # The folder or the file alone: the same findings, named from the scan root; none in
    # the including file, which was not scanned.
    alone = [("DS120", "deploy.yml", 1), ("DS121", "deploy.yml", 8), ("DS602", "deploy.yml", 1)]
    for target in (root / "ci", root / "ci" / "deploy.yml"):
        report = run(target, root=root / "ci")
        assert sorted((f.rule_id, f.file, f.line) for f in report.findings) == alone
        assert report.errors == ()
    # A folder the pipeline does not reach gains nothing from it.
    (root / "docs").mkdir()
    (root / "docs" / "notes.yaml").write_text("a: 1\n")
    assert run(root / "docs", root=root / "docs").findings == ()


POLICY = """\
exclude: [app/generated]
exceptions:
  - rule: DS201
    file: app/legacy/*
    reason: the legacy Pod is privileged until its rewrite
"""


def _cli(*args: str, cwd: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """Findings (rule, file) and skipped paths of `deploysafe scan ARGS` run in `cwd`."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = invoke("scan", *args, "--format", "json", "-j", "1", "--no-render")
    finally:
        os.chdir(before)
    doc = json.loads(result.stdout)
    findings = {(f["rule_id"], f["file"]) for f in doc["findings"] if not f.get("suppressed")}
    return findings, sorted(s["file"] for s in doc["skipped_files"])


def test_the_policy_file_above_the_scan_root_applies_with_its_own_paths(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "repo",
        {
            "deploysafe.yaml": POLICY,
            "app/web.yaml": PRIVILEGED_POD,
            "app/legacy/pod.yaml": PRIVILEGED_POD,
            "app/generated/pod.yaml": PRIVILEGED_POD,
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    privileged = {"DS201"}
    from_top, skipped_top = _cli(".", cwd=root)
    assert {f for r, f in from_top if r in privileged} == {"app/web.yaml"}
    assert skipped_top == ["app/generated/"]
    # CI scans the top, a hook passes the changed files: one policy, one verdict, paths
    # named from the scan root (app/), globs from the policy file's folder.
    hook, _ = _cli("app/web.yaml", "app/legacy/pod.yaml", cwd=root)
    assert {f for r, f in hook if r in privileged} == {"web.yaml"}
    assert not {f for r, f in _cli("app/legacy/pod.yaml", cwd=root)[0] if r in privileged}
    _, skipped_app = _cli("app", cwd=root)
    assert skipped_app == ["generated/"]
    # A folder the policy excludes, scanned by name, is a project of its own (examples,
    # fixtures): the policy above it does not apply.
    generated, skipped_generated = _cli("app/generated", cwd=root)
    assert {f for r, f in generated if r in privileged} == {"pod.yaml"}
    assert skipped_generated == []
    # A policy file nearer the scan root wins.
    (root / "app" / "deploysafe.yaml").write_text("exclude: [legacy]\n")
    nearer, skipped_near = _cli("app", cwd=root)
    assert {f for r, f in nearer if r in privileged} == {"web.yaml", "generated/pod.yaml"}
    assert skipped_near == ["legacy/"]
