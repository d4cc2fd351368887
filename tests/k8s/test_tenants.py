"""Tenants: the model in deploysafe.yaml, the check, and the DS401-DS403 scan rules."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents
from deploysafe.errors import ConfigError
from deploysafe.k8s.tenancy import (
    ClusterKind,
    Tenant,
    check_tenant,
    get_tenant,
    select,
)
from deploysafe.model import Level
from tests.support.policy import load
from tests.support.ruletools import docs

CONFIG = """\
tenants:
  shop:
    namespaces: [shop, "shop-*"]
    cluster_kinds: [Namespace, cert-manager.io/ClusterIssuer]
  ops:
    namespaces: [monitoring]
    pod_security: baseline
    quota: {pods: 10, requests.cpu: "2"}
    limits: {default: {memory: 1Gi}}
"""

SHOP = Tenant(
    "shop",
    ("shop", "shop-*"),
    (ClusterKind("Namespace"), ClusterKind("ClusterIssuer", "cert-manager.io")),
)

OBJECTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: ok, namespace: shop-staging}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: away, namespace: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: nons}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop-eu}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt}
---
apiVersion: other.example/v1
kind: ClusterIssuer
metadata: {name: fake}
---
apiVersion: v1
kind: LimitRange
metadata: {name: mine, namespace: shop}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "deploysafe.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_tenants(tmp_path: Path) -> None:
    tenants = load(write(tmp_path, CONFIG)).tenants
    assert tenants["shop"] == SHOP
    ops = tenants["ops"]
    assert ops.pod_security is Level.BASELINE
    assert ops.quota == {"pods": "10", "requests.cpu": "2"}
    assert ops.limits == {"default": {"memory": "1Gi"}}
    assert ops.literal_namespaces == ("monitoring",)
    assert SHOP.literal_namespaces == ("shop",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tenants:\n  shop: {}\n", "deploysafe.yaml:2: tenants.shop: a tenant needs `namespaces`"),
        (
            "tenants:\n  shop:\n    namespaces: [shop]\n    kinds: []\n",
            "deploysafe.yaml:4: tenants.shop.kinds: unknown key",
        ),
        (
            "tenants:\n  shop:\n    namespaces: ['*']\n",
            "deploysafe.yaml:3: tenants.shop.namespaces.0: '*' is not a namespace name or a glob",
        ),
        (
            "tenants:\n  shop:\n    namespaces: [Shop]\n",
            "deploysafe.yaml:3: tenants.shop.namespaces.0: 'Shop' is not a namespace name",
        ),
        (
            "tenants:\n  shop:\n    namespaces: [shop]\n    cluster_kinds: [clusterrole]\n",
            "deploysafe.yaml:4: tenants.shop.cluster_kinds.0: 'clusterrole' is not a kind",
        ),
        (
            "tenants:\n  shop:\n    namespaces: [shop]\n    pod_security: privileged\n",
            "deploysafe.yaml:4: tenants.shop.pod_security: expected restricted or baseline",
        ),
        (
            "tenants:\n  Shop_1:\n    namespaces: [shop]\n",
            "deploysafe.yaml:2: tenants.Shop_1: a tenant name is a DNS label",
        ),
        (
            "tenants:\n  shop:\n    namespaces: shop\n",
            "deploysafe.yaml:3: tenants.shop.namespaces: expected a list of strings",
        ),
        (
            "tenants:\n  shop:\n    namespaces: [shop]\n    quota: {pods: [1]}\n",
            "deploysafe.yaml:4: tenants.shop.quota.pods: expected a quantity",
        ),
    ],
)
def test_errors_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    assert str(info.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_unknown_tenant(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, CONFIG))
    with pytest.raises(ConfigError, match=r"unknown tenant 'web' \(ops, shop\)"):
        get_tenant(cfg, "web")


def test_check_tenant_exact() -> None:
    found = [
        (d.kind, d.name, d.locate(v.path)[0], v.message)
        for d in docs(OBJECTS)
        for v in check_tenant(d, SHOP)
    ]
    assert found == [
        (
            "ConfigMap",
            "away",
            7,
            "ConfigMap 'away' is in namespace 'kube-system', outside tenant 'shop''s "
            "namespaces (shop, shop-*)",
        ),
        (
            "ClusterRole",
            "reader",
            14,
            "ClusterRole 'reader' is cluster-scoped and tenant 'shop' may not create ClusterRole "
            "(cluster_kinds: Namespace, cert-manager.io/ClusterIssuer)",
        ),
        (
            "Namespace",
            "billing",
            23,
            "Namespace 'billing' is not one of tenant 'shop''s namespaces (shop, shop-*)",
        ),
        (
            "ClusterIssuer",
            "fake",
            30,
            "ClusterIssuer 'fake' is cluster-scoped and tenant 'shop' may not create "
            "ClusterIssuer (cluster_kinds: Namespace, cert-manager.io/ClusterIssuer)",
        ),
        (
            "LimitRange",
            "mine",
            34,
            "LimitRange 'mine': tenant 'shop' may not set its own LimitRange; the platform "
            "config (`deploysafe platform`) owns it",
        ),
    ]


def test_render_namespace_counts() -> None:
    (doc,) = docs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")

    escaped = list(check_tenant(replace(doc, default_namespace="billing"), SHOP))
    assert [v.message for v in escaped] == [
        "ConfigMap 'c' is in namespace 'billing' (set by the render), outside tenant "
        "'shop''s namespaces (shop, shop-*)"
    ]
    assert list(check_tenant(replace(doc, default_namespace="shop"), SHOP)) == []


def test_rules_only_with_a_tenant() -> None:
    objects = docs(OBJECTS)
    plain = check_documents(objects, Config())
    assert [f.rule_id for f in plain.findings if f.rule_id.startswith("DS4")] == []
    chosen = check_documents(objects, select(Config(), SHOP))
    assert [(f.rule_id, f.line) for f in chosen.findings if f.rule_id.startswith("DS4")] == [
        ("DS401", 7),
        ("DS402", 14),
        ("DS401", 23),
        ("DS402", 30),
        ("DS403", 34),
    ]
