"""Findings in rendered output (a kustomize build here) are not edited yet: each is reported
as needing a manual fix at the exact line of the file that wrote it, and nothing is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_FINDINGS
from tests.support.scantools import invoke, write_tree

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


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not on PATH")
def test_a_finding_in_a_kustomize_build_needs_a_manual_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(
        tmp_path,
        {
            "base/deploy.yaml": BASE,
            "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
            "overlays/prod/kustomization.yaml": "resources:\n- ../../base\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "--unsafe-fixes")
    assert result.exit_code == EXIT_FINDINGS
    assert (tmp_path / "base" / "deploy.yaml").read_text() == BASE
    assert result.stdout.splitlines()[:3] == [
        "deploysafe fix: fixed 0 finding(s) in 0 file(s); 1 remain",
        "remain (not fixed automatically):",
        "  base/deploy.yaml:17  DS201  found in rendered output (kustomize overlays/prod): "
        "needs a manual fix at base/deploy.yaml:17",
    ]
