"""`deploysafe webhook manifests`: what it emits, that the routing by namespace label gives
each namespace exactly one call per mode, and that the output passes deploysafe's scan."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from deploysafe.cli.main import main
from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.manifests import InstallOptions, build
from deploysafe.cluster.webhook.policy import LEVELS, MODES, Modes, WebhookPolicy, from_config
from deploysafe.config import Config
from deploysafe.k8s.pods import _TEMPLATE_PATHS
from deploysafe.model import Severity
from tests.support.webhook import make_pki


def run(*args: str, cwd: Path) -> Result:
    import os

    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def docs_of(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture
def emitted(tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "deploysafe.yaml").write_text(
        "webhook:\n  namespace: policy\n  audit: info\n", encoding="utf-8"
    )
    result = run("webhook", "manifests", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    return docs_of(result.stdout)


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def test_objects_emitted(emitted: list[dict[str, Any]]) -> None:
    assert [(d["kind"], d["metadata"].get("namespace")) for d in emitted] == [
        ("Namespace", None),
        ("ServiceAccount", "policy"),
        ("ConfigMap", "policy"),
        ("Deployment", "policy"),
        ("PodDisruptionBudget", "policy"),
        ("Service", "policy"),
        ("NetworkPolicy", "policy"),
        ("Issuer", "policy"),
        ("Certificate", "policy"),
        ("ValidatingWebhookConfiguration", None),
    ]


def test_deployment_is_hardened_and_replicated(emitted: list[dict[str, Any]]) -> None:
    dep = by_kind(emitted, "Deployment")
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (c,) = pod["containers"]
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert c["resources"] == {
        "requests": {"cpu": "200m", "memory": "128Mi"},
        "limits": {"memory": "320Mi"},
    }
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert c["args"] == [
        "serve",
        "--cert=/tls/tls.crt",
        "--key=/tls/tls.key",
        "--config=/etc/deploysafe/deploysafe.yaml",
        "--port=8443",
    ]
    assert by_kind(emitted, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    netpol = by_kind(emitted, "NetworkPolicy")["spec"]
    assert netpol["policyTypes"] == ["Ingress", "Egress"]
    assert netpol["egress"] == []
    assert netpol["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8443}]}]
    cert = by_kind(emitted, "Certificate")["spec"]
    assert cert["dnsNames"] == [
        "deploysafe-webhook.policy.svc",
        "deploysafe-webhook.policy.svc.cluster.local",
    ]
    assert cert["secretName"] == "deploysafe-webhook-tls"
    config = by_kind(emitted, "ConfigMap")["data"]["deploysafe.yaml"]
    assert config == "webhook:\n  namespace: policy\n  audit: info\n"


def test_webhook_entries_fail_closed(emitted: list[dict[str, Any]]) -> None:
    vwc = by_kind(emitted, "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "policy/deploysafe-webhook"
    }
    names = [w["name"] for w in vwc["webhooks"]]
    expected = []
    for mode in MODES:
        expected += [f"{mode}-{lv}.deploysafe.io" for lv in LEVELS if lv != "off"]
        expected += [f"{mode}-default.deploysafe.io", f"{mode}-invalid.deploysafe.io"]
    assert names == [*expected, "cluster.deploysafe.io"]
    for w in vwc["webhooks"]:
        assert w["failurePolicy"] == "Fail"
        assert w["sideEffects"] == "None"
        assert w["timeoutSeconds"] == 5
        assert w["admissionReviewVersions"] == ["v1"]
        assert w["clientConfig"]["service"]["name"] == "deploysafe-webhook"
        assert "caBundle" not in w["clientConfig"]
        if w["name"] != "cluster.deploysafe.io":
            assert w["namespaceSelector"]["matchExpressions"][0] == {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "policy"],
            }


def test_rules_cover_every_pod_carrying_kind_and_more(emitted: list[dict[str, Any]]) -> None:
    vwc = by_kind(emitted, "ValidatingWebhookConfiguration")
    namespaced = {
        (g, r)
        for rule in vwc["webhooks"][0]["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    plural = {
        "Pod": ("", "pods"),
        "PodTemplate": ("", "podtemplates"),
        "ReplicationController": ("", "replicationcontrollers"),
        "ReplicaSet": ("apps", "replicasets"),
        "Deployment": ("apps", "deployments"),
        "StatefulSet": ("apps", "statefulsets"),
        "DaemonSet": ("apps", "daemonsets"),
        "Job": ("batch", "jobs"),
        "CronJob": ("batch", "cronjobs"),
    }
    assert set(plural) == set(_TEMPLATE_PATHS)
    assert set(plural.values()) <= namespaced
    assert {
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "rolebindings"),
        ("", "services"),
        ("", "secrets"),
        ("", "configmaps"),
        ("networking.k8s.io", "networkpolicies"),
        ("", "pods/ephemeralcontainers"),
    } <= namespaced
    cluster = vwc["webhooks"][-1]
    assert cluster["clientConfig"]["service"]["path"] == "/validate"
    assert cluster["rules"][0]["resources"] == ["clusterroles", "clusterrolebindings"]
    assert cluster["rules"][0]["scope"] == "Cluster"
    assert "namespaceSelector" not in cluster


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchExpressions."""
    for e in selector.get("matchExpressions", []):
        key, op, values = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@pytest.mark.parametrize("value", [None, *LEVELS, "strict"])
def test_each_namespace_gets_one_call_per_mode(
    emitted: list[dict[str, Any]], value: str | None
) -> None:
    vwc = by_kind(emitted, "ValidatingWebhookConfiguration")
    section = WebhookPolicy(Modes(Severity.HIGH, Severity.LOW, Severity.INFO), namespace="policy")
    policy = from_config(Config(webhook_section=section))
    for mode in MODES:
        labels = {"kubernetes.io/metadata.name": "shop"}
        if value is not None:
            labels[f"deploysafe.io/{mode}"] = value
        paths = [
            w["clientConfig"]["service"]["path"]
            for w in vwc["webhooks"]
            if "namespaceSelector" in w
            and w["name"].startswith(f"{mode}-")
            and _matches(w["namespaceSelector"], labels)
        ]
        if value == "off":
            assert paths == []
            continue
        expected = {None: "default", "strict": "invalid"}.get(value, value)
        assert paths == [f"/validate/{mode}/{expected}"]
        route = rv.route_for(policy, *paths[0].split("/")[2:])
        chosen = getattr(route.modes, mode)
        if value in (None, "strict"):
            assert route.invalid == (mode if value == "strict" else None)
        else:
            assert chosen is not None and chosen.label == value
    # Exempt namespaces get no call at all.
    for ns in ("kube-system", "policy"):
        labels = {"kubernetes.io/metadata.name": ns}
        assert not [
            w
            for w in vwc["webhooks"]
            if "namespaceSelector" in w and _matches(w["namespaceSelector"], labels)
        ]


def test_default_entry_left_out_when_mode_is_off() -> None:
    policy = WebhookPolicy(from_config(Config()).defaults)  # audit off by default
    vwc = build(policy, InstallOptions(namespace="deploysafe"))[-1]
    names = [w["name"] for w in vwc["webhooks"]]
    assert "audit-default.deploysafe.io" not in names
    assert "audit-high.deploysafe.io" in names  # a label can still switch it on


def test_output_passes_deploysafe_scan(tmp_path: Path, emitted: list[dict[str, Any]]) -> None:
    out = tmp_path / "webhook.yaml"
    result = run("webhook", "manifests", "-o", str(out), cwd=tmp_path)
    assert result.exit_code == 0
    result = run("scan", str(out), "--fail-on", "info", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert report["findings"] == []
    assert report["summary"]["documents"] == 10


def test_ca_bundle_instead_of_cert_manager(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    result = run("webhook", "manifests", "--ca-bundle", str(pki.ca), "--timeout", "3", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    docs = docs_of(result.stdout)
    assert "Certificate" not in [d["kind"] for d in docs]
    vwc = docs[-1]
    assert "annotations" not in vwc["metadata"]
    bundle = base64.b64decode(vwc["webhooks"][0]["clientConfig"]["caBundle"])
    assert bundle == pki.ca.read_bytes()
    assert {w["timeoutSeconds"] for w in vwc["webhooks"]} == {3}
    out = tmp_path / "webhook.yaml"
    out.write_text(result.stdout, encoding="utf-8")
    scan = run("scan", str(out), "--fail-on", "info", cwd=tmp_path)
    assert scan.exit_code == 0, scan.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replicas", "1"], "Invalid value for '--replicas': 1 is not in the range x>=2."),
        (["--timeout", "30"], "Invalid value for '--timeout': 30 is not in the range 1<=x<=10."),
        (
            ["--ca-bundle", "NOTPEM"],
            "--ca-bundle must be a PEM file with at least one CERTIFICATE block",
        ),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "NOTPEM").write_text("hello\n", encoding="utf-8")
    result = run("webhook", "manifests", *args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.output


def test_no_mutating_configuration_unless_the_mode_is_on(emitted: list[dict[str, Any]]) -> None:
    assert not [d for d in emitted if d["kind"] == "MutatingWebhookConfiguration"]


@pytest.mark.parametrize("value", [None, *LEVELS, "strict"])
def test_mutating_mode_routes_each_namespace_once_by_its_enforce_label(
    tmp_path: Path, value: str | None
) -> None:
    (tmp_path / "deploysafe.yaml").write_text(
        "webhook:\n  namespace: policy\n  mutate: safe\n", encoding="utf-8"
    )
    result = run("webhook", "manifests", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    docs = docs_of(result.stdout)
    assert [d["kind"] for d in docs][-2:] == [
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]
    mwc = by_kind(docs, "MutatingWebhookConfiguration")
    assert mwc["metadata"]["name"] == "deploysafe"
    assert mwc["metadata"]["annotations"] == {
        "cert-manager.io/inject-ca-from": "policy/deploysafe-webhook"
    }
    names = [w["name"] for w in mwc["webhooks"]]
    levels = [lv for lv in LEVELS if lv != "off"]
    assert names == [f"mutate-enforce-{lv}.deploysafe.io" for lv in [*levels, "default"]]
    pod_kinds = {(r["apiGroups"][0], res) for w in mwc["webhooks"] for r in w["rules"]
                 for res in r["resources"]}  # fmt: skip
    assert pod_kinds == {
        ("", "pods"),
        ("", "replicationcontrollers"),
        ("", "podtemplates"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    }
    for w in mwc["webhooks"]:
        assert (w["failurePolicy"], w["sideEffects"], w["reinvocationPolicy"]) == (
            "Fail",
            "None",
            "IfNeeded",
        )
    labels = {"kubernetes.io/metadata.name": "shop"}
    if value is not None:
        labels["deploysafe.io/enforce"] = value
    paths = [
        w["clientConfig"]["service"]["path"]
        for w in mwc["webhooks"]
        if _matches(w["namespaceSelector"], labels)
    ]
    # An unknown label value gets no patch: the validating webhook denies the request.
    expected = {None: ["/mutate/enforce/default"], "off": [], "strict": []}
    assert paths == expected.get(value, [f"/mutate/enforce/{value}"])
    policy = from_config(configmod_load(tmp_path))
    for path in paths:
        route = rv.route_for(policy, *path.split("/")[2:], mutate=True)
        assert route.mutate and route.path == path
    for ns in ("kube-system", "policy"):
        exempt = {"kubernetes.io/metadata.name": ns, "deploysafe.io/enforce": "high"}
        assert not [w for w in mwc["webhooks"] if _matches(w["namespaceSelector"], exempt)]


def configmod_load(folder: Path) -> Config:
    from tests.support.policy import load

    return load(folder / "deploysafe.yaml", "deploysafe.yaml")
