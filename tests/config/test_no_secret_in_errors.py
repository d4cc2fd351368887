"""A credential pasted into the wrong key of deploysafe.yaml is never quoted back: an error
quotes a value only when it is short and neither a known secret nor random-looking."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploysafe.errors import ConfigError
from deploysafe.secrets.patterns import BY_ID
from deploysafe.secrets.redact import quotable, quoted
from tests.support.policy import load
from tests.support.secretgen import expand, fake_aws_key_id

TYPES = (
    "github-pat",
    "slack-bot-token",
    "stripe-secret-key",
    "gitlab-pat",
    "npm-token",
    "openai-api-key",
    "sendgrid-api-key",
    "vault-token",
    "huggingface-token",
    "dockerhub-token",
    "pypi-token",
)


def credential(n: int) -> str:
    """A fake credential of one of several kinds: token formats, an AWS key id, a random
    password."""
    if n < len(TYPES):
        return expand(BY_ID[TYPES[n]].example, seed=n)
    if n % 3 == 0:
        return fake_aws_key_id(seed=n)
    return expand("Pw{an:10}-{an:6}", seed=n)


def env(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tenant": "shop",
        "source": {"repos": ["github.com/acme/shop"], "refs": ["refs/heads/main"]},
        "render": {"helm": {"chart": "chart", "namespace": "shop"}},
        "target": {"repo": "github.com/acme/env", "branch": "main", "path": "prod"},
    }
    for key, value in over.items():
        section, _, sub = key.partition("__")
        if sub:
            base[section] = {**base[section], sub: value}
        else:
            base[key] = value
    return base


TENANTS = {"tenants": {"shop": {"namespaces": ["shop"]}}}

# Each: where a credential is pasted, as (policy file, the key the error names).
CASES: list[tuple[Callable[[str], dict[str, Any]], str]] = [
    (lambda c: {"policy": c}, "policy"),
    (lambda c: {"fail_on": c}, "fail_on"),
    (lambda c: {"pss_version": c}, "pss_version"),
    (lambda c: {"rules": {"DS201": {"severity": c}}}, "rules.DS201"),
    (lambda c: {"rules": {c: {"enabled": False}}}, "rules.<{n} characters, not shown>"),
    (lambda c: {c: True}, "<{n} characters, not shown>"),
    (lambda c: {"exceptions": [{"rule": c, "reason": "x"}]}, "exceptions.0.rule"),
    (
        lambda c: {"exceptions": [{"rule": "DS201", "reason": "x", "expires": c}]},
        "exceptions.0.expires",
    ),
    (lambda c: {"tenants": {"shop": {"namespaces": [c]}}}, "tenants.shop.namespaces.0"),
    (
        lambda c: {"tenants": {"shop": {"namespaces": ["shop"], "cluster_kinds": [c]}}},
        "tenants.shop.cluster_kinds.0",
    ),
    (lambda c: {"webhook": {"enforce": c}}, "webhook.enforce"),
    (lambda c: {**TENANTS, "environments": {"prod": env(tenant=c)}}, "environments.prod.tenant"),
    (
        lambda c: {**TENANTS, "environments": {"prod": env(source__refs=[c])}},
        "environments.prod.source.refs.0",
    ),
    (
        lambda c: {
            **TENANTS,
            "environments": {"prod": env(source__signed_by={"gpg": [c]})},
        },
        "environments.prod.source.signed_by.gpg.0",
    ),
    (
        lambda c: {
            **TENANTS,
            "environments": {"prod": env(source__signed_by={"gpg_keys": c})},
        },
        "environments.prod.source.signed_by.gpg_keys",
    ),
    (
        lambda c: {**TENANTS, "environments": {"prod": env(target__branch=c + "..x")}},
        "environments.prod.target.branch",
    ),
    (
        lambda c: {
            **TENANTS,
            "environments": {"prod": env(tests=[{"name": "u", "run": "true", "timeout": c}])},
        },
        "environments.prod.tests.0.timeout",
    ),
    (lambda c: {"secrets": {"managers": [c]}}, "secrets.managers.0"),
    (lambda c: {"secrets": {"placeholders": [c + "(["]}}, "secrets.placeholders.0"),
    (
        lambda c: {
            **TENANTS,
            "environments": {"prod": env(render__helm={"chart": "chart", "namespace": c})},
        },
        "environments.prod.render.namespace",
    ),
]


@pytest.mark.parametrize("n", range(len(CASES)))
def test_a_credential_in_the_wrong_key_is_not_quoted(tmp_path: Path, n: int) -> None:
    make, key = CASES[n]
    secret = credential(n)
    path = tmp_path / "deploysafe.yaml"
    path.write_text(json.dumps(make(secret)), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path, "deploysafe.yaml")
    text = str(err.value)
    assert f"deploysafe.yaml:1: {key.format(n=len(secret))}: " in text, text
    assert secret not in text
    for i in range(len(secret) - 7):
        assert secret[i : i + 8] not in text, text


def test_short_plain_values_are_still_quoted(tmp_path: Path) -> None:
    path = tmp_path / "deploysafe.yaml"
    path.write_text("policy: strict\nfail_on: urgent\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path, "deploysafe.yaml")
    assert str(err.value) == (
        "deploysafe.yaml:1: policy: 'strict' is not a valid Level\n"
        "deploysafe.yaml:2: fail_on: unknown severity 'urgent' "
        "(expected one of info, low, medium, high, critical)"
    )


def test_the_quoting_rule() -> None:
    assert [quotable(v) for v in ("refs/heads/release-2024", "ClusterRoleBinding", "v1.29")] == [
        True,
        True,
        True,
    ]
    assert quotable("Pw" + "k9mQ2vLp4zz") is False  # letters and digits mixed: generated
    assert quotable("x" * 65) is False
    assert quotable("tab\there") is False
    assert quoted("Qk" + "9mQ2vLp4zz") == "<12 characters, not shown>"
    assert quoted("strict") == "'strict'"
    assert quoted(3) == "3"


def test_yaml_problems_do_not_quote_a_credential(tmp_path: Path) -> None:
    secret = credential(0)
    path = tmp_path / "deploysafe.yaml"
    path.write_text(f"{secret}: 1\n{secret}: 2\npolicy: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load(path, "deploysafe.yaml")
    assert str(err.value) == (
        "deploysafe.yaml:2: duplicate key <40 characters, not shown>: the later value silently "
        "replaces the earlier one"
    )
