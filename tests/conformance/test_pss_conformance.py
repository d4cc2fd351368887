"""Conformance with pod-security-admission's own test fixtures (../shared/conformance/pss).

Every pass fixture must be allowed at its level and version. Every fail fixture must be
forbidden by the check its file is named after (or by the restricted check that overrides
it) and by nothing else, except where the fixture cannot help breaking a second check
(`ALSO_BREAKS`): upstream only asserts that the named check is among the failures, and PSA
itself reports both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from deploysafe.inputs.documents import load_kubernetes
from deploysafe.model import Level, Version, parse_version
from deploysafe.rules.environment.pss import PSS_RULES
from deploysafe.rules.environment.pss.verdict import Verdict, active_rules, evaluate
from tests.support import paths


def _conformance_dir() -> Path | None:
    index = paths.conformance("pss/INDEX.json")
    return index.parent if index is not None else None


PSS_DIR = _conformance_dir()
SKIP_REASON = (
    "PSA conformance fixtures not found: set DEPLOYSAFE_CONFORMANCE to the shared "
    "conformance directory (the one holding pss/INDEX.json)"
)


def _entries() -> list[Mapping[str, Any]]:
    if PSS_DIR is None:
        return []
    index = json.loads((PSS_DIR / "INDEX.json").read_text())
    return list(index["fixtures"])


ENTRIES = _entries()


# Fail fixtures that break a second check as well, because the API server rejects the pod
# otherwise or because the generator removes a whole securityContext. The extra check only
# counts at levels/versions where it exists.
ALSO_BREAKS: Mapping[str, tuple[str, str]] = {
    # API validation: a HostProcess pod must set hostNetwork: true.
    "windowshostprocess0": ("hostnamespaces", "HostProcess pods must use the host network"),
    "windowshostprocess1": ("hostnamespaces", "HostProcess pods must use the host network"),
    # API validation: allowPrivilegeEscalation: false is invalid with privileged: true.
    "privileged0": ("allowprivilegeescalation", "privileged implies privilege escalation"),
    "privileged1": ("allowprivilegeescalation", "privileged implies privilege escalation"),
    # The fixture drops container1's whole securityContext, capabilities.drop included.
    "allowprivilegeescalation3": ("capabilities_restricted", "securityContext removed"),
}


def _judge(level: Level, version: Version, fixture_check: str) -> str:
    """The check that decides `fixture_check` at this level/version (after PSA overrides)."""
    for rule in active_rules(PSS_RULES, level, version):
        assert rule.pss is not None
        if fixture_check in {rule.pss.check.lower(), (rule.pss.overrides or "").lower()}:
            return rule.pss.check.lower()
    return fixture_check


@cache
def _verdict(path: str, level: str, version: str) -> Verdict:
    assert PSS_DIR is not None
    result = load_kubernetes((PSS_DIR / path).read_text(), path)
    assert not result.errors, result.errors
    assert len(result.documents) == 1, path
    return evaluate(PSS_RULES, result.documents[0], Level(level), parse_version(version))


def _agrees(entry: Mapping[str, Any]) -> tuple[bool, str]:
    level, version = Level(entry["level"]), parse_version(entry["version"])
    verdict = _verdict(entry["path"], entry["level"], entry["version"])
    got = {c.lower() for c in verdict.checks}
    if entry["expect"] == "allowed":
        return verdict.allowed, f"expected allowed, forbidden by {sorted(got)}"
    want = {_judge(level, version, entry["fixture_check"])}
    active = {r.pss.check.lower() for r in active_rules(PSS_RULES, level, version) if r.pss}
    extra = ALSO_BREAKS.get(Path(entry["path"]).stem)
    if extra is not None and extra[0] in active:
        want.add(extra[0])
    return got == want, f"expected forbidden by {sorted(want)}, got {sorted(got)}"


@pytest.mark.skipif(PSS_DIR is None, reason=SKIP_REASON)
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["path"] for e in ENTRIES])
def test_fixture(entry: Mapping[str, Any]) -> None:
    ok, why = _agrees(entry)
    assert ok, f"{entry['path']} at {entry['level']} {entry['version']}: {why}"


@pytest.mark.skipif(PSS_DIR is None, reason=SKIP_REASON)
def test_agreement_figure() -> None:
    agreed = sum(_agrees(e)[0] for e in ENTRIES)
    print(f"PSS conformance: agrees on {agreed} of {len(ENTRIES)}")
    assert len(ENTRIES) == 1286
    assert agreed == len(ENTRIES), f"agrees on {agreed} of {len(ENTRIES)}"


@pytest.mark.skipif(PSS_DIR is None, reason=SKIP_REASON)
def test_fail_fixtures_cover_every_check() -> None:
    """Every PSS rule is exercised by at least one upstream fail fixture."""
    named = {e["fixture_check"] for e in ENTRIES if e["expect"] == "forbidden"}
    for rule in PSS_RULES:
        assert rule.pss is not None
        assert rule.pss.check.lower() in named, rule.id
