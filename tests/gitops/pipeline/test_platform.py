"""`deploysafe platform`: the cluster side for Argo CD and Flux, and a scan of everything it
generates (clean at the lowest severity)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_USAGE
from deploysafe.cli.main import main
from deploysafe.config import Config
from deploysafe.engine import RenderOptions, scan
from deploysafe.model import Severity

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
CONFIG = f"""\
pss_version: v1.33
tenants:
  shop:
    namespaces: [shop, shop-staging, "shop-pr-*"]
    cluster_kinds: [Namespace, cert-manager.io/ClusterIssuer]
    quota: {{requests.cpu: "8", pods: "100"}}
  ops:
    namespaces: [monitoring]
    pod_security: baseline
environments:
  prod:
    tenant: shop
    render: {{helm: {{chart: chart, namespace: shop}}}}
    target: {{repo: "git@github.com:acme/env.git", branch: main, path: clusters/prod/shop}}
    sign: {{gpg_key: "{FPR}"}}
  staging:
    tenant: shop
    render: {{kustomize: overlays/staging, namespace: shop-staging}}
    target: {{repo: "https://git.example.com/acme/env.git", path: clusters/staging/shop}}
  metrics:
    tenant: ops
    render: {{manifests: k8s}}
    target: {{repo: "https://git.example.com/acme/env.git", path: clusters/prod/ops}}
    sign: {{ssh_key: keys/release}}
"""


def generate(tmp_path: Path, *args: str) -> tuple[Path, str]:
    (tmp_path / "deploysafe.yaml").write_text(CONFIG)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["platform", "--source", str(tmp_path), "--out", str(out), *args]
    )
    assert result.exit_code == EXIT_CLEAN, result.output
    return out, result.stderr


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))


@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_everything_generated_passes_the_scan(tmp_path: Path, engine: str) -> None:
    out, _ = generate(tmp_path, "--engine", engine)
    report = scan([out], Config(fail_on=Severity.LOW), root=out, render=RenderOptions())
    assert report.errors == ()
    assert [(f.rule_id, f.file, f.message) for f in report.findings] == []
    # Every object is checked; Flux's Kustomization configures a tool and is skipped.
    assert report.documents == (32 if engine == "argocd" else 36)


def test_argocd(tmp_path: Path) -> None:
    out, notes = generate(tmp_path)
    assert files(out) == [
        "argocd-default-project.yaml",
        "metrics/argocd.yaml",
        "metrics/namespaces.yaml",
        "metrics/network-policies.yaml",
        "metrics/quotas.yaml",
        "prod/argocd.yaml",
        "prod/namespaces.yaml",
        "prod/network-policies.yaml",
        "prod/quotas.yaml",
        "staging/argocd.yaml",
        "staging/namespaces.yaml",
        "staging/network-policies.yaml",
        "staging/quotas.yaml",
    ]
    project, app = load(out / "prod" / "argocd.yaml")
    assert project["metadata"]["name"] == "shop-prod"
    assert project["spec"] == {
        "description": "tenant shop, environment prod (deploysafe)",
        "sourceRepos": ["git@github.com:acme/env.git"],
        "destinations": [
            {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            {"server": "https://kubernetes.default.svc", "namespace": "shop-staging"},
            {"server": "https://kubernetes.default.svc", "namespace": "shop-pr-*"},
        ],
        "clusterResourceWhitelist": [
            {"group": "", "kind": "Namespace"},
            {"group": "cert-manager.io", "kind": "ClusterIssuer"},
        ],
        "namespaceResourceBlacklist": [
            {"group": "", "kind": "ResourceQuota"},
            {"group": "", "kind": "LimitRange"},
        ],
        "orphanedResources": {"warn": True},
        "signatureKeys": [{"keyID": "89ABCDEF01234567"}],
    }
    assert app["spec"] == {
        "project": "shop-prod",
        "source": {
            "repoURL": "git@github.com:acme/env.git",
            "targetRevision": "main",
            "path": "clusters/prod/shop",
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["PruneLast=true", "FailOnSharedResource=true"],
        },
    }
    (ops_project, _) = load(out / "metrics" / "argocd.yaml")
    assert ops_project["spec"]["clusterResourceWhitelist"] == []
    assert "signatureKeys" not in ops_project["spec"]
    (default,) = load(out / "argocd-default-project.yaml")
    assert default["spec"]["sourceRepos"] == [] and default["spec"]["destinations"] == []
    assert default["spec"]["clusterResourceBlacklist"] == [{"group": "*", "kind": "*"}]
    glob = (
        "tenant shop's namespace globs (shop-pr-*) cannot be created here: create those "
        "namespaces with the same labels and policies"
    )
    assert [n for n in notes.splitlines() if n.startswith("note: ")] == [
        f"note: prod: {glob}",
        f"note: prod: import the release key into Argo CD's GnuPG keyring (argocd gpg add "
        f"--from <public key of {FPR}>)",
        f"note: staging: {glob}",
        "note: staging: releases are not signed; configure `sign` so Argo CD can refuse commits "
        "the gate did not make",
        "note: metrics: releases are SSH-signed; Argo CD verifies GnuPG signatures only, so it "
        "does not check them (sign with gpg_key to have it refuse unsigned commits)",
    ]


def test_namespaces_network_and_quotas(tmp_path: Path) -> None:
    out, _ = generate(tmp_path)
    shop, staging = load(out / "prod" / "namespaces.yaml")
    assert [shop["metadata"]["name"], staging["metadata"]["name"]] == ["shop", "shop-staging"]
    assert shop["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "deploysafe",
        "deploysafe.io/tenant": "shop",
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.33",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "v1.33",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.33",
    }
    (monitoring,) = load(out / "metrics" / "namespaces.yaml")
    assert monitoring["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    deny, dns = load(out / "prod" / "network-policies.yaml")[:2]
    assert (deny["metadata"]["name"], deny["metadata"]["namespace"]) == ("default-deny", "shop")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert dns["spec"]["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    quota, limits = load(out / "prod" / "quotas.yaml")[:2]
    assert quota["spec"] == {"hard": {"requests.cpu": "8", "pods": "100"}}
    assert limits["spec"] == {
        "limits": [
            {
                "type": "Container",
                "default": {"memory": "512Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
            }
        ]
    }
    (ops_quota, _) = load(out / "metrics" / "quotas.yaml")
    assert ops_quota["spec"]["hard"] == {
        "requests.cpu": "4",
        "requests.memory": "8Gi",
        "limits.memory": "16Gi",
        "pods": "50",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def test_flux(tmp_path: Path) -> None:
    out, notes = generate(tmp_path, "--engine", "flux", "--env", "prod")
    assert files(out) == [
        "prod/flux.yaml",
        "prod/namespaces.yaml",
        "prod/network-policies.yaml",
        "prod/quotas.yaml",
    ]
    sa, bind_shop, bind_staging, repo, kustomization = load(out / "prod" / "flux.yaml")
    assert sa == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "shop-deployer",
            "namespace": "shop",
            "labels": {
                "app.kubernetes.io/managed-by": "deploysafe",
                "deploysafe.io/tenant": "shop",
            },
        },
        "automountServiceAccountToken": False,
    }
    assert [bind_shop["metadata"]["namespace"], bind_staging["metadata"]["namespace"]] == [
        "shop",
        "shop-staging",
    ]
    assert bind_shop["roleRef"]["name"] == "admin"
    assert repo["spec"] == {
        "interval": "1m",
        "url": "git@github.com:acme/env.git",
        "ref": {"branch": "main"},
        "secretRef": {"name": "shop-prod-git-auth"},
        "verify": {"mode": "HEAD", "secretRef": {"name": "shop-prod-signing-keys"}},
    }
    assert kustomization["spec"] == {
        "interval": "10m",
        "sourceRef": {"kind": "GitRepository", "name": "shop-prod"},
        "path": "./clusters/prod/shop",
        "prune": True,
        "wait": True,
        "timeout": "5m",
        "serviceAccountName": "shop-deployer",
        "targetNamespace": "shop",
    }
    assert "--no-cross-namespace-refs=true" in notes


def test_stdout_and_errors(tmp_path: Path) -> None:
    (tmp_path / "deploysafe.yaml").write_text(CONFIG)
    result = CliRunner().invoke(main, ["platform", "--source", str(tmp_path), "--env", "staging"])
    assert result.exit_code == EXIT_CLEAN
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout) if d]
    assert kinds == [
        "Namespace",
        "Namespace",
        "NetworkPolicy",
        "NetworkPolicy",
        "NetworkPolicy",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "ResourceQuota",
        "LimitRange",
        "AppProject",
        "Application",
        "AppProject",
    ]
    missing = CliRunner().invoke(main, ["platform", "--source", str(tmp_path), "--env", "qa"])
    assert missing.exit_code == EXIT_USAGE
    assert "unknown environment 'qa' (metrics, prod, staging)" in missing.output
