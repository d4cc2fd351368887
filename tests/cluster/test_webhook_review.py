"""The webhook's policy section, the review decision and the failure path, without a
separate process (the HTTP contract is in test_webhook_server.py)."""

from __future__ import annotations

import base64
import copy
import logging
import secrets
from pathlib import Path
from typing import Any

import pytest

from deploysafe import config as configmod
from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.app import create_app
from deploysafe.cluster.webhook.policy import Limits, Modes, from_config
from deploysafe.errors import ConfigError
from deploysafe.model import Severity
from tests.support import paths
from tests.support.policy import load as load_policy
from tests.support.webhook import in_thread, make_pki, shape


def load(tmp_path: Path, text: str) -> configmod.Config:
    path = tmp_path / "deploysafe.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path, "deploysafe.yaml")


def reviewer(tmp_path: Path, text: str = "") -> rv.Reviewer:
    cfg = load(tmp_path, text)
    return rv.Reviewer(cfg, from_config(cfg))


def privileged_pod() -> dict[str, Any]:
    review = shape("pod-create")
    review["request"]["object"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    return review


def verdict(r: rv.Reviewer, review: dict[str, Any], route: rv.Route | None = None) -> rv.Verdict:
    import json

    req = rv.parse(json.dumps(review).encode())
    return r.review(req, route or rv.route_for(r.policy))


# ------------------------------------------------------------------ the `webhook:` section


def test_defaults(tmp_path: Path) -> None:
    policy = from_config(load(tmp_path, "fail_on: critical\n"))
    assert policy.defaults == Modes(Severity.CRITICAL, Severity.LOW, None)
    assert policy.namespace == "deploysafe"
    assert policy.exempt_namespaces == ("kube-system",)
    assert policy.existing_violations == "warn"
    assert policy.max_body_bytes == 8 * 1024 * 1024
    assert policy.limits == Limits(
        max_connections=1000,
        max_connections_per_client=100,
        handshake_timeout=5.0,
        max_reviews_in_flight=256,
        large_review_bytes=65536,
        max_large_reviews=4,
        large_review_processes=1,
    )


def test_limits_are_read(tmp_path: Path) -> None:
    text = "webhook:\n  limits:\n    max_connections: 50\n    handshake_timeout: 2\n"
    limits = from_config(load(tmp_path, text)).limits
    assert limits == Limits(max_connections=50, handshake_timeout=2.0)


def test_levels_and_off(tmp_path: Path) -> None:
    policy = from_config(
        load(tmp_path, "webhook:\n  enforce: medium\n  warn: off\n  audit: info\n")
    )
    assert policy.defaults == Modes(Severity.MEDIUM, None, Severity.INFO)
    assert from_config(load(tmp_path, "webhook:\n  warn: 'off'\n")).defaults.warn is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "webhook:\n  enforce: strict\n",
            "deploysafe.yaml:2: webhook.enforce: unknown level 'strict' (expected one of "
            "critical, high, medium, low, info, off)",
        ),
        (
            "webhook:\n  mode: enforce\n",
            "deploysafe.yaml:2: webhook.mode: unknown key (known keys: audit, enforce, "
            "exempt, existing_violations, limits, max_body_bytes, mutate, namespace, tenants, "
            "warn)",
        ),
        (
            "webhook:\n  exempt:\n    namespaces: kube-system\n",
            "deploysafe.yaml:3: webhook.exempt.namespaces: expected a list of strings, got a "
            "string",
        ),
        (
            "webhook:\n  existing_violations: ignore\n",
            "deploysafe.yaml:2: webhook.existing_violations: expected `warn` or `deny`",
        ),
        (
            "webhook:\n  max_body_bytes: 10\n",
            "deploysafe.yaml:2: webhook.max_body_bytes: expected a number of bytes >= 1024",
        ),
        (
            "webhook:\n  limits:\n    max_conections: 10\n",
            "deploysafe.yaml:3: webhook.limits.max_conections: unknown key (known keys: "
            "handshake_timeout, large_review_bytes, large_review_memory, "
            "large_review_processes, large_review_timeout, max_connections, "
            "max_connections_per_client, max_large_reviews, max_reviews_in_flight); did you "
            "mean `max_connections`?",
        ),
        (
            "webhook:\n  limits:\n    large_review_timeout: 0\n",
            "deploysafe.yaml:3: webhook.limits.large_review_timeout: expected a number of "
            "seconds > 0",
        ),
        (
            "webhook:\n  limits:\n    large_review_memory: 1024\n",
            "deploysafe.yaml:3: webhook.limits.large_review_memory: expected a whole number >= "
            "134217728",
        ),
        (
            "webhook:\n  limits:\n    max_connections: 0\n",
            "deploysafe.yaml:3: webhook.limits.max_connections: expected a whole number >= 1",
        ),
        (
            "webhook:\n  limits:\n    large_review_bytes: 1.5\n",
            "deploysafe.yaml:3: webhook.limits.large_review_bytes: expected a whole number >= 1024",
        ),
        (
            "webhook:\n  limits:\n    handshake_timeout: -1\n",
            "deploysafe.yaml:3: webhook.limits.handshake_timeout: expected a number of seconds > 0",
        ),
        (
            "webhook:\n  limits: 100\n",
            "deploysafe.yaml:2: webhook.limits: expected a mapping, got int",
        ),
        (
            "tenants:\n  shop: {namespaces: [shop]}\nwebhook:\n  tenants:\n    payments:\n"
            "      users: [bob]\n",
            "deploysafe.yaml:5: webhook.tenants.payments: unknown tenant (tenants: shop)",
        ),
    ],
)
def test_section_errors_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_config(load(tmp_path, text))
    assert str(exc.value) == message


def test_namespace_override_and_literal_exemptions(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        "webhook:\n  namespace: policy\n  exempt:\n    namespaces: [kube-system, 'ci-*']\n",
    )
    assert from_config(cfg).namespace == "policy"
    policy = from_config(cfg, namespace="security")
    assert policy.namespace == "security"
    assert policy.literal_exempt_namespaces() == ["kube-system", "security"]


# ------------------------------------------------------------------ decisions


def test_annotation_suppression_can_be_switched_off(tmp_path: Path) -> None:
    review = privileged_pod()
    review["request"]["object"]["metadata"]["annotations"] = {
        "deploysafe.io/ignore": "DS201: GPU driver"
    }
    on = verdict(reviewer(tmp_path), review)
    assert (on.allowed, [f.rule_id for f in on.suppressed]) == (True, ["DS201"])
    off = verdict(reviewer(tmp_path, "suppressions:\n  annotations: false\n"), review)
    assert (off.allowed, [f.rule_id for f in off.denied]) == (False, ["DS201"])


def test_annotation_without_reason_is_reported_as_a_warning(tmp_path: Path) -> None:
    review = privileged_pod()
    review["request"]["object"]["metadata"]["annotations"] = {"deploysafe.io/ignore": "DS201:"}
    v = verdict(reviewer(tmp_path), review)
    assert v.allowed is False
    assert v.warnings == (
        "deploysafe: deploysafe.io/ignore entry for DS201: a suppression needs a reason",
    )


def test_an_unreadable_annotation_is_not_quoted_when_it_may_be_a_secret(tmp_path: Path) -> None:
    import json

    from tests.support.secretgen import expand, fake_github_token

    token, password = fake_github_token(31), expand("Wp{an:9}-{an:7}", seed=33)
    review = privileged_pod()
    review["request"]["object"]["metadata"]["annotations"] = {
        "deploysafe.io/ignore": f"{token}; password={password}; {password}; DS201 GPU; "
        f"DS212: rotated, was {token}"
    }
    v = verdict(reviewer(tmp_path), review)
    assert v.warnings == (
        "deploysafe: cannot read deploysafe.io/ignore entry 'DS201 GPU' (want `ID: reason`)",
        "deploysafe: cannot read deploysafe.io/ignore entry <19 characters, not shown> "
        "(want `ID: reason`)",
        "deploysafe: cannot read deploysafe.io/ignore entry <28 characters, not shown> "
        "(want `ID: reason`)",
        "deploysafe: cannot read deploysafe.io/ignore entry <40 characters, not shown> "
        "(want `ID: reason`)",
    )
    sent = json.dumps(rv.response("uid", v))
    for secret in (token, password):
        assert secret not in sent and secret[4:-4] not in sent


def test_config_exceptions_apply(tmp_path: Path) -> None:
    r = reviewer(
        tmp_path,
        "exceptions:\n  - rule: DS201\n    resource: 'Pod/shop/*'\n    reason: GPU nodes\n",
    )
    v = verdict(r, privileged_pod())
    assert v.allowed is True
    assert [(f.rule_id, f.suppressed.source if f.suppressed else None) for f in v.suppressed] == [
        ("DS201", "config")
    ]


def test_existing_violations_can_be_denied_too(tmp_path: Path) -> None:
    review = shape("deployment-update")
    for key in ("object", "oldObject"):
        spec = review["request"][key]["spec"]["template"]["spec"]
        spec["containers"][0]["securityContext"] = {"privileged": True}
    assert verdict(reviewer(tmp_path), review).allowed is True
    strict = reviewer(tmp_path, "webhook:\n  existing_violations: deny\n")
    v = verdict(strict, review)
    assert (v.allowed, [f.rule_id for f in v.denied]) == (False, ["DS201"])


def test_repository_only_and_whole_set_rules_do_not_run(tmp_path: Path) -> None:
    secret = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "s",
            "kind": {"group": "", "version": "v1", "kind": "Secret"},
            "resource": {"group": "", "version": "v1", "resource": "secrets"},
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "object": {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db", "namespace": "shop"},
                "data": {"password": base64.b64encode(secrets.token_bytes(18)).decode()},
            },
        },
    }
    r = reviewer(tmp_path)
    route = rv.route_for(r.policy, "warn", "info")
    v = verdict(r, secret, route)
    assert (v.allowed, v.warnings) == (True, ())  # DS310 is about committed files
    # DS509 (NetworkPolicy coverage) needs the whole set; one object cannot tell.
    v = verdict(r, shape("pod-create"), route)
    assert v.warnings == ()


def test_warnings_are_capped(tmp_path: Path) -> None:
    review = shape("pod-create")
    spec = review["request"]["object"]["spec"]
    base = copy.deepcopy(spec["containers"][0])
    spec["containers"] = []
    for i in range(30):
        c = copy.deepcopy(base)
        c["name"] = f"c{i}"
        c["resources"] = {}
        spec["containers"].append(c)
    v = verdict(reviewer(tmp_path), review)
    assert len(v.warnings) == rv.MAX_WARNINGS
    assert v.warnings[-1] == "deploysafe: 41 more; run deploysafe scan"
    assert all(len(w) <= rv.WARNING_CHARS for w in v.warnings)


def test_tenant_from_service_account_namespace_and_listed_users(tmp_path: Path) -> None:
    r = reviewer(
        tmp_path,
        "tenants:\n  shop: {namespaces: [shop, 'shop-*']}\n  pay: {namespaces: [pay]}\n"
        "webhook:\n  tenants:\n    pay:\n      groups: [payments-team]\n",
    )
    assert [t.name for t in r.tenants_of("system:serviceaccount:shop-dev:ci", [])] == ["shop"]
    assert [t.name for t in r.tenants_of("carol", ["payments-team"])] == ["pay"]
    both = r.tenants_of("system:serviceaccount:shop:ci", ["payments-team"])
    assert [t.name for t in both] == ["pay", "shop"]
    assert r.tenants_of("system:serviceaccount:other:ci", []) == []
    # Acting for both, an object in shop escapes pay's namespaces: fail closed.
    review = shape("pod-create")
    review["request"]["userInfo"] = {
        "username": "system:serviceaccount:shop:ci",
        "groups": ["payments-team"],
    }
    v = verdict(r, review)
    assert (v.allowed, [f.rule_id for f in v.denied], v.tenants) == (
        False,
        ["DS401"],
        ("pay", "shop"),
    )


def test_invalid_warn_and_audit_labels_do_not_deny(tmp_path: Path) -> None:
    r = reviewer(tmp_path)
    v = verdict(r, shape("pod-create"), rv.route_for(r.policy, "warn", "invalid"))
    assert v.allowed is True
    assert v.warnings == (
        "deploysafe: namespace shop: unknown deploysafe.io/warn level; use critical, high, "
        "medium, low, info or off",
    )
    v = verdict(r, shape("pod-create"), rv.route_for(r.policy, "audit", "invalid"))
    assert v.allowed is True
    assert set(v.audit) == {"invalid-label"}


# ------------------------------------------------------------------ failing closed


class Broken(rv.Reviewer):
    def review(self, req: rv.Request, route: rv.Route) -> rv.Verdict:
        raise KeyError("a rule's bug")


@pytest.mark.parametrize("fail_open", [False, True])
def test_internal_errors_fail_closed_unless_fail_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fail_open: bool
) -> None:
    """The one test with a stand-in: a reviewer that raises, served for real over HTTPS."""
    cfg = load(tmp_path, "")
    policy = from_config(cfg)
    app = create_app(cfg, policy, fail_open=fail_open, reviewer=Broken(cfg, policy))
    caplog.set_level(logging.INFO, logger="deploysafe")
    with in_thread(app, make_pki(tmp_path / "pki"), tmp_path) as server:
        status, body = server.review(shape("pod-create"))
    assert status == 200
    response = body["response"]
    if fail_open:
        assert response == {
            "uid": "3f0c9a52-6a1e-4d8b-a7f4-1e2d3c4b5a60",
            "allowed": True,
            "warnings": [
                "deploysafe could not check this object (internal error); allowed because the "
                "webhook runs with --fail-open"
            ],
        }
    else:
        assert response == {
            "uid": "3f0c9a52-6a1e-4d8b-a7f4-1e2d3c4b5a60",
            "allowed": False,
            "status": {
                "code": 500,
                "reason": "InternalError",
                "message": "deploysafe could not check this object (internal error), so it is "
                "denied: the webhook fails closed. Its log has the details; retry, or ask the "
                "operators.",
            },
        }
    (record,) = [r for r in caplog.records if r.getMessage() == "review"]
    fields = record.__dict__["fields"]
    assert fields["outcome"] == "error"
    assert fields["error"].startswith("KeyError in review (")
    assert "a rule's bug" not in str(fields)  # the exception's text may quote input


def test_docs_worked_example_is_what_the_server_answers(tmp_path: Path) -> None:
    """docs/webhook.md: the request, the policy file and the response of the worked example."""
    import json
    import re

    page = (paths.DOCS / "webhook.md").read_text()
    example = page[page.index("## A worked example") :]
    policy = re.search(r"```yaml\n(.*?)```", example, re.S)
    request = re.search(r"### Request.*?```json\n(.*?)```", example, re.S)
    response = re.search(r"### Response.*?```json\n(.*?)```", example, re.S)
    assert policy and request and response
    r = reviewer(tmp_path, policy.group(1))
    body = request.group(1).encode()
    req = rv.parse(body)
    got = rv.response(req.uid, r.review(req, rv.route_for(r.policy)))
    assert got == json.loads(response.group(1))


def test_a_rule_that_cannot_judge_the_object_fails_the_review(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a warning: the object was not fully checked, so the review errors (and the
    server then denies unless --fail-open, as above)."""
    from dataclasses import replace

    from deploysafe.rules import BY_ID

    def broken(doc, ctx):  # type: ignore[no-untyped-def]
        raise KeyError("boom")
        yield

    monkeypatch.setitem(BY_ID, "DS201", replace(BY_ID["DS201"], check=broken))
    r = reviewer(tmp_path)
    with pytest.raises(RuntimeError, match="rule DS201 failed on this document"):
        verdict(r, shape("pod-create"), rv.route_for(r.policy, "enforce", "high"))


def test_a_judging_process_keeps_no_object_alive_after_a_review(tmp_path: Path) -> None:
    """The pod caches would hold the last large objects (hundreds of MiB at 8 MiB each)."""
    import json

    from deploysafe.cluster.webhook import pool
    from deploysafe.k8s import pods

    cfg = load(tmp_path, "fail_on: high\n")
    policy = from_config(cfg)
    pool.prepare(cfg, policy)
    review = shape("pod-create")
    review["request"]["object"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    out = pool.judge(json.dumps(review).encode(), rv.route_for(policy))
    assert out.verdict is not None
    assert [f.rule_id for f in out.verdict.denied] == ["DS201"]
    assert out.request is not None and out.request.obj is None  # not sent back
    assert pods.pod_template.cache_info().currsize == 0
