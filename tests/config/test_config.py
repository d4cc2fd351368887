"""deploysafe.yaml: values, and errors that name the key and its line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from deploysafe.errors import ConfigError
from deploysafe.model import Level, Severity
from tests.support.policy import load


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "deploysafe.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_full_config(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path,
            """\
policy: baseline
pss_version: v1.29
fail_on: medium
exclude: [vendor, "charts/*/tests"]
rules:
  DS201: {severity: low}
  DS217: {enabled: false}
exceptions:
  - rule: DS214
    resource: "Deployment/shop/*"
    reason: legacy image runs as root until the rebuild
    expires: 2027-01-31
suppressions: {inline: false}
""",
        )
    )
    assert cfg.policy is Level.BASELINE
    assert cfg.pss_version == (1, 29)
    assert cfg.fail_on is Severity.MEDIUM
    assert cfg.exclude == ("vendor", "charts/*/tests")
    assert cfg.rules["DS201"].severity is Severity.LOW
    assert cfg.rules["DS217"].enabled is False
    (exc,) = cfg.exceptions
    assert exc.rule == "DS214" and exc.expires == dt.date(2027, 1, 31)
    assert cfg.inline_suppressions is False and cfg.annotation_suppressions is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy: restricted\nfail_onn: high\n", "deploysafe.yaml:2: fail_onn: unknown key"),
        ("policy: strict\n", "deploysafe.yaml:1: policy: 'strict' is not a valid Level"),
        ("exclude: vendor\n", "deploysafe.yaml:1: exclude: expected a list of strings"),
        ("rules:\n  DS999: {enabled: false}\n", "deploysafe.yaml:2: rules.DS999: unknown rule id"),
        (
            "rules:\n  DS201:\n    enabled: nope\n",
            "deploysafe.yaml:3: rules.DS201.enabled: expected true or false",
        ),
        ("exceptions:\n  - rule: DS201\n", "deploysafe.yaml:2: exceptions.0: an exception needs"),
        ("pss_version: 2.0\n", "deploysafe.yaml:1: pss_version: expected a non-empty string"),
        ("policy: a\npolicy: b\n", "deploysafe.yaml:2: duplicate key 'policy'"),
        ("policy: [\n", "deploysafe.yaml:2: invalid YAML"),
    ],
)
def test_errors_name_key_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path, display="deploysafe.yaml")
    assert str(err.value).startswith(message)


def test_later_sections_are_accepted(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, "environments: {}\ntenants: {}\n"))
    assert cfg.policy is Level.RESTRICTED


def test_exception_rule_ids_are_checked_and_normalised(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, "exceptions:\n  - {rule: ds201, reason: vetted}\n"))
    assert cfg.exceptions[0].rule == "DS201"
    with pytest.raises(ConfigError) as err:
        load(
            write(tmp_path, "exceptions:\n  - {rule: DS9999, reason: vetted}\n"), "deploysafe.yaml"
        )
    assert str(err.value).startswith("deploysafe.yaml:2: exceptions.0.rule: unknown rule id")
