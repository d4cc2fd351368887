"""The mutating mode: a real `deploysafe serve --mutate` on 127.0.0.1 over HTTPS answers a
request it would deny with its findings' fixes as a JSON patch; the patch, applied by a
real JSON-patch implementation, gives an object that Pod Security allows at the policy's
level. What the fixes cannot make pass is denied, and errors fail closed."""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from deploysafe.cluster.webhook import review as rv
from deploysafe.cluster.webhook.app import create_app
from deploysafe.cluster.webhook.policy import Modes, Mutation, from_config
from deploysafe.model import LATEST, Document, Level, Severity
from deploysafe.rules import BY_ID
from deploysafe.rules.environment.pss import PSS_RULES
from deploysafe.rules.environment.pss.verdict import evaluate
from tests.support.policy import load as load_policy
from tests.support.webhook import Pki, Server, in_thread, make_pki, serving, shape

CONFIG = "policy: restricted\nfail_on: medium\nwebhook:\n  warn: off\n"
UID = "3f0c9a52-6a1e-4d8b-a7f4-1e2d3c4b5a60"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutate")


@pytest.fixture(scope="module")
def pki(folder: Path) -> Pki:
    return make_pki(folder / "pki")


def _config(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def safe(folder: Path, pki: Pki) -> Iterator[Server]:
    """Mutating mode from the serve flag."""
    config = _config(folder, "safe.yaml", CONFIG)
    with serving(folder, pki=pki, config=config, args=["--mutate", "safe"]) as s:
        yield s


@pytest.fixture(scope="module")
def unsafe(folder: Path, pki: Pki) -> Iterator[Server]:
    """Mutating mode from the policy file."""
    config = _config(folder, "unsafe.yaml", CONFIG + "  mutate: unsafe\n")
    with serving(folder, pki=pki, config=config) as s:
        yield s


def loose_pod() -> dict[str, Any]:
    """The hardened pod without allowPrivilegeEscalation: false and the pod's seccomp
    profile: what the two safe fixes set."""
    review = shape("pod-create")
    spec = review["request"]["object"]["spec"]
    del spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"]
    del spec["securityContext"]["seccompProfile"]
    return review


def privileged_pod() -> dict[str, Any]:
    review = shape("pod-create")
    review["request"]["object"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    return review


def patched(review: dict[str, Any], response: dict[str, Any]) -> Any:
    """The request's object with the response's patch applied, as the API server does."""
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    return jsonpatch.JsonPatch(ops).apply(copy.deepcopy(review["request"]["object"]))


def pss_allows(obj: Any, level: Level = Level.RESTRICTED) -> bool:
    doc = Document("patched.yaml", obj, {}, ())
    return evaluate(PSS_RULES, doc, level, LATEST).allowed


def test_safe_fixes_come_back_as_a_json_patch_the_object_then_passes(safe: Server) -> None:
    review = loose_pod()
    assert not pss_allows(review["request"]["object"])
    status, body = safe.review(review, "/mutate")
    assert status == 200
    response = body["response"]
    assert response["allowed"] is True
    assert json.loads(base64.b64decode(response["patch"])) == [
        {
            "op": "add",
            "path": "/spec/containers/0/securityContext/allowPrivilegeEscalation",
            "value": False,
        },
        {
            "op": "add",
            "path": "/spec/securityContext/seccompProfile",
            "value": {"type": "RuntimeDefault"},
        },
    ]
    assert response["warnings"] == [
        "deploysafe fixed DS215: set securityContext.allowPrivilegeEscalation: false",
        "deploysafe fixed DS216: set securityContext.seccompProfile: {type: RuntimeDefault}",
    ]
    after = patched(review, response)
    assert pss_allows(after)
    # The validating webhook, which the API server calls after the mutating one, allows it.
    again = copy.deepcopy(review)
    again["request"]["object"] = after
    _, validated = safe.review(again)
    assert validated["response"] == {"uid": UID, "allowed": True}
    (logged,) = [r for r in safe.reviews_logged(UID) if r["route"] == "/mutate"]
    assert logged["outcome"] == "patched"
    assert logged["fixed"] == [
        "DS215 /spec/containers/0/securityContext/allowPrivilegeEscalation",
        "DS216 /spec/containers/0/securityContext/seccompProfile",
    ]
    assert (
        safe.metrics()['deploysafe_admission_requests_total{operation="CREATE",outcome="patched"}']
        >= 1
    )


def test_the_validating_webhook_stays_as_it_is(safe: Server) -> None:
    status, body = safe.review(loose_pod())
    assert status == 200
    response = body["response"]
    assert response["allowed"] is False
    assert "patch" not in response and "patchType" not in response


def test_an_object_that_passes_is_not_patched(safe: Server) -> None:
    status, body = safe.review(shape("pod-create"), "/mutate")
    assert (status, body["response"]) == (200, {"uid": UID, "allowed": True})


def test_a_privileged_pod_is_denied_when_only_safe_fixes_are_allowed(safe: Server) -> None:
    review = privileged_pod()
    status, body = safe.review(review, "/mutate")
    assert status == 200
    response = body["response"]
    assert response["allowed"] is False
    assert "patch" not in response
    assert response["status"]["message"].startswith(
        "deploysafe denied Pod shop/web (enforce medium): DS201 "
        "/spec/containers/0/securityContext/privileged: container 'web' runs privileged"
    )


def test_label_routes_mutate_at_the_namespaces_level(safe: Server) -> None:
    # At enforce critical, the loose pod's medium findings do not deny: nothing to patch.
    status, body = safe.review(loose_pod(), "/mutate/enforce/critical")
    assert (status, body["response"]) == (200, {"uid": UID, "allowed": True})
    status, body = safe.review(loose_pod(), "/mutate/enforce/low")
    assert status == 200 and "patch" in body["response"]
    status, _ = safe.review(loose_pod(), "/mutate/warn/low")
    assert status == 404


def test_unsafe_fixes_when_the_operator_asked_for_them(unsafe: Server) -> None:
    review = privileged_pod()
    assert not pss_allows(review["request"]["object"], Level.BASELINE)
    status, body = unsafe.review(review, "/mutate")
    assert status == 200
    response = body["response"]
    assert response["allowed"] is True
    after = patched(review, response)
    assert "privileged" not in after["spec"]["containers"][0]["securityContext"]
    assert pss_allows(after, Level.BASELINE) and pss_allows(after, Level.RESTRICTED)


def test_what_no_fix_can_make_pass_is_denied_with_what_remains(unsafe: Server) -> None:
    review = privileged_pod()
    spec = review["request"]["object"]["spec"]
    spec["volumes"] = [{"name": "host", "hostPath": {"path": "/var/run"}}]
    status, body = unsafe.review(review, "/mutate")
    assert status == 200
    response = body["response"]
    assert response["allowed"] is False and "patch" not in response
    message = response["status"]["message"]
    assert message.startswith(
        "deploysafe denied Pod shop/web (enforce medium): DS236 /spec/volumes/0/"
    )
    assert "DS201" not in message.split(" (deploysafe can fix")[0]  # fixed, so not listed
    assert message.endswith(
        "(deploysafe can fix DS201 itself; what is listed needs a change to the object)"
    )


def test_the_mutating_path_is_not_served_when_the_mode_is_off(folder: Path, pki: Pki) -> None:
    config = _config(folder, "off.yaml", CONFIG)
    with serving(folder, pki=pki, config=config) as server:
        status, body = server.review(loose_pod(), "/mutate")
    assert status == 404
    assert body == {"error": "unknown path: the mutating mode is off\n"}


@pytest.mark.parametrize("fail_open", [False, True])
def test_an_error_computing_the_patch_fails_closed_unless_fail_open(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fail_open: bool,
) -> None:
    def broken(doc: Document, path: Any) -> Any:
        raise KeyError("a fixer's bug")

    rule = BY_ID["DS215"]
    assert rule.autofix is not None
    monkeypatch.setitem(BY_ID, "DS215", replace(rule, autofix=replace(rule.autofix, fixer=broken)))
    config = load_policy(_config(tmp_path, "deploysafe.yaml", CONFIG), "deploysafe.yaml")
    policy = from_config(config, mutate=Mutation.SAFE)
    app = create_app(config, policy, fail_open=fail_open)
    caplog.set_level(logging.INFO, logger="deploysafe")
    with in_thread(app, make_pki(tmp_path / "pki"), tmp_path) as server:
        status, body = server.review(loose_pod(), "/mutate")
    assert status == 200
    response = body["response"]
    assert response["allowed"] is fail_open
    assert "patch" not in response
    if not fail_open:
        assert response["status"]["code"] == 500
    (record,) = [r for r in caplog.records if r.getMessage() == "review"]
    assert record.__dict__["fields"]["outcome"] == "error"
    assert "a fixer's bug" not in str(record.__dict__["fields"])


# ------------------------------------------------------------------ routes, without a server


def test_mutating_routes_judge_by_enforce_alone(tmp_path: Path) -> None:
    text = CONFIG + "  mutate: safe\n  audit: info\n"
    policy = from_config(load_policy(_config(tmp_path, "d.yaml", text), "d.yaml"))
    assert rv.route_for(policy, mutate=True) == rv.Route(
        Modes(Severity.MEDIUM, None, None), path="/mutate", mutate=True
    )
    assert rv.route_for(policy, "enforce", "high", mutate=True) == rv.Route(
        Modes(Severity.HIGH, None, None),
        "deploysafe.io/enforce=high",
        path="/mutate/enforce/high",
        mutate=True,
    )
    with pytest.raises(LookupError):
        rv.route_for(policy, "audit", "low", mutate=True)
    with pytest.raises(LookupError):
        rv.route_for(replace(policy, mutate=Mutation.OFF), mutate=True)


def test_a_large_review_is_patched_by_its_judging_process(safe: Server) -> None:
    """Over `limits.large_review_bytes` (64 KiB), the review runs in a judging process."""
    review = loose_pod()
    review["request"]["object"]["metadata"]["annotations"] = {"example.com/notes": "x" * 70_000}
    status, body = safe.review(review, "/mutate")
    assert status == 200
    assert body["response"]["allowed"] is True
    assert pss_allows(patched(review, body["response"]))


def test_a_fix_that_does_not_fit_the_object_leaves_the_plain_denial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploysafe.rules.base import Edit, EditOp, Fix

    def misfit(doc: Document, path: Any) -> Fix:
        return Fix((Edit(EditOp.SET, ("kind", "x"), 1),), True, "set kind.x")

    rule = BY_ID["DS215"]
    assert rule.autofix is not None
    monkeypatch.setitem(BY_ID, "DS215", replace(rule, autofix=replace(rule.autofix, fixer=misfit)))
    config = load_policy(_config(tmp_path, "deploysafe.yaml", CONFIG), "deploysafe.yaml")
    policy = from_config(config, mutate=Mutation.SAFE)
    reviewer = rv.Reviewer(config, policy)
    req = rv.parse(json.dumps(loose_pod()).encode())
    verdict = reviewer.review(req, rv.route_for(policy, mutate=True))
    plain = reviewer.review(req, rv.route_for(policy))
    assert (verdict.allowed, verdict.code, verdict.patch) == (False, 403, ())
    assert verdict.message == plain.message
