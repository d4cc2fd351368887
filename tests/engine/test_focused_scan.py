"""A path scanned alone inside a repository is judged as the repository deploys it: through
the kustomizations elsewhere in it that build the path, reporting only what the path wrote."""

from __future__ import annotations

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
    assert len(expected) == 8
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
