"""One finding per problem: repeats from several renders, and pairs of rules on one fact."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.config.rules import Exception_, RuleSetting
from deploysafe.engine import RenderOptions, check_documents, scan, sources
from deploysafe.engine.fold import dedupe, identity
from deploysafe.formats import sarif
from deploysafe.formats.rule_pages import rule_page
from deploysafe.inputs.render import kustomize_available
from deploysafe.model import Finding, Level, Resource, Severity, Target
from deploysafe.rules import BY_ID
from deploysafe.rules.overlaps import APART, PAIRS, Relation
from deploysafe.secrets.patterns import TOKEN_TYPES
from tests.support.scantools import write_tree
from tests.support.secretgen import instance

PAIRED = frozenset({p.kept for p in PAIRS} | {p.folded for p in PAIRS})
needs_kustomize = pytest.mark.skipif(
    kustomize_available() is None, reason="neither kustomize nor kubectl is on PATH"
)

HOST_PORT = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    ports:
    - containerPort: 8080
      hostPort: 8080
"""


def check(text: str, cfg: Config | None) -> list[Finding]:
    """The findings of a manifest read as the scan reads it: as objects and as text."""
    loaded = sources.load(text, "test.yaml", {Target.TEXT, Target.KUBERNETES})
    assert not loaded.errors, loaded.errors
    return list(check_documents(loaded.documents, cfg or Config()).findings)


def found(
    text: str, cfg: Config | None = None, *, besides: frozenset[str] = frozenset()
) -> list[tuple[str, int, tuple[str, ...]]]:
    """(rule, line, rules reported with it) of the findings of the pair rules but DS509
    (which also reports every pod no NetworkPolicy selects), and of `besides`."""
    paired = (PAIRED | besides) - {"DS509"}
    return [(f.rule_id, f.line, f.also) for f in check(text, cfg) if f.rule_id in paired]


def one(text: str, rule_id: str, cfg: Config | None = None) -> Finding:
    (f,) = (f for f in check(text, cfg) if f.rule_id == rule_id)
    return f


# ------------------------------------------------------------------ the table


def test_the_table_names_registered_rules_and_folds_no_kept_rule() -> None:
    for p in PAIRS:
        assert p.kept in BY_ID and p.folded in BY_ID and p.kept != p.folded
    # A folded finding never absorbs others: the result does not depend on order.
    assert not {p.kept for p in PAIRS} & {p.folded for p in PAIRS}
    for a, b, _ in APART:
        assert a in BY_ID and b in BY_ID
        assert not [p for p in PAIRS if {p.kept, p.folded} == {a, b}]


def test_rule_pages_document_each_pair_on_both_sides() -> None:
    assert (
        '- With DS507 on the same value: one DS205 finding, whose message adds "Also DS507: '
        'it is reachable outside any Service or NetworkPolicy"; both read one `hostPort`; '
        "DS507 reports it on its own where the namespace's Pod Security level does not "
        "include the `hostPorts` check."
    ) in rule_page(BY_ID["DS205"])
    assert "- Within DS205 on the same value: where DS205 reports it too" in rule_page(
        BY_ID["DS507"]
    )
    assert "- Not with DS510: a default password in a ConfigMap is two problems" in (
        rule_page(BY_ID["DS311"])
    )
    for p in PAIRS:
        assert f"- With {p.folded} on {p.relation.value}" in rule_page(BY_ID[p.kept])
        assert f"- Within {p.kept} on {p.relation.value}" in rule_page(BY_ID[p.folded])


# ------------------------------------------------------------------ each pair


def test_host_port_is_one_finding_under_the_pss_rule() -> None:
    assert found(HOST_PORT) == [("DS205", 10, ("DS507",))]
    f = one(HOST_PORT, "DS205")
    assert f.message == (
        "container 'app' uses host port 8080. Also DS507: it is reachable outside any Service "
        "or NetworkPolicy"
    )
    assert f.severity is Severity.HIGH
    assert f.pointer == "/spec/containers/0/ports/0/hostPort"


def test_host_network_is_one_finding_and_points_at_host_network() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  hostNetwork: true
  containers: [{name: a, image: 'a:1'}]
"""
    assert found(text) == [("DS202", 5, ("DS509",))]
    assert one(text, "DS202").message == (
        "pod shares the host network (hostNetwork: true). Also DS509: no NetworkPolicy can "
        "select a host-network pod, so nothing restricts its traffic"
    )


def test_a_pod_without_host_network_keeps_its_network_policy_finding() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  hostPID: true
  containers: [{name: a, image: 'a:1'}]
"""
    # hostPID is not the fact DS509 reports: two findings at two places.
    assert [(f.rule_id, f.line, f.also) for f in check(text, None) if f.rule_id in PAIRED] == [
        ("DS509", 3, ()),
        ("DS202", 5, ()),
    ]


RUNTIME_SOCKET = """\
apiVersion: v1
kind: Pod
metadata: {name: builder, namespace: ci}
spec:
  containers:
  - name: build
    image: registry.example/builder:1.0
    volumeMounts: [{name: docker, mountPath: /var/run/docker.sock}]
  volumes:
  - name: logs
    hostPath: {path: /var/log}
  - name: docker
    hostPath: {path: /var/run/docker.sock}
"""


def test_runtime_socket_is_one_finding_per_volume() -> None:
    # The restricted level (default): DS213 judges volume types; the /var/log volume is
    # its own problem.
    assert found(RUNTIME_SOCKET) == [("DS213", 11, ()), ("DS236", 13, ("DS213",))]
    assert one(RUNTIME_SOCKET, "DS236").severity is Severity.CRITICAL
    # At baseline, DS204 judges hostPath volumes.
    baseline = Config(policy=Level.BASELINE)
    assert found(RUNTIME_SOCKET, baseline) == [("DS204", 11, ()), ("DS236", 13, ("DS204",))]


def test_wildcard_rbac_entry_is_one_finding_listing_its_grants() -> None:
    text = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: all}
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
"""
    # The second entry uses no wildcard: DS232 on its own.
    assert found(text) == [
        ("DS230", 5, ("DS232", "DS233", "DS234", "DS235", "DS299")),
        ("DS232", 10, ()),
    ]
    f = one(text, "DS230")
    assert f.severity is Severity.CRITICAL  # DS235's, the highest of the six
    assert f.message == (
        "ClusterRole 'all' rules[0] uses '*' in apiGroups and resources and verbs: it grants "
        "whatever exists now and every resource or verb added later. Also DS232: it can read "
        "every Secret. Also DS233: it can create pods and workloads. Also DS234: it can exec "
        "or attach into pods. Also DS235: it can escalate, bind or impersonate. Also DS299: it "
        "reaches every kubelet through nodes/proxy"
    )


def test_configmap_credential_is_one_finding_a_default_password_two() -> None:
    text = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data:
  db_password: Zq8vR2kL9mXw
  adminPassword: admin
"""
    assert found(text, besides=frozenset({"DS510"})) == [
        ("DS311", 5, ("DS302",)),
        ("DS311", 6, ()),
        ("DS510", 6, ()),
    ]
    first = next(f for f in check(text, None) if f.rule_id == "DS311")
    assert first.message == (
        "ConfigMap cfg holds 'db_password', a credential, in plain text: Zq…(12 chars)"
        ". Also DS302: a literal credential"
    )


def test_a_default_password_is_judged_once_not_folded(tmp_path: Path) -> None:
    write_tree(tmp_path, {"values.yaml": "db:\n  adminPassword: admin\n  password: Zq8vR2kL9mXw\n"})
    report = scan([tmp_path], Config(), root=tmp_path, jobs=1)
    assert [(f.rule_id, f.line, f.also) for f in report.findings] == [
        ("DS510", 2, ()),
        ("DS302", 3, ()),
    ]


def test_private_key_in_a_secret_is_one_finding_whatever_its_indentation() -> None:
    key = instance(next(t for t in TOKEN_TYPES if t.id == "private-key"))
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: shop}\nstringData:\n"
        "  tls.key: |\n" + textwrap.indent(key, "    ") + "\n"
    )
    loaded = sources.load(text, "secret.yaml", {Target.TEXT, Target.KUBERNETES})
    report = check_documents(loaded.documents, Config())
    assert [(f.rule_id, f.line, f.also, f.severity) for f in report.findings] == [
        ("DS310", 5, ("DS301",), Severity.CRITICAL)
    ]


# ------------------------------------------------------------------ suppressions


@pytest.mark.parametrize("rule_id", ["DS205", "DS507"])
def test_an_inline_suppression_of_either_id_suppresses_the_finding(rule_id: str) -> None:
    text = HOST_PORT.replace(
        "hostPort: 8080", f"hostPort: 8080  # deploysafe: ignore[{rule_id}] node agent"
    )
    f = one(text, "DS205")
    assert f.also == ("DS507",)
    assert f.suppressed is not None
    assert (f.suppressed.source, f.suppressed.reason) == ("inline", "node agent")


def test_a_config_exception_of_the_folded_id_suppresses_the_finding() -> None:
    cfg = Config(exceptions=(Exception_(rule="DS509", reason="node exporter"),))
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  hostNetwork: true
  containers: [{name: a, image: 'a:1'}]
"""
    f = one(text, "DS202", cfg)
    assert f.suppressed is not None
    assert (f.suppressed.source, f.suppressed.reason) == ("config", "node exporter")


def test_with_the_kept_rule_off_the_folded_rule_reports_on_its_own() -> None:
    cfg = Config(rules={"DS205": RuleSetting(enabled=False)})
    assert found(HOST_PORT, cfg) == [("DS507", 10, ())]
    assert one(HOST_PORT, "DS507", cfg).severity is Severity.MEDIUM
    cfg = Config(rules={"DS507": RuleSetting(enabled=False)})
    assert found(HOST_PORT, cfg) == [("DS205", 10, ())]
    assert one(HOST_PORT, "DS205", cfg).message == "container 'app' uses host port 8080"


# ------------------------------------------------------------------ repeats


def _finding(namespace: str, name: str, render: str, line: int = 7) -> Finding:
    return Finding(
        rule_id="DS509",
        title="t",
        practice=BY_ID["DS509"].practice,
        severity=Severity.MEDIUM,
        file="base/deployment.yaml",
        line=line,
        column=5,
        pointer="/spec/template/metadata/labels",
        resource=Resource("Deployment", namespace, name),
        message=f"Deployment {namespace}/{name}: namespace {namespace!r} has no NetworkPolicy",
        fix="f",
        renders=(render,),
    )


def test_dedupe_merges_namespaces_and_objects_of_one_line_but_not_places() -> None:
    prod = _finding("prod", "web", "kustomize overlays/prod")
    dev = _finding("dev", "web", "kustomize overlays/dev")
    other = _finding("dev", "api", "kustomize overlays/dev")  # another object, same line
    moved = _finding("dev", "web", "kustomize overlays/dev", line=8)
    out = dedupe([prod, other, dev, moved, prod])
    assert [(f.resource, f.line, f.renders) for f in out if f.resource] == [
        (
            Resource("Deployment", "dev", "api"),
            7,
            ("kustomize overlays/dev", "kustomize overlays/prod"),
        ),
        (Resource("Deployment", "dev", "web"), 8, ("kustomize overlays/dev",)),
    ]
    assert out[0].message.endswith("this line does the same for 1 more object: Deployment web")
    assert identity(prod) == identity(dev)


# Passes every rule but the host port (and DS509: no NetworkPolicy in either namespace).
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      serviceAccountName: web
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: registry.example/web:1.0@sha256:DIGEST
        ports:
        - containerPort: 8080
          hostPort: 8080
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          readOnlyRootFilesystem: true
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {memory: 64Mi}
""".replace("DIGEST", "0123456789abcdef" * 4)


@needs_kustomize
def test_a_base_shared_by_overlays_is_reported_once(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "base/kustomization.yaml": "resources: [deployment.yaml]\n",
            "base/deployment.yaml": DEPLOYMENT,
            "overlays/dev/kustomization.yaml": "namespace: dev\nresources: [../../base]\n",
            "overlays/prod/kustomization.yaml": (
                "namespace: prod\nresources: [../../base]\npatches:\n- path: replicas.yaml\n"
            ),
            "overlays/prod/replicas.yaml": (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                "spec:\n  replicas: 3\n"
            ),
        },
    )
    report = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(), jobs=1)
    assert not report.errors, report.errors
    both = ("kustomize overlays/dev", "kustomize overlays/prod")
    assert [(f.rule_id, f.file, f.line, f.renders, f.also) for f in report.findings] == [
        ("DS509", "base/deployment.yaml", 9, both, ()),
        ("DS205", "base/deployment.yaml", 21, both, ("DS507",)),
    ]
    # The first in print order stands for the repeats: the dev overlay's object.
    assert report.findings[0].resource == Resource("Deployment", "dev", "web")
    results = json.loads(sarif.render(report))["runs"][0]["results"]
    assert [r["properties"]["renders"] for r in results] == [list(both), list(both)]
    assert results[1]["properties"]["alsoReports"] == ["DS507"]
    assert len({r["partialFingerprints"]["deploysafe/v1"] for r in results}) == 2


def test_relations_are_named_for_the_pages() -> None:
    assert [r.value for r in Relation] == [
        "the same value",
        "the same list entry",
        "the same secret",
    ]
