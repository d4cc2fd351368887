"""`deploysafe scan --tenant NAME` and `--env ENV`: tenant escapes as practice 4 findings,
long before a deploy."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from deploysafe.cli.main import main
from tests.gitops.pipeline.conftest import App

ESCAPE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: payments
data: {mode: prod}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: shop, namespace: shop}
"""


def scan(*args: str) -> tuple[int, list[tuple[str, str, int, str]]]:
    result = CliRunner().invoke(main, ["scan", *args, "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code == EXIT_USAGE:
        return result.exit_code, [("", "", 0, result.output)]
    doc = json.loads(result.stdout)
    found = [
        (f["rule_id"], f["file"], f["line"], f["message"])
        for f in doc["findings"]
        if f["rule_id"].startswith("DS4")
    ]
    return result.exit_code, found


def test_scan_tenant(tmp_path: Path) -> None:
    (tmp_path / "deploysafe.yaml").write_text(
        "tenants:\n  shop: {namespaces: [shop]}\n  pay: {namespaces: [payments], "
        "cluster_kinds: [ClusterRoleBinding]}\n"
    )
    (tmp_path / "app.yaml").write_text(ESCAPE)
    code, found = scan(str(tmp_path), "--tenant", "shop")
    assert code == EXIT_FINDINGS
    assert found == [
        (
            "DS401",
            "app.yaml",
            5,
            "ConfigMap 'settings' is in namespace 'payments', outside tenant 'shop''s "
            "namespaces (shop)",
        ),
        (
            "DS402",
            "app.yaml",
            9,
            "ClusterRoleBinding 'shop-view' is cluster-scoped and tenant 'shop' may not create "
            "ClusterRoleBinding (cluster_kinds: none)",
        ),
    ]
    # The same files are inside tenant pay; without a tenant no DS4xx rule runs.
    assert scan(str(tmp_path), "--tenant", "pay")[1] == []
    assert scan(str(tmp_path))[1] == []
    code, (error,) = scan(str(tmp_path), "--tenant", "web")
    assert code == EXIT_USAGE
    assert "unknown tenant 'web' (pay, shop)" in error[3]


def test_scan_env_uses_its_namespace_and_values(app: App) -> None:
    """A chart without namespaces, scanned as prod releases it."""
    code, found = scan(str(app.root), "--env", "prod")
    assert (code, found) == (EXIT_CLEAN, [])
    app.write(
        "chart/templates/escape.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n",
    )
    code, found = scan(str(app.root), "--env", "prod")
    assert code == EXIT_FINDINGS
    assert found == [
        (
            "DS401",
            "chart/templates/escape.yaml",
            5,
            "ConfigMap 'x' is in namespace 'kube-system', outside tenant 'shop''s namespaces "
            "(shop, shop-staging)",
        )
    ]
    # --env sets the render's namespace: a namespace outside the tenant is an escape too.
    code, found = scan(str(app.root), "--env", "prod", "--namespace", "billing")
    assert sorted(msg.split(", outside")[0] for _, _, _, msg in found) == [
        "ConfigMap 'release-web' is in namespace 'billing' (set by the render)",
        "ConfigMap 'x' is in namespace 'kube-system'",
        "Deployment 'release-web' is in namespace 'billing' (set by the render)",
        "NetworkPolicy 'release-web' is in namespace 'billing' (set by the render)",
        "Service 'release-web' is in namespace 'billing' (set by the render)",
        "ServiceAccount 'release-web' is in namespace 'billing' (set by the render)",
    ]
    code, (error,) = scan(str(app.root), "--env", "prod", "--tenant", "ops")
    assert code == EXIT_USAGE
    assert "--tenant ops: environment prod is tenant shop's" in error[3]
