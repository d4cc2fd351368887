"""Secret values are masked the same way wherever objects are shown."""

from __future__ import annotations

import json

from deploysafe.cluster.drift import FieldDiff, field_diffs
from deploysafe.k8s.masking import is_secret, masked, masked_value

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "data": {"password": "example-stored"},
    "stringData": {"token": "hun" + "ter2"},
}


def test_is_secret() -> None:
    assert is_secret(SECRET) is True
    assert is_secret({"apiVersion": "example.io/v1", "kind": "Secret"}) is True
    assert is_secret({"apiVersion": "v1", "kind": "ConfigMap"}) is False
    assert is_secret({}) is False


def test_masked_keeps_a_changing_marker() -> None:
    assert masked_value("hunter2") == "<masked> sha256:f52fbd32b2b3"
    assert masked(SECRET) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": "<masked> sha256:f337b7c8e9d0"},
        "stringData": {"token": "<masked> sha256:f52fbd32b2b3"},
    }
    config_map = {"kind": "ConfigMap", "data": {"password": "example-shown"}}
    assert masked(config_map) is config_map


def test_drift_masks_the_same_objects() -> None:
    live = {**SECRET, "data": {"password": "example-live"}, "stringData": {"token": "other"}}
    assert list(field_diffs(SECRET, live)) == [
        FieldDiff("/data/password", "<masked>", "<masked>"),
        FieldDiff("/stringData/token", "<masked>", "<masked>"),
    ]
    look_alike = {**SECRET, "apiVersion": "example.io/v1"}
    assert list(field_diffs(look_alike, live)) == [
        FieldDiff("/apiVersion", '"example.io/v1"', '"v1"'),
        FieldDiff("/data/password", "<masked>", "<masked>"),
        FieldDiff("/stringData/token", "<masked>", "<masked>"),
    ]


def test_masked_flags_what_the_secrets_rules_flag() -> None:
    from tests.support.secretgen import expand, fake_github_token

    token, password = fake_github_token(3), expand("Qz{an:14}", 5)

    def secret(value: str) -> str:
        return json.dumps({"kind": "Secret", "stringData": {"password": value}}) + "\n"

    applied = secret(password)
    obj = {
        "kind": "Deployment",
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}},
        "spec": {
            "env": [{"name": "DB_PASSWORD", "value": password}, {"name": "MODE", "value": "x"}],
            "args": [f"--token={token}", "serve"],
        },
    }
    assert masked(obj) == {
        "kind": "Deployment",
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": (
                    secret(masked_value(password)).replace(", ", ",").replace(": ", ":")
                )
            }
        },
        "spec": {
            "env": [
                {"name": "DB_PASSWORD", "value": masked_value(password)},
                {"name": "MODE", "value": "x"},
            ],
            "args": [f"--token={masked_value(token)}", "serve"],
        },
    }
