"""Secret values are masked the same way wherever objects are shown."""

from __future__ import annotations

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
