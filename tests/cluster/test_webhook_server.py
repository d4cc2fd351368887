"""`deploysafe serve` end to end: a real process serving HTTPS on 127.0.0.1, recorded
AdmissionReview shapes in, AdmissionReview responses out, bad input, slow clients,
metrics, logs, certificate rotation."""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.webhook import Pki, Server, make_pki, serial_of, serving, shape

CONFIG = """\
fail_on: high
tenants:
  shop:
    namespaces: [shop, shop-staging]
webhook:
  namespace: deploysafe
  warn: low
  exempt:
    namespaces: [kube-system, "legacy-*"]
    users: ["system:serviceaccount:kube-system:*"]
    groups: [breakglass]
  max_body_bytes: 65536
  tenants:
    shop:
      users: [shop-deployer@example.com]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("webhook")


@pytest.fixture(scope="module")
def pki(folder: Path) -> Pki:
    return make_pki(folder / "pki")


@pytest.fixture(scope="module")
def config(folder: Path) -> Path:
    path = folder / "deploysafe.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(folder: Path, pki: Pki, config: Path) -> Iterator[Server]:
    with serving(folder, pki=pki, config=config, args=["--client-timeout", "1"]) as s:
        yield s


def privileged(review: dict[str, Any], template: tuple[str, ...]) -> dict[str, Any]:
    """The review with its (first) container made privileged."""
    out = copy.deepcopy(review)
    spec = out["request"]["object"]
    for key in template:
        spec = spec[key]
    spec["containers"][0].setdefault("securityContext", {})["privileged"] = True
    return out


# ------------------------------------------------------------------ recorded shapes


def test_hardened_pod_is_allowed_without_warnings(server: Server) -> None:
    status, body = server.review(shape("pod-create"))
    assert status == 200
    assert body == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "3f0c9a52-6a1e-4d8b-a7f4-1e2d3c4b5a60", "allowed": True},
    }


def test_privileged_pod_is_denied_naming_rule_and_pointer(server: Server) -> None:
    review = privileged(shape("pod-create"), ("spec",))
    status, body = server.review(review)
    assert status == 200
    assert body["response"] == {
        "uid": "3f0c9a52-6a1e-4d8b-a7f4-1e2d3c4b5a60",
        "allowed": False,
        "status": {
            "code": 403,
            "reason": "Forbidden",
            "message": "deploysafe denied Pod shop/web (enforce high): DS201 "
            "/spec/containers/0/securityContext/privileged: container 'web' runs privileged. "
            "`deploysafe explain DS201` tells how to fix it.",
        },
    }


def test_cronjob_pointer_reaches_into_the_job_template(server: Server) -> None:
    status, body = server.review(shape("cronjob-create"))
    assert status == 200
    r = body["response"]
    assert r["allowed"] is False
    assert r["status"]["message"] == (
        "deploysafe denied CronJob shop/report (enforce high): DS201 "
        "/spec/jobTemplate/spec/template/spec/containers/0/securityContext/privileged: "
        "container 'report' runs privileged. `deploysafe explain DS201` tells how to fix it."
    )


def test_dry_run_is_judged_the_same_and_logged_as_dry_run(server: Server) -> None:
    dry = shape("deployment-create-dryrun")
    wet = copy.deepcopy(dry)
    wet["request"]["dryRun"] = False
    wet["request"]["uid"] = "c5d1e2f3-0a4b-4c6d-8e9f-000000000001"
    _, a = server.review(dry)
    _, b = server.review(wet)
    assert a["response"]["allowed"] is True
    assert a["response"]["warnings"] == b["response"]["warnings"]
    assert [w.split(":")[0] for w in a["response"]["warnings"]] == [
        "DS214",
        "DS215",
        "DS216",
        "DS217",
        "DS599",  # low: the config warns from low
    ]
    assert all(len(w) <= 120 for w in a["response"]["warnings"])
    (logged,) = server.reviews_logged("c5d1e2f3-0a4b-4c6d-8e9f-1a2b3c4d5e6f")
    assert logged["dry_run"] is True
    assert logged["outcome"] == "allowed"
    (logged_wet,) = server.reviews_logged("c5d1e2f3-0a4b-4c6d-8e9f-000000000001")
    assert logged_wet["dry_run"] is False
    assert logged["warned"] == logged_wet["warned"]


def test_update_keeps_existing_violations_and_denies_new_ones(server: Server) -> None:
    template = ("spec", "template", "spec")
    both = shape("deployment-update")
    for key in ("object", "oldObject"):
        spec = both["request"][key]
        for k in template:
            spec = spec[k]
        spec["containers"][0]["securityContext"] = {"privileged": True}
    _, body = server.review(both)
    r = body["response"]
    assert r["allowed"] is True
    assert r["warnings"][0] == ("DS201 (already there, allowed): container 'web' runs privileged")
    new_only = privileged(shape("deployment-update"), template)
    _, body = server.review(new_only)
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith(
        "deploysafe denied Deployment shop/web (enforce high): DS201 "
        "/spec/template/spec/containers/0/securityContext/privileged:"
    )


def test_role_with_wildcards_is_denied(server: Server) -> None:
    _, body = server.review(shape("role-create"))
    r = body["response"]
    assert r["allowed"] is False
    # The wildcard entry is one finding that names what it grants (engine/fold.py).
    assert r["status"]["message"] == (
        "deploysafe denied Role shop/ci-admin (enforce high): DS230 /rules/1/resources: "
        "Role 'ci-admin' (namespace 'shop') rules[1] uses '*' in resources and verbs: it "
        "grants whatever exists now and every resource or verb added later. Also DS232: it "
        "can read every Secret. Also DS233: it can create pods and workloads. Also DS234: it "
        "can exec or attach into pods. Also DS235: it can escalate, bind or impersonate. "
        "`deploysafe explain DS230` tells how to fix it."
    )
    assert [w[:5] for w in r["warnings"]] == ["DS233"]


def test_nodeport_service_is_allowed_with_a_warning(server: Server) -> None:
    _, body = server.review(shape("service-create"))
    assert body["response"] == {
        "uid": "8a9b0c1d-2e3f-4a4b-8c5d-6e7f8a9b0c1d",
        "allowed": True,
        "warnings": [
            "DS506: Service 'web' is type NodePort: it opens its ports on every node's address"
        ],
    }


def test_deletes_and_subresources_pass_through(server: Server) -> None:
    _, body = server.review(shape("pod-delete"))
    assert body["response"] == {"uid": "9b0c1d2e-3f4a-4b5c-9d6e-7f8a9b0c1d2e", "allowed": True}
    _, body = server.review(shape("deployment-scale"))
    assert body["response"] == {"uid": "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f", "allowed": True}
    (logged,) = server.reviews_logged("0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f")
    assert (logged["outcome"], logged["reason"]) == ("skipped", "subresource scale")


def test_ephemeral_containers_subresource_is_checked(server: Server) -> None:
    review = shape("pod-create")
    req = review["request"]
    req["operation"], req["subResource"] = "UPDATE", "ephemeralcontainers"
    req["oldObject"] = copy.deepcopy(req["object"])
    req["object"]["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "securityContext": {"privileged": True}}
    ]
    _, body = server.review(review)
    assert body["response"]["allowed"] is False
    assert (
        "DS201 /spec/ephemeralContainers/0/securityContext/privileged: ephemeral "
        "container 'debug' runs privileged" in body["response"]["status"]["message"]
    )


# ------------------------------------------------------------------ modes by namespace label


def test_label_routes_choose_the_level(server: Server) -> None:
    review = shape("deployment-create-dryrun")  # four medium findings, one low
    _, body = server.review(review, "/validate/enforce/medium")
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith(
        "deploysafe denied Deployment shop/web (enforce medium, deploysafe.io/enforce=medium): "
        "DS214 "
    )
    assert "warnings" not in body["response"]  # warnings come from the warn entry
    _, body = server.review(review, "/validate/enforce/high")
    assert body["response"] == {"uid": review["request"]["uid"], "allowed": True}
    _, body = server.review(review, "/validate/warn/medium")
    assert len(body["response"]["warnings"]) == 4
    _, body = server.review(review, "/validate/audit/info")
    assert body["response"]["allowed"] is True
    assert body["response"]["auditAnnotations"]["findings"].split("; ")[0] == (
        "DS214 medium /spec/template/spec/containers/0/securityContext/runAsNonRoot"
    )
    _, body = server.review(
        privileged(review, ("spec", "template", "spec")), "/validate/enforce/off"
    )
    assert body["response"] == {"uid": review["request"]["uid"], "allowed": True}
    _, body = server.review(review, "/validate/warn/default")  # the config's warn: low
    assert len(body["response"]["warnings"]) == 5  # and DS599 (low)


def test_invalid_label_value_fails_closed(server: Server) -> None:
    review = shape("pod-create")
    _, body = server.review(review, "/validate/enforce/invalid")
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"] == (
        "deploysafe denied Pod shop/web: namespace shop: unknown deploysafe.io/enforce level; "
        "use critical, high, medium, low, info or off"
    )
    status, body = server.review(review, "/validate/enforce/strict")
    assert (status, body) == (
        404,
        {"error": "unknown path: use /validate or /validate/MODE/LEVEL\n"},
    )


# ------------------------------------------------------------------ exemptions, tenants


@pytest.mark.parametrize(
    ("namespace", "user", "groups", "reason"),
    [
        ("kube-system", "alice", [], "namespace kube-system is exempt (kube-system)"),
        ("legacy-billing", "alice", [], "namespace legacy-billing is exempt (legacy-*)"),
        ("deploysafe", "alice", [], "namespace deploysafe is the webhook's own"),
        (
            "shop",
            "system:serviceaccount:kube-system:replicaset-controller",
            [],
            "user system:serviceaccount:kube-system:replicaset-controller is exempt "
            "(system:serviceaccount:kube-system:*)",
        ),
        ("shop", "bob", ["breakglass"], "group breakglass is exempt"),
    ],
)
def test_exempt_requests_are_allowed_and_logged(
    server: Server, namespace: str, user: str, groups: list[str], reason: str
) -> None:
    review = privileged(shape("pod-create"), ("spec",))
    req = review["request"]
    req["uid"] = f"exempt-{namespace}-{user}-{len(groups)}"
    req["namespace"] = req["object"]["metadata"]["namespace"] = namespace
    req["userInfo"] = {"username": user, "groups": groups}
    _, body = server.review(review)
    assert body["response"] == {"uid": req["uid"], "allowed": True}
    (logged,) = server.reviews_logged(req["uid"])
    assert (logged["outcome"], logged["reason"]) == ("exempt", reason)


def test_ignore_annotation_suppresses_with_a_reason(server: Server) -> None:
    review = privileged(shape("pod-create"), ("spec",))
    review["request"]["uid"] = "annotated-1"
    review["request"]["object"]["metadata"]["annotations"] = {
        "deploysafe.io/ignore": "DS201: GPU driver needs the host devices"
    }
    _, body = server.review(review)
    assert body["response"] == {"uid": "annotated-1", "allowed": True}
    (logged,) = server.reviews_logged("annotated-1")
    assert logged["suppressed"] == ["DS201 /spec/containers/0/securityContext/privileged"]


def test_tenant_service_account_cannot_write_outside_its_namespaces(server: Server) -> None:
    review = shape("service-create")
    req = review["request"]
    req["uid"] = "tenant-escape"
    req["namespace"] = req["object"]["metadata"]["namespace"] = "payments"
    req["object"]["spec"]["type"] = "ClusterIP"
    req["userInfo"] = {"username": "system:serviceaccount:shop:deployer", "groups": []}
    _, body = server.review(review)
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith(
        "deploysafe denied Service payments/web (enforce high): DS401 /metadata/namespace: "
        "Service 'web' is in namespace 'payments', outside tenant 'shop''s namespaces"
    )
    (logged,) = server.reviews_logged("tenant-escape")
    assert logged["tenants"] == ["shop"]
    # The same object from a user who acts for no tenant is fine.
    req["uid"] = "no-tenant"
    req["userInfo"] = {"username": "platform-admin@example.com", "groups": []}
    _, body = server.review(review)
    assert body["response"] == {"uid": "no-tenant", "allowed": True}


def test_listed_tenant_user_cannot_create_cluster_kinds(server: Server) -> None:
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "tenant-clusterrole",
            "kind": {"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRole"},
            "resource": {
                "group": "rbac.authorization.k8s.io",
                "version": "v1",
                "resource": "clusterroles",
            },
            "name": "shop-reader",
            "operation": "CREATE",
            "userInfo": {"username": "shop-deployer@example.com", "groups": []},
            "object": {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "shop-reader"},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
            },
        },
    }
    _, body = server.review(review)
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith(
        "deploysafe denied ClusterRole shop-reader (enforce high): DS402 /kind: ClusterRole "
        "'shop-reader' is cluster-scoped and tenant 'shop' may not create ClusterRole"
    )


# ------------------------------------------------------------------ secrets never leak


def test_secret_values_reach_neither_response_nor_log(server: Server) -> None:
    token = "ghp_" + secrets.token_hex(18)  # made at run time: in no file of the repository
    password = "Pw-" + secrets.token_urlsafe(12)
    review = shape("pod-create")
    req = review["request"]
    req["uid"] = "secret-values"
    req["object"]["spec"]["containers"][0]["env"] = [
        {"name": "GITHUB_TOKEN", "value": token},
        {"name": "DB_PASSWORD", "value": password},
    ]
    _, body = server.review(review, "/validate/warn/info")
    text = json.dumps(body)
    assert token not in text and password not in text
    assert [w[:5] for w in body["response"]["warnings"]] == ["DS312", "DS312"]
    cm = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "configmap-secret",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "name": "settings",
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": []},
            "object": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "shop"},
                "data": {"github_token": token},
            },
        },
    }
    _, body = server.review(cm)
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["message"].startswith(
        "deploysafe denied ConfigMap shop/settings (enforce high): DS311 /data/github_token:"
    )
    assert token not in json.dumps(body)
    log = server.log.read_text(encoding="utf-8")
    assert "secret-values" in log and "configmap-secret" in log
    assert token not in log and password not in log
    assert token[:12] not in log


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"{not json",
            "request body is not JSON (Expecting property name enclosed in double quotes)",
        ),
        (b'{"uid": "\xff"}', "request body is not UTF-8 text"),
        (b"[]", "request body must be a JSON object (an AdmissionReview)"),
        (
            b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}',
            "apiVersion must be admission.k8s.io/v1 (list admissionReviewVersions: [v1] in the "
            "webhook configuration)",
        ),
        (
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionResponse"}',
            "kind must be AdmissionReview",
        ),
        (
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
            "request is missing or not an object",
        ),
        (b"[" * 5000 + b"]" * 5000, "request body nests too deeply"),
    ],
)
def test_malformed_bodies_get_400(server: Server, body: bytes, message: str) -> None:
    status, data, _ = server.request(
        "POST", "/validate", body, {"Content-Type": "application/json"}
    )
    assert (status, data.decode()) == (400, message + "\n")


def _broken(**changes: Any) -> dict[str, Any]:
    review = shape("pod-create")
    for key, value in changes.items():
        if value is None:
            del review["request"][key]
        else:
            review["request"][key] = value
    return review


@pytest.mark.parametrize(
    ("review", "message"),
    [
        (_broken(uid=None), "request.uid is missing or not a string"),
        (_broken(uid=""), "request.uid is missing or not a string"),
        (
            _broken(object=None),
            "request.object must be a Kubernetes object (apiVersion, kind) on CREATE",
        ),
        (
            _broken(object={"spec": {}}),
            "request.object must be a Kubernetes object (apiVersion, kind) on CREATE",
        ),
        (
            _broken(operation="PATCH"),
            "request.operation must be one of CREATE, UPDATE, DELETE, CONNECT",
        ),
        (_broken(userInfo=None), "request.userInfo is missing or not an object"),
        (
            _broken(kind={"kind": "Pod"}),
            "request.kind must be an object with group, version and kind",
        ),
        (_broken(dryRun="yes"), "request.dryRun must be true or false"),
        (_broken(operation="UPDATE"), "request.oldObject must be a Kubernetes object on UPDATE"),
    ],
)
def test_incomplete_reviews_get_400(server: Server, review: dict[str, Any], message: str) -> None:
    status, data, _ = server.request(
        "POST", "/validate", json.dumps(review).encode(), {"Content-Type": "application/json"}
    )
    assert (status, data.decode()) == (400, message + "\n")


def test_oversized_bodies_are_refused(server: Server) -> None:
    review = shape("pod-create")
    review["request"]["object"]["metadata"]["annotations"] = {"big": "x" * 70000}
    status, data, _ = server.request(
        "POST", "/validate", json.dumps(review).encode(), {"Content-Type": "application/json"}
    )
    assert (status, data) == (413, b"request body is over the 65536-byte limit\n")
    # Without a Content-Length (chunked), the cap holds while reading.
    conn = server.connect()
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"x" * 16384
    try:
        for _ in range(6):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may answer and close before the last chunk
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (413, b"request body is over the 65536-byte limit\n")


def test_wrong_method_and_content_type(server: Server) -> None:
    status, _, _ = server.request("GET", "/validate")
    assert status == 405
    status, data, _ = server.request("POST", "/validate", b"{}", {"Content-Type": "text/plain"})
    assert (status, data) == (415, b"Content-Type must be application/json\n")


def _raw_tls(server: Server) -> ssl.SSLSocket:
    assert server.ca is not None
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return server.context().wrap_socket(raw, server_hostname="localhost")


def test_slow_clients_are_cut_off_and_others_still_served(server: Server) -> None:
    body = json.dumps(shape("pod-create")).encode()
    # A client that sends half its headers and stalls.
    slow_headers = _raw_tls(server)
    slow_headers.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty")
    # A client that sends its headers and a tenth of its body, then stalls.
    slow_body = _raw_tls(server)
    slow_body.sendall(
        b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[: len(body) // 10]
    )
    # Meanwhile, others are answered at once.
    start = time.monotonic()
    for _ in range(5):
        _, out = server.review(shape("pod-create"))
        assert out["response"]["allowed"] is True
    assert time.monotonic() - start < 1.0
    # The stalled body gets 408 after the client timeout (1 s here) ...
    slow_body.settimeout(5)
    answer = b""
    while chunk := slow_body.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b"request body not received within 1 s\n")
    # ... and the stalled headers a dropped connection.
    slow_headers.settimeout(5)
    with contextlib.suppress(ConnectionResetError, ssl.SSLEOFError):  # a timeout still fails
        assert slow_headers.recv(4096) == b""
    slow_body.close()
    slow_headers.close()
    status, _, _ = server.request("GET", "/readyz")
    assert status == 200


def test_idle_keep_alive_connections_outlive_the_header_deadline(server: Server) -> None:
    """The API server reuses its connections: idleness is not slowness."""
    conn = server.connect()
    body = json.dumps(shape("pod-create")).encode()
    headers = {"Content-Type": "application/json"}
    assert server.request("POST", "/validate", body, headers, conn=conn)[0] == 200
    sock = conn.sock
    time.sleep(1.6)  # past the 1 s client timeout, well inside keep-alive
    assert server.request("POST", "/validate", body, headers, conn=conn)[0] == 200
    assert conn.sock is sock  # the same connection, not a new one


def test_silent_connections_are_dropped(server: Server) -> None:
    silent = _raw_tls(server)  # handshake done, then nothing
    silent.settimeout(5)
    start = time.monotonic()
    with contextlib.suppress(ConnectionResetError, ssl.SSLEOFError):  # a timeout still fails
        assert silent.recv(4096) == b""
    assert time.monotonic() - start < 3
    silent.close()


def test_server_keeps_serving_after_bad_input(server: Server) -> None:
    for junk in (b"", b"{}", b"null", b'{"apiVersion": 1}'):
        server.request("POST", "/validate", junk, {"Content-Type": "application/json"})
    _, body = server.review(shape("pod-create"))
    assert body["response"]["allowed"] is True


# ------------------------------------------------------------------ health, metrics, logs


def test_health_endpoints(server: Server) -> None:
    assert server.request("GET", "/healthz")[:2] == (200, b"ok\n")
    assert server.request("GET", "/readyz")[:2] == (200, b"ok\n")


def test_metrics_count_requests_denials_and_latency(server: Server) -> None:
    before = server.metrics()
    server.review(privileged(shape("pod-create"), ("spec",)))
    server.review(shape("pod-create"))
    server.review(shape("pod-delete"))
    server.request("POST", "/validate", b"nope", {"Content-Type": "application/json"})
    after = server.metrics()

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert delta('deploysafe_admission_requests_total{operation="CREATE",outcome="denied"}') == 1
    assert delta('deploysafe_admission_requests_total{operation="CREATE",outcome="allowed"}') == 1
    assert delta('deploysafe_admission_requests_total{operation="DELETE",outcome="skipped"}') == 1
    assert delta('deploysafe_admission_denials_total{rule="DS201"}') == 1
    assert delta('deploysafe_http_rejected_total{code="400"}') == 1
    assert delta("deploysafe_admission_duration_seconds_count") == 3
    assert delta('deploysafe_admission_duration_seconds_bucket{le="+Inf"}') == 3
    assert after["deploysafe_admission_duration_seconds_sum"] > 0
    _, _, headers = server.request("GET", "/metrics")
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_every_log_line_is_json_and_one_per_review(server: Server) -> None:
    review = shape("role-create")
    review["request"]["uid"] = "one-line"
    server.review(review)
    (line,) = server.reviews_logged("one-line")
    assert {k: line[k] for k in ("level", "logger", "operation", "kind", "namespace", "name")} == {
        "level": "info",
        "logger": "deploysafe.webhook",
        "operation": "CREATE",
        "kind": "rbac.authorization.k8s.io/v1/Role",
        "namespace": "shop",
        "name": "ci-admin",
    }
    assert line["user"] == "alice@example.com"
    assert line["allowed"] is False
    assert line["denied"] == ["DS230 /rules/1/resources"]
    assert isinstance(line["duration_ms"], float)


# ------------------------------------------------------------------ TLS


def test_plain_http_is_not_served_on_the_tls_port(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = s.recv(4096)
    assert not data.startswith(b"HTTP/1.1 200")


def test_certificate_is_reloaded_when_the_files_change(folder: Path, config: Path) -> None:
    first = make_pki(folder / "rotate", tag="one")
    second = make_pki(folder / "rotate", tag="two")
    live = Pki(first.ca, folder / "rotate" / "live.crt", folder / "rotate" / "live.key")
    live.cert.write_bytes(first.cert.read_bytes())
    live.key.write_bytes(first.key.read_bytes())
    with serving(folder, pki=live, config=config, args=["--reload-interval", "0.1"]) as s:

        def served_serial(ca: Path) -> int:
            conn = s.connect(ca=ca)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            sock = conn.sock
            assert isinstance(sock, ssl.SSLSocket)
            der = sock.getpeercert(binary_form=True)
            assert der is not None
            return serial_of(ssl.DER_cert_to_PEM_cert(der).encode())

        assert served_serial(first.ca) == serial_of(first.cert.read_bytes())
        # A broken pair (new certificate, old key) is refused; the old one keeps serving.
        live.cert.write_bytes(second.cert.read_bytes())
        time.sleep(0.5)
        assert served_serial(first.ca) == serial_of(first.cert.read_bytes())
        # cert-manager's rotation: both files replaced.
        live.key.write_bytes(second.key.read_bytes())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if served_serial(second.ca) == serial_of(second.cert.read_bytes()):
                    break
            except ssl.SSLError:
                time.sleep(0.1)
        else:
            pytest.fail("the new certificate was not served within 5 s")
        s.ca = second.ca
        m = s.metrics()
        assert m['deploysafe_tls_reloads_total{result="ok"}'] == 1
        assert m['deploysafe_tls_reloads_total{result="error"}'] == 1
        messages = [r["message"] for r in s.log_lines()]
        assert "certificate reloaded" in messages


def test_two_workers_share_the_port_and_the_metrics(folder: Path, pki: Pki, config: Path) -> None:
    with serving(folder, pki=pki, config=config, args=["--workers", "2"]) as s:
        conns = [s.connect() for _ in range(8)]
        for conn in conns:
            status, data, _ = s.request(
                "POST",
                "/validate",
                json.dumps(privileged(shape("pod-create"), ("spec",))).encode(),
                {"Content-Type": "application/json"},
                conn=conn,
            )
            assert status == 200 and json.loads(data)["response"]["allowed"] is False
        workers = {r["worker"] for r in s.log_lines() if r.get("message") == "review"}
        assert workers == {0, 1}
        # Whichever worker answers /metrics, it counts both workers' reviews.
        for _ in range(4):
            m = s.metrics()
            assert m['deploysafe_admission_denials_total{rule="DS201"}'] == 8


def test_serve_refuses_to_start_without_tls_or_with_a_bad_pair(folder: Path, pki: Pki) -> None:
    import subprocess

    from tests.support.webhook import DEPLOYSAFE

    out = subprocess.run([str(DEPLOYSAFE), "serve"], capture_output=True, text=True, cwd=folder)
    assert out.returncode == 2
    assert "serve needs --cert and --key" in out.stderr
    other = make_pki(folder / "mismatch", tag="m")
    out = subprocess.run(
        [str(DEPLOYSAFE), "serve", "--cert", str(pki.cert), "--key", str(other.key)],
        capture_output=True,
        text=True,
        cwd=folder,
    )
    assert out.returncode == 2
    assert f"cannot load --cert {pki.cert} / --key {other.key}" in out.stderr


def test_a_dead_worker_stops_the_whole_server(folder: Path, pki: Pki, config: Path) -> None:
    """Half strength is not an option: the container restarts whole."""
    import os
    import signal

    with serving(folder, pki=pki, config=config, args=["--workers", "2"]) as s:
        assert s.proc is not None
        children = Path(f"/proc/{s.proc.pid}/task/{s.proc.pid}/children").read_text().split()
        assert len(children) == 2
        os.kill(int(children[0]), signal.SIGKILL)
        assert s.proc.wait(timeout=15) == 1
        assert not Path(f"/proc/{children[1]}").exists() or _zombie(int(children[1]))
        assert "worker exited; stopping the others" in s.log.read_text()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_port_in_use_is_a_usage_error(folder: Path, pki: Pki) -> None:
    import subprocess

    from tests.support.webhook import DEPLOYSAFE

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [
                str(DEPLOYSAFE), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--cert", str(pki.cert), "--key", str(pki.key),
            ],
            capture_output=True,
            text=True,
            cwd=folder,
            timeout=30,
        )  # fmt: skip
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr


def test_log_names_the_route_called(server: Server) -> None:
    review = shape("pod-create")
    review["request"]["uid"] = "routed"
    server.review(review, "/validate/enforce/default")
    (line,) = server.reviews_logged("routed")
    assert line["route"] == "/validate/enforce/default"


# ------------------------------------------------------------------ capacity under abuse

LIMITED = """\
fail_on: high
webhook:
  warn: low
  limits:
    max_connections: 30
    max_connections_per_client: 20
    handshake_timeout: 1
    max_large_reviews: 2
    # Ample for a large review on a loaded machine: these tests judge answers, not speed.
    large_review_timeout: 15
"""


@pytest.fixture(scope="module")
def limited(folder: Path, pki: Pki) -> Iterator[Server]:
    path = folder / "limited.yaml"
    path.write_text(LIMITED, encoding="utf-8")
    with serving(folder, pki=pki, config=path, args=["--client-timeout", "2"]) as s:
        yield s


def _idle(server: Server, source: str, n: int) -> list[ssl.SSLSocket]:
    """`n` connections from `source` (another loopback address) that ask for /healthz once
    and then stay open, idle, as keep-alive allows. Refused ones are left out."""
    out = []
    for _ in range(n):
        raw = socket.create_connection(
            ("127.0.0.1", server.port), timeout=5, source_address=(source, 0)
        )
        try:
            sock = server.context().wrap_socket(raw, server_hostname="localhost")
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            _answer(sock)
        except OSError:  # refused (at or just after the handshake)
            raw.close()
            continue
        out.append(sock)
    return out


def _metrics(server: Server) -> dict[str, float]:
    conn = server.connect()
    try:
        status, data, _ = server.request("GET", "/metrics", conn=conn)
    finally:
        conn.close()
    assert status == 200
    out = {}
    for line in data.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _until(server: Server, name: str, value: float, deadline: float = 10.0) -> dict[str, float]:
    end = time.monotonic() + deadline
    while True:
        m = _metrics(server)
        if m.get(name, 0) == value or time.monotonic() > end:
            return m
        time.sleep(0.05)


def _timed_review(server: Server, review: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
    conn = server.connect(timeout=10)
    start = time.monotonic()
    try:
        status, data, _ = server.request(
            "POST", "/validate", json.dumps(review).encode(),
            {"Content-Type": "application/json"}, conn=conn,
        )  # fmt: skip
    finally:
        conn.close()
    return status, json.loads(data) if status == 200 else {}, time.monotonic() - start


def test_a_thousand_idle_connections_do_not_stop_reviews(folder: Path, pki: Pki) -> None:
    """1,020 idle keep-alive connections from 12 addresses (85 each) against the default
    limits: idle connections make room, and the review is answered."""
    with serving(folder, pki=pki) as s:
        held: list[ssl.SSLSocket] = []
        try:
            for i in range(2, 14):
                held += _idle(s, f"127.0.0.{i}", 85)
            assert len(held) == 1020  # none refused: an idle one always makes room
            status, out, seconds = _timed_review(s, shape("pod-create"))
            assert (status, out["response"]["allowed"]) == (200, True)
            assert seconds < 5  # the API server's default timeout
            m = _metrics(s)
            assert m.get('deploysafe_connections_refused_total{reason="max_connections"}', 0) == 0
            # Each connection over 1,000 closed the one idle longest (the review's and the
            # metrics' connections too).
            assert m['deploysafe_connections_closed_total{reason="evicted"}'] == 22
            assert m["deploysafe_connections_open"] == 1000
        finally:
            for sock in held:
                sock.close()


def _closed_by_server(sock: ssl.SSLSocket, wait: float = 0.5) -> bool:
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def test_a_clients_new_connection_closes_its_own_longest_idle(limited: Server) -> None:
    evicted = 'deploysafe_connections_closed_total{reason="evicted"}'
    before = _metrics(limited).get(evicted, 0)
    held = _idle(limited, "127.0.0.2", 30)  # the per-client limit is 20
    try:
        assert len(held) == 30
        assert _until(limited, evicted, before + 10)[evicted] == before + 10
        assert [_closed_by_server(sock) for sock in held[:10]] == [True] * 10
        assert [_closed_by_server(sock, 0.02) for sock in held[10:]] == [False] * 20
    finally:
        for sock in held:
            sock.close()


def _busy(server: Server, source: str, n: int) -> list[ssl.SSLSocket]:
    """`n` connections from `source` with a request in flight: headers sent, the body
    not yet (so they hold their place until the client timeout)."""
    out = []
    for _ in range(n):
        raw = socket.create_connection(
            ("127.0.0.1", server.port), timeout=5, source_address=(source, 0)
        )
        sock = server.context().wrap_socket(raw, server_hostname="localhost")
        sock.sendall(_headers(1000) + b"{")
        out.append(sock)
    return out


def test_connections_with_requests_in_flight_are_refused_past_the_limits(
    limited: Server,
) -> None:
    """Only when no connection is idle is a new one refused, and counted."""
    refused = 'deploysafe_connections_refused_total{reason="%s"}'
    before = _metrics(limited)
    held = _busy(limited, "127.0.0.3", 20)  # this client's limit
    held += _busy(limited, "127.0.0.3", 1)  # refused: none of the 20 is idle
    try:
        assert _closed_by_server(held[-1])
        name = refused % "per_client"
        assert _until(limited, name, before.get(name, 0) + 1)[name] == before.get(name, 0) + 1
        # Another client is still served: 20 of the 30 connections are busy.
        status, out, _ = _timed_review(limited, shape("pod-create"))
        assert (status, out["response"]["allowed"]) == (200, True)
        held += _busy(limited, "127.0.0.4", 10)  # now all 30 are busy
        name = refused % "max_connections"
        late = _busy(limited, "127.0.0.5", 1)[0]
        held.append(late)
        assert _closed_by_server(late)
        # The client timeout (2 s here) ends the stalled requests: 408, counted.
        assert _answer(held[0]).startswith(b"HTTP/1.1 408 ")
        assert _answer(held[-2]).startswith(b"HTTP/1.1 408 ")
        after = _metrics(limited)
        assert after[name] == before.get(name, 0) + 1
        code = 'deploysafe_http_rejected_total{code="408"}'
        assert after[code] == before.get(code, 0) + 30
        status, out, _ = _timed_review(limited, shape("pod-create"))
        assert (status, out["response"]["allowed"]) == (200, True)
    finally:
        for sock in held:
            sock.close()


def test_a_connection_that_never_says_hello_is_dropped(limited: Server) -> None:
    """No TLS handshake at all: dropped after `limits.handshake_timeout` (1 s here)."""
    accepted = 'deploysafe_connections_total{stage="accepted"}'
    done = 'deploysafe_connections_total{stage="handshake_done"}'
    before = _metrics(limited)
    with socket.create_connection(("127.0.0.1", limited.port), timeout=5) as raw:
        start = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            assert raw.recv(4096) == b""
        assert time.monotonic() - start < 4
    after = _metrics(limited)
    # Counted: accepted, never through the handshake.
    assert (after[accepted] - before[accepted]) - (after[done] - before[done]) == 1


def test_stalled_headers_are_counted(limited: Server) -> None:
    name = 'deploysafe_connections_closed_total{reason="header_timeout"}'
    before = _metrics(limited).get(name, 0)
    stalled = _raw_tls(limited)
    stalled.sendall(b"POST /validate HTTP/1.1\r\nHost: loc")
    stalled.settimeout(5)
    with contextlib.suppress(ConnectionResetError, ssl.SSLEOFError):
        assert stalled.recv(4096) == b""
    stalled.close()
    assert _until(limited, name, before + 1)[name] == before + 1


def _large(uid: str) -> bytes:
    """A privileged Pod with 20,000 env entries: about 1.9 MiB, a tenth of a second of CPU
    to judge."""
    review = privileged(shape("pod-create"), ("spec",))
    review["request"]["uid"] = uid
    container = review["request"]["object"]["spec"]["containers"][0]
    container["env"] = [{"name": f"VAR_{i}", "value": "x" * 60} for i in range(20000)]
    return json.dumps(review).encode()


def _headers(length: int) -> bytes:
    return (
        b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {length}\r\n\r\n".encode()
    )


def _answer(sock: ssl.SSLSocket) -> bytes:
    """The status line and body of one answer (raises ConnectionResetError if none)."""
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                 .split(b":")[1])  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n")[0] + b"\r\n\r\n" + body


def test_ordinary_reviews_are_answered_while_large_ones_are_judged(limited: Server) -> None:
    bodies = [_large("large-1"), _large("large-2")]
    socks = [_raw_tls(limited) for _ in bodies]
    for sock, body in zip(socks, bodies, strict=True):
        sock.sendall(_headers(len(body)))  # a large review claims its slot at its headers
    time.sleep(0.3)
    # A third large review at once: 503, counted, before its body is read.
    before = _metrics(limited).get('deploysafe_http_rejected_total{code="503"}', 0)
    third = _raw_tls(limited)
    third.sendall(_headers(len(bodies[0])))
    assert _answer(third) == (
        b"HTTP/1.1 503 Service Unavailable\r\n\r\n2 large reviews are in progress; retry\n"
    )
    third.close()
    assert _metrics(limited)['deploysafe_http_rejected_total{code="503"}'] == before + 1
    answers: dict[int, bytes] = {}

    def send_and_wait(i: int) -> None:
        socks[i].sendall(bodies[i])
        answers[i] = _answer(socks[i])

    waiting = [threading.Thread(target=send_and_wait, args=(i,)) for i in range(2)]
    for t in waiting:
        t.start()
    # While they are judged (one process, one at a time),
    # ordinary reviews go through, each in well under the API server's 5 s.
    during = []
    while any(t.is_alive() for t in waiting):
        status, out, seconds = _timed_review(limited, shape("pod-create"))
        assert (status, out["response"]["allowed"]) == (200, True)
        assert seconds < 2
        during.append(seconds)
    assert len(during) >= 5
    for sock in socks:
        sock.close()
    for uid, answer in zip(("large-1", "large-2"), (answers[0], answers[1]), strict=True):
        line, _, body = answer.partition(b"\r\n\r\n")
        assert line == b"HTTP/1.1 200 OK"
        response = json.loads(body)["response"]
        assert response["uid"] == uid
        assert response["allowed"] is False
        assert response["status"]["message"].startswith(
            "deploysafe denied Pod shop/web (enforce high): DS201 "
            "/spec/containers/0/securityContext/privileged: container 'web' runs privileged"
        )
    # Judged in the judging process, logged by the server as any review.
    (logged,) = limited.reviews_logged("large-1")
    assert logged["denied"][0] == "DS201 /spec/containers/0/securityContext/privileged"


def test_reviews_past_the_in_flight_limit_get_503(folder: Path, pki: Pki) -> None:
    path = folder / "two-in-flight.yaml"
    path.write_text("webhook:\n  limits:\n    max_reviews_in_flight: 2\n", encoding="utf-8")
    with serving(folder, pki=pki, config=path, args=["--client-timeout", "2"]) as s:
        busy = _busy(s, "127.0.0.2", 2)
        try:
            time.sleep(0.2)  # both requests' headers are read
            status, data, headers = s.request(
                "POST", "/validate", b"{}", {"Content-Type": "application/json"}
            )
            assert (status, data) == (503, b"2 reviews are in progress; retry\n")
            assert headers["connection"] == "close"
            assert _answer(busy[0]).startswith(b"HTTP/1.1 408 ")
            assert _metrics(s)['deploysafe_http_rejected_total{code="503"}'] == 1
        finally:
            for sock in busy:
                sock.close()


def _judging(server: Server, deadline: float = 10) -> list[int]:
    """The pids of the server's judging processes, once there is one."""
    assert server.proc is not None
    pid = server.proc.pid
    end = time.monotonic() + deadline
    judging: list[int] = []
    while not judging and time.monotonic() < end:
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                if b"multiprocessing.spawn" in Path(f"/proc/{child}/cmdline").read_bytes():
                    judging.append(int(child))
        time.sleep(0.02)
    return judging


def test_judging_processes_end_with_a_killed_server(folder: Path, pki: Pki) -> None:
    """A server killed outright (SIGKILL: no shutdown code runs) leaves no judging process."""
    import os
    import signal

    path = folder / "defaults.yaml"
    path.write_text("fail_on: high\n", encoding="utf-8")
    with serving(folder, pki=pki, config=path) as s:
        assert s.proc is not None
        judging = _judging(s)
        assert len(judging) == 1
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(timeout=10)
        end = time.monotonic() + 10
        while Path(f"/proc/{judging[0]}").exists() and time.monotonic() < end:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(judging[0], os.WNOHANG)  # reaped by init, not by us, normally
            time.sleep(0.05)
        status = Path(f"/proc/{judging[0]}/stat")
        alive = status.exists() and status.read_text().split(") ")[1][0] != "Z"
        assert not alive


def test_a_judging_process_that_dies_fails_closed(folder: Path, pki: Pki) -> None:
    """The review in it is denied as an internal error; a new process judges the next."""
    import os
    import signal

    path = folder / "defaults.yaml"
    path.write_text("fail_on: high\n", encoding="utf-8")
    with serving(folder, pki=pki, config=path) as s:
        assert s.proc is not None
        body = _large("dies")
        judging = _judging(s)
        assert len(judging) == 1
        idle = _cpu_ticks(judging[0])
        sock = _raw_tls(s)
        sock.sendall(_headers(len(body)) + body)
        # Killed once it works on the review (its CPU time grows), not after a fixed wait:
        # a faster judge could answer first.
        end = time.monotonic() + 10
        while _cpu_ticks(judging[0]) == idle and time.monotonic() < end:
            time.sleep(0.001)
        os.kill(judging[0], signal.SIGKILL)
        line, _, answer = _answer(sock).partition(b"\r\n\r\n")
        sock.close()
        assert line == b"HTTP/1.1 200 OK"
        response = json.loads(answer)["response"]
        assert (response["uid"], response["allowed"], response["status"]["code"]) == (
            "dies",
            False,
            500,
        )
        (logged,) = s.reviews_logged("dies")
        assert logged["error"] == "BrokenProcessPool in judging process"
        status, out, _ = _timed_review(s, json.loads(_large("after")))
        assert status == 200
        assert out["response"]["uid"] == "after"
        assert out["response"]["status"]["code"] == 403


def _cpu_ticks(pid: int) -> int:
    """The CPU time (user and system, in clock ticks) process `pid` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _rlimit_as(pid: int) -> str:
    """A process's address space limit (soft, hard), once its start-up has set one."""
    end = time.monotonic() + 10
    while True:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max address space"):
                limit = " ".join(line.split()[3:5])
        if limit != "unlimited unlimited" or time.monotonic() > end:
            return limit
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("fail_open", "allowed", "code"), [(False, False, 500), (True, True, None)]
)
def test_a_large_review_past_its_deadline_is_answered_and_its_process_replaced(
    folder: Path, pki: Pki, fail_open: bool, allowed: bool, code: int | None
) -> None:
    """A 1.9 MiB review takes about 0.1 s of CPU: past a 0.02 s deadline it is answered as
    an internal error (allowed with a warning under --fail-open), and its judging process,
    still busy with it, is killed; a new one (with the same memory bound) takes over."""
    path = folder / "deadline.yaml"
    path.write_text(
        "fail_on: high\nwebhook:\n  limits:\n    large_review_timeout: 0.02\n"
        "    large_review_memory: 805306368\n",
        encoding="utf-8",
    )
    args = ["--fail-open"] if fail_open else []
    with serving(folder, pki=pki, config=path, args=args) as s:
        (first,) = _judging(s)
        assert _rlimit_as(first) == "805306368 805306368"
        status, out, _ = _timed_review(s, json.loads(_large("slow")))
        assert status == 200
        response = out["response"]
        assert (response["uid"], response["allowed"]) == ("slow", allowed)
        why = "deploysafe could not check this object (it was not judged within 0.02 s)"
        if fail_open:
            assert response["warnings"] == [
                f"{why}; allowed because the webhook runs with --fail-open"
            ]
        else:
            assert response["status"]["code"] == code
            assert response["status"]["message"].startswith(f"{why}, so it is denied")
        (logged,) = s.reviews_logged("slow")
        assert (logged["outcome"], logged["error"]) == ("error", "judging passed 0.02 s")
        # The busy process is gone (not left running the review); another replaced it.
        end = time.monotonic() + 10
        while Path(f"/proc/{first}").exists() and time.monotonic() < end:
            time.sleep(0.02)
        assert not Path(f"/proc/{first}").exists()
        (second,) = _judging(s)
        assert second != first
        assert _rlimit_as(second) == "805306368 805306368"


def test_a_body_that_swells_past_the_memory_bound_is_refused(folder: Path, pki: Pki) -> None:
    """7.7 MiB of empty objects parse to about 230 MiB: past the judging process's default
    192 MiB address space, HTTP 413; the process lives on and judges the next review."""
    path = folder / "defaults.yaml"
    path.write_text("fail_on: high\n", encoding="utf-8")
    review = shape("pod-create")
    review["request"]["uid"] = "swells"
    review["request"]["object"]["spec"]["x"] = [{}] * 2_700_000
    body = json.dumps(review, separators=(",", ":")).encode()
    with serving(folder, pki=pki, config=path) as s:
        (judging,) = _judging(s)
        assert _rlimit_as(judging) == "201326592 201326592"
        status, data, headers = s.request(
            "POST", "/validate", body, {"Content-Type": "application/json"}
        )
        assert (status, data) == (413, b"request body needs more than 201326592 bytes of "
                                        b"memory to judge\n")  # fmt: skip
        assert headers["connection"] == "close"
        assert _metrics(s)['deploysafe_http_rejected_total{code="413"}'] == 1
        status, out, _ = _timed_review(s, json.loads(_large("after")))
        assert (status, out["response"]["uid"]) == (200, "after")
        assert out["response"]["status"]["code"] == 403
        assert _judging(s) == [judging]
