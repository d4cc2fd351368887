"""`deploysafe audit`: live objects from a kubectl dump, server-set fields dropped,
findings as `scan` reports them."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

from tests.support.webhook import DEPLOYSAFE

DUMP = """\
apiVersion: v1
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "3"
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"API_TOKEN","value":"@TOKEN@"}]}]}}}}
    creationTimestamp: "2026-11-20T10:00:00Z"
    generation: 3
    labels:
      app: web
    managedFields:
    - apiVersion: apps/v1
      fieldsType: FieldsV1
      fieldsV1:
        f:spec:
          f:template: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2026-11-20T10:00:00Z"
    name: web
    namespace: shop
    resourceVersion: "48213"
    uid: b3e9d7c1-4f2a-4b8e-8d6c-0a1b2c3d4e5f
  spec:
    replicas: 2
    selector:
      matchLabels:
        app: web
    template:
      metadata:
        labels:
          app: web
      spec:
        automountServiceAccountToken: false
        serviceAccountName: web
        containers:
        - image: registry.example.com/shop/web:1.4.3
          imagePullPolicy: IfNotPresent
          name: web
          resources:
            limits:
              memory: 256Mi
            requests:
              cpu: 100m
              memory: 128Mi
          securityContext:
            privileged: true
  status:
    availableReplicas: 2
    observedGeneration: 3
    readyReplicas: 2
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: web-7c9f8d6b5
    namespace: shop
    ownerReferences:
    - apiVersion: apps/v1
      blockOwnerDeletion: true
      controller: true
      kind: Deployment
      name: web
      uid: b3e9d7c1-4f2a-4b8e-8d6c-0a1b2c3d4e5f
    uid: 5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d
  spec:
    replicas: 2
    selector:
      matchLabels:
        app: web
    template:
      metadata:
        labels:
          app: web
      spec:
        automountServiceAccountToken: false
        serviceAccountName: web
        containers:
        - image: registry.example.com/shop/web:1.4.3
          name: web
          resources:
            limits:
              memory: 256Mi
            requests:
              cpu: 100m
              memory: 128Mi
          securityContext:
            privileged: true
- apiVersion: v1
  kind: Service
  metadata:
    labels:
      component: apiserver
      provider: kubernetes
    name: kubernetes
    namespace: default
    uid: 0d1e2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a
  spec:
    clusterIP: 10.96.0.1
    ports:
    - name: https
      port: 443
      protocol: TCP
      targetPort: 6443
    type: ClusterIP
- apiVersion: v1
  kind: Pod
  metadata:
    name: kube-proxy-x8k2p
    namespace: kube-system
    uid: 1e2f3a4b-5c6d-4e7f-9a8b-9c0d1e2f3a4b
  spec:
    hostNetwork: true
    containers:
    - name: kube-proxy
      image: registry.k8s.io/kube-proxy:v1.35.0
      securityContext:
        privileged: true
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: shop
    uid: 2f3a4b5c-6d7e-4f8a-9b0c-1d2e3f4a5b6c
  type: Opaque
  data:
    password: @B64@
- apiVersion: v1
  kind: Service
  metadata:
    name: web
    namespace: shop
    uid: 3a4b5c6d-7e8f-4a9b-8c0d-2e3f4a5b6c7d
  spec:
    type: NodePort
    selector:
      app: web
    ports:
    - port: 80
      targetPort: 8080
      nodePort: 31080
  status:
    loadBalancer: {}
kind: List
metadata:
  resourceVersion: ""
"""


def dump() -> tuple[str, str, str]:
    import base64

    token = "ghp_" + secrets.token_hex(18)  # built at run time
    password = "Pw-" + secrets.token_urlsafe(12)
    text = DUMP.replace("@TOKEN@", token).replace(
        "@B64@", base64.b64encode(password.encode()).decode()
    )
    return text, token, password


def audit(tmp_path: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "deploysafe.yaml").write_text("fail_on: medium\n", encoding="utf-8")
    return subprocess.run(
        [str(DEPLOYSAFE), "audit", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )


def findings(out: str) -> list[tuple[str, int, str, str]]:
    report: dict[str, Any] = json.loads(out)
    return [
        (f["rule_id"], f["line"], f["pointer"], f["resource"]["kind"] + "/" + f["resource"]["name"])
        for f in report["findings"]
    ]


def test_audit_from_stdin_reports_as_scan_does(tmp_path: Path) -> None:
    text, token, password = dump()
    done = audit(tmp_path, "-", "--format", "json", stdin=text)
    assert done.returncode == 1, done.stderr
    ptr = "/spec/template/spec/containers/0/securityContext"
    assert findings(done.stdout) == [
        ("DS509", 34, "/spec/template/metadata/labels", "Deployment/web"),
        ("DS214", 49, f"{ptr}/runAsNonRoot", "Deployment/web"),
        ("DS215", 49, f"{ptr}/allowPrivilegeEscalation", "Deployment/web"),
        ("DS216", 49, f"{ptr}/seccompProfile", "Deployment/web"),
        ("DS217", 49, f"{ptr}/capabilities/drop", "Deployment/web"),
        ("DS599", 49, ptr, "Deployment/web"),  # no readOnlyRootFilesystem
        ("DS201", 50, f"{ptr}/privileged", "Deployment/web"),
        ("DS506", 137, "/spec/type", "Service/web"),
    ]
    report = json.loads(done.stdout)
    assert report["findings"][0]["file"] == "<stdin>"
    assert token not in done.stdout + done.stderr
    assert password not in done.stdout + done.stderr


def test_text_output_notes_what_was_skipped(tmp_path: Path) -> None:
    text, token, _ = dump()
    path = tmp_path / "cluster.yaml"
    path.write_text(text, encoding="utf-8")
    done = audit(tmp_path, str(path), stdin="")
    assert done.returncode == 1
    out = done.stdout
    assert "1 object(s) owned by a controller in the input were left to their owner" in out
    assert "1 object(s) the API server creates itself were skipped" in out
    assert "1 object(s) in exempt namespaces (kube-system) were skipped" in out
    assert "repository-only rules not run on live objects: DS310" in out
    assert token not in out


def test_include_owned_checks_replicasets_too(tmp_path: Path) -> None:
    text, _, _ = dump()
    done = audit(tmp_path, "-", "--format", "json", "--include-owned", stdin=text)
    got = findings(done.stdout)
    rs = [f for f in got if f[3] == "ReplicaSet/web-7c9f8d6b5"]
    assert [(f[0], f[1]) for f in rs] == [
        ("DS509", 75),
        ("DS214", 89),
        ("DS215", 89),
        ("DS216", 89),
        ("DS217", 89),
        ("DS599", 89),
        ("DS201", 90),
    ]


def test_status_and_server_fields_are_not_judged(tmp_path: Path) -> None:
    from deploysafe.cluster.audit import read

    text, _, _ = dump()
    live = read(text, "dump.yaml")
    dep = next(d for d in live.documents if d.kind == "Deployment")
    assert "status" not in dep.data
    assert sorted(dep.metadata) == ["labels", "name", "namespace"]  # annotations were all server's
    svc = next(d for d in live.documents if d.kind == "Service")
    assert "status" not in svc.data
    assert sorted(svc.metadata) == ["name", "namespace"]


def test_unreadable_input_is_an_input_error(tmp_path: Path) -> None:
    done = audit(tmp_path, "-", stdin="items: [\n")
    assert done.returncode == 3
    assert "<stdin>:" in done.stdout


def test_audit_writes_every_format_scan_writes() -> None:
    import click

    from deploysafe.cli.cluster import audit as audit_cmd
    from deploysafe.cli.scan import scan

    def formats(command: click.Command) -> list[str]:
        (option,) = [p for p in command.params if p.name == "fmt"]
        assert isinstance(option.type, click.Choice)
        return [str(c) for c in option.type.choices]

    assert (
        formats(audit_cmd)
        == formats(scan)
        == [
            "text",
            "compact",
            "json",
            "sarif",
            "junit",
            "html",
            "gitlab-sast",
            "github-summary",
        ]
    )
