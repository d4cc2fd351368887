"""DS509's fix: a default-deny NetworkPolicy file for a namespace that has none, written
next to the namespace's manifests (and added to the kustomization there), never over an
existing file, unsafe (it blocks the namespace's traffic until allow policies exist)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_FINDINGS_AND_INPUT
from deploysafe.inputs.render import helm_available
from tests.support.scantools import invoke, scan_tree, write_tree


def deployment(name: str, namespace: str | None = "shop") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}{ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - {{name: {name}, image: registry.example/{name}:1.0}}
"""


def default_deny(namespace: str | None = "shop") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"""\
# Written by `deploysafe fix` (DS509): every pod here is isolated, so no connection reaches
# it or leaves it (DNS included) until a NetworkPolicy allows it. Add the allow policies
# your workloads need before you apply this.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny{ns}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
"""


TREE = {
    "apps/shop/web.yaml": deployment("web"),
    "apps/shop/api.yaml": deployment("api"),
    "apps/misc/worker.yaml": deployment("worker"),
    "apps/other/db.yaml": deployment("db", "data"),
}
ARGS = ("fix", "--select", "DS509")


def ds509(root: Path) -> list[str]:
    return sorted(f"{f.file}:{f.line}" for f in scan_tree(root).findings if f.rule_id == "DS509")


def test_a_namespace_without_policy_gets_a_default_deny_file(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == EXIT_CLEAN, result.output
    # Next to most of the namespace's manifests: two of shop's three are in apps/shop.
    assert (tmp_path / "apps/shop/networkpolicy-default-deny.yaml").read_text() == default_deny()
    assert (tmp_path / "apps/other/networkpolicy-default-deny.yaml").read_text() == (
        default_deny("data")
    )
    assert not (tmp_path / "apps/misc/networkpolicy-default-deny.yaml").exists()
    assert ds509(tmp_path) == []
    assert "fixed 4 finding(s) in 2 file(s)" in result.output
    assert (
        "write apps/shop/networkpolicy-default-deny.yaml, a default-deny NetworkPolicy for "
        "namespace 'shop' (unsafe)" in result.output
    )
    # Its own output gives the fix nothing more to do.
    again = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert "fixed 0 finding(s) in 0 file(s)" in again.output


def test_it_is_unsafe_and_diff_shows_the_new_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/web.yaml": deployment("web")})
    result = invoke(*ARGS, str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS
    assert not (tmp_path / "shop/networkpolicy-default-deny.yaml").exists()
    assert "unsafe fix (write shop/networkpolicy-default-deny.yaml" in result.output
    assert "use --unsafe-fixes" in result.output
    diff = invoke(*ARGS, "--unsafe-fixes", "--diff", str(tmp_path))
    new = tmp_path / "shop/networkpolicy-default-deny.yaml"
    assert not new.exists()
    lines = diff.stdout.splitlines()
    assert lines[:3] == ["--- /dev/null", f"+++ {new}", "@@ -0,0 +1,11 @@"]
    assert [ln[1:] for ln in lines[3:]] == default_deny().splitlines()


def test_an_existing_file_of_that_name_is_never_overwritten(tmp_path: Path) -> None:
    mine = "# mine\n"
    write_tree(
        tmp_path,
        {"shop/web.yaml": deployment("web"), "shop/networkpolicy-default-deny.yaml": mine},
    )
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    # The finding remains, and a file the fix would not write is reported as such.
    assert result.exit_code == EXIT_FINDINGS_AND_INPUT
    assert (tmp_path / "shop/networkpolicy-default-deny.yaml").read_text() == mine
    assert "shop/networkpolicy-default-deny.yaml exists: not overwritten" in result.output


def test_a_folder_installed_without_a_namespace_gets_a_policy_without_one(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/web.yaml": deployment("web", None)})
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (tmp_path / "app/networkpolicy-default-deny.yaml").read_text() == default_deny(None)
    assert ds509(tmp_path) == []


def test_a_namespace_with_policies_that_miss_a_workload_is_left_to_a_person(
    tmp_path: Path,
) -> None:
    allow = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
"""
    write_tree(
        tmp_path, {"shop/web.yaml": deployment("web"), "shop/api.yaml": deployment("api"),
                   "shop/policy.yaml": allow},
    )  # fmt: skip
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS
    assert sorted(p.name for p in (tmp_path / "shop").iterdir()) == [
        "api.yaml",
        "policy.yaml",
        "web.yaml",
    ]
    assert "the namespace's policies miss this workload: extend one that selects it" in (
        result.output
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not on PATH")
def test_a_kustomize_overlay_gets_the_file_in_its_resources(tmp_path: Path) -> None:
    overlay = "namespace: shop-prod\nresources:\n- ../../base  # the shared base\n"
    write_tree(
        tmp_path,
        {
            "base/deploy.yaml": deployment("web"),
            "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
            "overlays/prod/kustomization.yaml": overlay,
        },
    )
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (tmp_path / "overlays/prod/networkpolicy-default-deny.yaml").read_text() == (
        default_deny("shop-prod")
    )
    assert (tmp_path / "overlays/prod/kustomization.yaml").read_text() == (
        "namespace: shop-prod\nresources:\n- ../../base  # the shared base\n"
        "- networkpolicy-default-deny.yaml\n"
    )
    assert sorted(p.name for p in (tmp_path / "base").iterdir()) == [
        "deploy.yaml",
        "kustomization.yaml",
    ]


def test_the_default_namespace_is_left_to_a_person(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/web.yaml": deployment("web", "default")})
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["web.yaml"]
    assert "namespace 'default': give the workloads a namespace of their own (DS501)" in (
        result.output
    )


@pytest.mark.skipif(helm_available() is None, reason="neither helm nor helm-python-sdk")
def test_a_chart_s_workloads_are_left_to_the_chart_with_the_reason(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
            "chart/values.yaml": "replicas: 1\n",
            "chart/templates/web.yaml": deployment("web"),
        },
    )
    result = invoke(*ARGS, "--unsafe-fixes", str(tmp_path))
    assert "workloads of a Helm chart: add a NetworkPolicy template to the chart" in (result.output)
    assert sorted(p.name for p in (tmp_path / "chart" / "templates").iterdir()) == ["web.yaml"]
