"""Findings in a kustomize build are fixed with a strategic-merge patch in the overlay that
was built (listed in its `patches:`), never in a base other overlays share; `--edit-base`
edits the base. A re-scan of the rebuilt overlay no longer reports the fixed finding, and
fixing again changes nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS_AND_INPUT, EXIT_USAGE
from deploysafe.config import Config
from deploysafe.engine import RenderOptions, scan
from deploysafe.fix import kustomize
from tests.support.scantools import invoke, write_tree

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="kubectl (kustomize) not on PATH",
)

BASE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.0
        securityContext:
          privileged: true
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: tool
  namespace: shop
spec:
  containers:
  - name: tool
    image: registry.example/tool:1.0
    securityContext:
      privileged: true
"""

PROD = "# the production overlay\nnamePrefix: prod-\nresources:\n- ../../base\n"
DEV = "resources:\n- ../../base\n"

PATCH = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: web
        securityContext:
          privileged: null
"""


def _repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tree(
        tmp_path,
        {
            "base/deploy.yaml": BASE,
            "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
            "overlays/prod/kustomization.yaml": PROD,
            "overlays/dev/kustomization.yaml": DEV,
        },
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _rules(folder: Path) -> set[str]:
    """The rules a scan of the built overlay reports."""
    report = scan([folder], Config(), root=folder, render=RenderOptions())
    return {f.rule_id for f in report.findings}


def test_the_built_overlay_gets_a_patch_and_the_shared_base_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201", "overlays/prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (root / "base" / "deploy.yaml").read_text() == BASE
    assert (root / "overlays" / "dev" / "kustomization.yaml").read_text() == DEV
    assert sorted(p.name for p in (root / "overlays" / "dev").iterdir()) == ["kustomization.yaml"]
    assert (root / "overlays/prod/kustomization.yaml").read_text() == PROD + (
        "patches:\n- path: deploysafe-fix-deployment-web.yaml\n"
    )
    assert (root / "overlays/prod/deploysafe-fix-deployment-web.yaml").read_text() == PATCH
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 1 finding(s) in 2 file(s); 0 remain",
        "fixed:",
        "  base/deploy.yaml:17  DS201  remove securityContext.privileged (unsafe)",
    ]
    assert "DS201" not in _rules(root / "overlays" / "prod")
    again = invoke("fix", "--unsafe-fixes", "--select", "DS201", "overlays/prod")
    assert again.exit_code == EXIT_CLEAN
    assert again.stdout.startswith("deploysafe fix: fixed 0 finding(s) in 0 file(s); 0 remain")
    assert (root / "overlays/prod/deploysafe-fix-deployment-web.yaml").read_text() == PATCH


def test_a_later_fix_of_the_object_is_merged_into_its_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    invoke("fix", "--unsafe-fixes", "--select", "DS201", "overlays/prod")
    result = invoke("fix", "--unsafe-fixes", "--select", "DS215,DS217", "overlays/prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (root / "overlays/prod/deploysafe-fix-deployment-web.yaml").read_text() == PATCH + (
        "          allowPrivilegeEscalation: false\n"
        "          capabilities:\n"
        "            drop:\n"
        "            - ALL\n"
    )
    assert (root / "overlays/prod/kustomization.yaml").read_text().count("deploysafe-fix") == 1
    assert (root / "base" / "deploy.yaml").read_text() == BASE


def test_edit_base_fixes_the_file_that_wrote_the_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201", "--edit-base", "overlays/prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (root / "base" / "deploy.yaml").read_text() == BASE.replace(
        "        securityContext:\n          privileged: true\n", ""
    )
    assert (root / "overlays/prod/kustomization.yaml").read_text() == PROD
    assert not (root / "overlays/prod/deploysafe-fix-deployment-web.yaml").exists()


def test_scan_fix_takes_edit_base_and_only_with_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    alone = invoke("scan", "--edit-base", "overlays/prod")
    assert alone.exit_code == EXIT_USAGE
    assert "--edit-base goes with --fix" in alone.output
    result = invoke("scan", "--fix", "--unsafe-fixes", "--edit-base", "overlays/prod")
    assert result.exit_code == EXIT_CLEAN  # nothing at or above high remains
    assert "privileged" not in (root / "base" / "deploy.yaml").read_text()


def test_a_list_kustomize_replaces_whole_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    adds = BASE.replace(
        "          privileged: true\n",
        "          capabilities: {add: [NET_BIND_SERVICE, SYS_ADMIN]}\n",
    )
    (root / "base" / "deploy.yaml").write_text(adds)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS217", "overlays/prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (root / "overlays/prod/deploysafe-fix-deployment-web.yaml").read_text() == PATCH.replace(
        "          privileged: null\n",
        "          capabilities:\n            add:\n            - NET_BIND_SERVICE\n"
        "            drop:\n            - ALL\n",
    )
    assert "DS217" not in _rules(root / "overlays" / "prod")
    assert (root / "base" / "deploy.yaml").read_text() == adds


def test_a_base_two_scanned_overlays_build_gets_a_patch_in_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_CLEAN, result.output
    for overlay in ("prod", "dev"):
        assert (
            root / f"overlays/{overlay}/deploysafe-fix-deployment-web.yaml"
        ).read_text() == PATCH
    assert (root / "base" / "deploy.yaml").read_text() == BASE


def test_a_patch_kustomize_cannot_apply_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path, monkeypatch)
    # A name the build has no object of: kustomize refuses the patch.
    monkeypatch.setattr(kustomize, "spelled", lambda doc, key: "elsewhere")
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201", "overlays/prod")
    assert result.exit_code == EXIT_FINDINGS_AND_INPUT, result.output
    assert "the fixed files cannot be scanned (kustomization.yaml:" in result.stdout
    assert "nothing written" in result.stdout
    assert (root / "overlays/prod/kustomization.yaml").read_text() == PROD
    assert [p.name for p in (root / "overlays" / "prod").iterdir()] == ["kustomization.yaml"]


def test_an_overlay_that_moves_the_container_gets_the_fix_on_that_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One finding stands for the base line in both overlays; in dev a sidecar comes first,
    and the fix still lands on the container the base wrote, not on the sidecar."""
    root = _repo(tmp_path, monkeypatch)
    (root / "overlays/dev/sidecar.yaml").write_text(
        "- op: add\n  path: /spec/template/spec/containers/0\n"
        "  value: {name: proxy, image: registry.example/proxy:1.0}\n"
    )
    (root / "overlays/dev/kustomization.yaml").write_text(
        DEV + "patches:\n- path: sidecar.yaml\n  target: {kind: Deployment, name: web}\n"
    )
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert result.exit_code == EXIT_CLEAN, result.output
    for overlay in ("prod", "dev"):
        patch = (root / f"overlays/{overlay}/deploysafe-fix-deployment-web.yaml").read_text()
        assert patch == PATCH, overlay
        assert "DS201" not in _rules(root / "overlays" / overlay)


def test_fixes_that_break_one_overlay_leave_the_other_folders_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed per folder: the overlay whose patch kustomize refuses is written as it
    was, with the reason; a plain manifest elsewhere in the tree is still fixed."""
    root = _repo(tmp_path, monkeypatch)
    (root / "plain").mkdir()
    (root / "plain" / "pod.yaml").write_text(POD)
    monkeypatch.setattr(kustomize, "spelled", lambda doc, key: "elsewhere")
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201")
    assert "privileged" not in (root / "plain" / "pod.yaml").read_text()
    assert (root / "overlays/prod/kustomization.yaml").read_text() == PROD
    assert sorted(p.name for p in (root / "overlays" / "prod").iterdir()) == ["kustomization.yaml"]
    assert "the fixed files of overlays/prod cannot be scanned" in result.stdout
    assert result.exit_code == EXIT_FINDINGS_AND_INPUT, result.output
