"""Secrets detection measured against gitleaks' and detect-secrets' own labelled samples.

The data is read at run time from ../shared/conformance (tests/support/paths.py). The
asserted figures are the ones README.md reports: the test fails when recall drops or more
negatives are flagged.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents, sources
from deploysafe.model import Practice, Target
from deploysafe.secrets import gitleaks
from deploysafe.secrets.detect import DetectOptions, analyse
from tests.support import paths


def _root() -> Path | None:
    return paths.conformance("secrets")


ROOT = _root()
pytestmark = pytest.mark.skipif(ROOT is None, reason="conformance data (shared/conformance) absent")


def _rows(name: str) -> Iterator[dict[str, Any]]:
    assert ROOT is not None
    with gzip.open(ROOT / name, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _key(label: str, rule: str, text: str) -> str:
    return f"{label} {rule} {hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _all_explained(outcomes: list[tuple[str, bool, bool]], named: dict[str, str]) -> None:
    """Each (key, got, want) agrees, or its disagreement is named; no named one agrees."""
    wrong = [k for k, got, want in outcomes if got != want and k not in named]
    stale = [k for k, got, want in outcomes if got == want and k in named]
    assert not wrong, f"disagreements with no reason: {wrong}"
    assert not stale, f"these now agree; drop their reasons: {stale}"


def reported(text: str, name: str) -> bool:
    """Does any secrets rule (practice 3, or DS510) report something in this file?"""
    loaded = sources.load(text, name, {Target.TEXT, Target.KUBERNETES, Target.DOCKERFILE})
    report = check_documents(loaded.documents, Config())
    return any(f.practice is Practice.SECRETS or f.rule_id == "DS510" for f in report.findings)


# Where deploysafe and gitleaks' labels differ on purpose: "label rule-id sha256(text)[:12]"
# -> why. Everything else must agree: every positive found, no negative flagged.
GITLEAKS_DISAGREE: dict[str, str] = {
    # positives deploysafe does not report
    "tp jwt 0902dfd07007": "the header is corrupted (`alg` is not JSON): no server "
    "accepts it as a JWT, and deploysafe checks that header and payload decode",
    "tp jwt 898fe98c2bc6": "the same corrupted JWT header",
    "tp gcp-service-account f8c792f8e908": 'the bare line `"type": "service_account"` '
    "holds no key; a key file is reported by its private_key_id, which every real one has",
    "tp nuget-config-password e66e91b5cf6a": "`TestSource%Password%` takes its secret "
    "from the environment variable %Password%: a reference, not a committed password",
    "tp kubernetes-secret-yaml dc2b11e8a8a1": "the Secret holds only a CA certificate "
    "(`ca.pem`: one BEGIN CERTIFICATE block), which is public by design: nothing secret is "
    "committed",
    "tp slack-legacy-bot-token a05655612599": "the token spells FaKe and its team id is "
    "123456789012: a placeholder by deploysafe's markers",
    # negatives deploysafe reports
    "fp anthropic-api-key 379cb9fdc9ef": "an admin key: negative only for the api03 "
    "rule; gitleaks' own anthropic-admin-api-key rule reports it too",
    "fp anthropic-admin-api-key 4346ba48a5f0": "an api03 key: negative only for the admin "
    "rule; gitleaks' own anthropic-api-key rule reports it too",
    "fp curl-auth-header b9837ff3cbe6": "a signed JWT in an Authorization header: "
    "negative only for curl-auth-header; gitleaks' own jwt rule reports it too",
    "fp slack-user-token e6ba5be5877e": '`"token3": "xoxp-…"` with a 32-hex tail: '
    "negative only for slack-user-token; gitleaks' own generic-api-key reports it too",
    "fp mailchimp-api-key 94d36be7b191": "a key of Mailchimp's exact shape; gitleaks' "
    "test lists it under `// False Negative` (its regex misses the call syntax)",
    "fp freemius-secret-key 23ce48910f68": "gitleaks runs this rule on .php files only; "
    "a literal `secret_key` of 32 random characters is hard-coded in any file",
    "fp hashicorp-tf-password 199de2445acf": "gitleaks runs this rule on .tf/.hcl files "
    "only; a literal password assigned in a .js file is hard-coded all the same",
}


def test_gitleaks_samples() -> None:
    tp = fp = found = flagged = 0
    outcomes = []
    for row in _rows("gitleaks/rule_samples.jsonl.gz"):
        hit = reported(row["text"], row.get("name") or "snippet.txt")
        positive = row["label"] == "tp"
        if positive:
            tp, found = tp + 1, found + hit
        else:
            fp, flagged = fp + 1, flagged + hit
        outcomes.append((_key(row["label"], row["rule_id"], row["text"]), hit, positive))
    # README: finds 269 of 275 gitleaks positives, flags 7 of 321 negatives.
    assert (tp, fp) == (275, 321)
    _all_explained(outcomes, GITLEAKS_DISAGREE)
    assert (found, flagged) == (269, 7)


# detect-secrets groups for types deploysafe supports, and the file each group stands for.
_DS_FILES = {
    "CONFIG_TEST_CASES": "config.ini",
    "GOLANG_TEST_CASES": "main.go",
    "COMMON_C_TEST_CASES": "main.c",
    "C_PLUS_PLUS_TEST_CASES": "main.cpp",
    "QUOTES_REQUIRED_TEST_CASES": "app.py",
}
# Not secrets detection (IP addresses, YAML parsing, the pragma syntax), or IBM/Softlayer/
# Cloudant/Discord-specific plugins deploysafe has no type for.
_DS_SKIP = (
    "TestIPv4",
    "TestIBMCloudIam",
    "TestSoftlayer",
    "TestIbmCosHmac",
    "TestCloudant",
    "TestYAMLFileParser",
    "TestDiscord",
    "test_file_based",
    "test_is_prefixed",
    "test_is_not_alpha",
)


# Why deploysafe and detect-secrets disagree, by reason; each case is named below.
_PLACEHOLDER = "a placeholder body (xxxx, ZZZZ, EXAMPLE, username:password, helloworld_test)"
_PROSE = "a value with spaces is prose, not a credential"
_EXPRESSION = "an unquoted right-hand side in source code is an expression, not a literal"
_NO_OPERATOR = "no operator between the name and the literal: not an assignment"
_NOT_A_NAME = "`secrete` is not a credential name (key names are read as words, not substrings)"
_CALL = 'a constructor argument, `secret("…")`, is not read as an assignment'
_GITHUB = "a GitHub token: negative only for detect-secrets' GitLab plugin"
_SINGLE_QUOTES = "single quotes hold a string in most languages; C char literals get no exception"
_NPM = "a UUID after `_authToken=` is an npm token, with or without the slash before the colon"

DETECT_SECRETS_DISAGREE: dict[str, str] = {
    "tp C_PLUS_PLUS_TEST_CASES 466a2cf8fa29": _CALL,
    "tp GOLANG_TEST_CASES 1ed172827d2f": _EXPRESSION,
    "tp GOLANG_TEST_CASES 38cb853df36c": _EXPRESSION,
    "tp GOLANG_TEST_CASES 3c2af729f5c3": _EXPRESSION,
    "tp GOLANG_TEST_CASES 4fb65145e862": _EXPRESSION,
    "tp GOLANG_TEST_CASES a167894ced52": _EXPRESSION,
    "tp GOLANG_TEST_CASES aafb57562c73": _EXPRESSION,
    "tp GOLANG_TEST_CASES c08a078d7305": _EXPRESSION,
    "tp GOLANG_TEST_CASES cefe21ba980b": _EXPRESSION,
    "tp GOLANG_TEST_CASES e00537981d17": _EXPRESSION,
    "tp GOLANG_TEST_CASES e56518b57fec": _EXPRESSION,
    "tp GOLANG_TEST_CASES f00d0fe6a934": _EXPRESSION,
    "fp TestGitLabTokenDetector c38d66bafbcf": _GITHUB,
    "tp COMMON_C_TEST_CASES 3e1e4b059150": _NOT_A_NAME,
    "tp COMMON_C_TEST_CASES 8ca39a9cf342": _NOT_A_NAME,
    "tp CONFIG_TEST_CASES 0deb09041a9d": _NOT_A_NAME,
    "tp CONFIG_TEST_CASES d74e5a318225": _NOT_A_NAME,
    "tp C_PLUS_PLUS_TEST_CASES d9a2b415b003": _NOT_A_NAME,
    "tp GOLANG_TEST_CASES 3cce9bb983ef": _NOT_A_NAME,
    "tp GOLANG_TEST_CASES de20d0b18693": _NO_OPERATOR,
    "tp QUOTES_REQUIRED_TEST_CASES de20d0b18693": _NO_OPERATOR,
    "fp TestNpmDetector 1511e5e3c749": _NPM,
    "tp TestAWSKeyDetector 295cfae3fd03": _PLACEHOLDER,
    "tp TestAWSKeyDetector 39826ef62fa0": _PLACEHOLDER,
    "tp TestAWSKeyDetector 4f0dcce3c92d": _PLACEHOLDER,
    "tp TestAWSKeyDetector 739981308ada": _PLACEHOLDER,
    "tp TestAWSKeyDetector e63a04778968": _PLACEHOLDER,
    "tp TestAWSKeyDetector e9c80702d980": _PLACEHOLDER,
    "tp TestArtifactoryDetector 0cb580abecff": _PLACEHOLDER,
    "tp TestArtifactoryDetector 327aef098a03": _PLACEHOLDER,
    "tp TestArtifactoryDetector 4349c28fd594": _PLACEHOLDER,
    "tp TestArtifactoryDetector 5645b0d9d759": _PLACEHOLDER,
    "tp TestArtifactoryDetector 5a7b30546ca9": _PLACEHOLDER,
    "tp TestArtifactoryDetector 62495d635f21": _PLACEHOLDER,
    "tp TestArtifactoryDetector 6a78395bb0a3": _PLACEHOLDER,
    "tp TestArtifactoryDetector 8162ff058d0e": _PLACEHOLDER,
    "tp TestArtifactoryDetector 86f5e4387289": _PLACEHOLDER,
    "tp TestArtifactoryDetector 89055bed4c01": _PLACEHOLDER,
    "tp TestArtifactoryDetector a34b17c830c9": _PLACEHOLDER,
    "tp TestArtifactoryDetector aac4ce5ca141": _PLACEHOLDER,
    "tp TestArtifactoryDetector b8c80a1e9d02": _PLACEHOLDER,
    "tp TestArtifactoryDetector bb1e451b52b3": _PLACEHOLDER,
    "tp TestArtifactoryDetector cac926cb118d": _PLACEHOLDER,
    "tp TestArtifactoryDetector d4e58fa38563": _PLACEHOLDER,
    "tp TestArtifactoryDetector d730d97407ba": _PLACEHOLDER,
    "tp TestArtifactoryDetector dbd8684b75dc": _PLACEHOLDER,
    "tp TestArtifactoryDetector fcae3bded3bc": _PLACEHOLDER,
    "tp TestGitLabTokenDetector 9fe2365b3c23": _PLACEHOLDER,
    "tp TestNpmDetector 99451d838c5a": _PLACEHOLDER,
    "tp TestSlackDetector cb1098f5dfa8": _PLACEHOLDER,
    "tp TestTwilioKeyDetector 09f7262927b4": _PLACEHOLDER,
    "tp TestTwilioKeyDetector ce766f42a27a": _PLACEHOLDER,
    "tp CONFIG_TEST_CASES 29d876106da7": _PROSE,
    "tp CONFIG_TEST_CASES 5e59436642f2": _PROSE,
    "tp CONFIG_TEST_CASES 7ed48b2a8f85": _PROSE,
    "tp CONFIG_TEST_CASES 98696a3287d9": _PROSE,
    "tp CONFIG_TEST_CASES f321863fb13f": _PROSE,
    "fp COMMON_C_TEST_CASES 64fe8f0e47d6": _SINGLE_QUOTES,
    "fp COMMON_C_TEST_CASES 7d043e3b48c6": _SINGLE_QUOTES,
}


def test_detect_secrets_cases() -> None:
    agree = total = 0
    outcomes = []
    for row in _rows("detect-secrets/test_cases.jsonl.gz"):
        group = row["group"]
        if group.startswith(_DS_SKIP):
            continue
        if "is_secret" in row:
            want, name = bool(row["is_secret"]), _DS_FILES[group]
        elif row["param"] in ("should_flag", "should_flag(inferred)"):
            want, name = bool(row["label_value"]), "snippet.txt"
        elif row["param"] == "result":
            # test_is_templated_secret asserts "found"; the filter tests assert "filtered".
            templated = "templated" in group
            want, name = bool(row["label_value"]) == templated, "config.ini"
        else:
            continue
        total += 1
        result = analyse(row["text"], name)
        got = bool(result.tokens or result.credentials or result.defaults)
        agree += got == want
        label = "tp" if want else "fp"
        outcomes.append((_key(label, group.split(".")[0], row["text"]), got, want))
    # README: agrees on 206 of 265 detect-secrets cases; the other 59 are named above.
    assert total == 265
    _all_explained(outcomes, DETECT_SECRETS_DISAGREE)
    assert agree == 206


def test_gitleaks_rules_file_loads_and_finds() -> None:
    """--secrets-rules with gitleaks' own default config: its rules in deploysafe's engine."""
    assert ROOT is not None
    custom = gitleaks.load(ROOT / "gitleaks" / "config" / "gitleaks.toml")
    assert len(custom) == 221  # 222 rules, one matches file paths only
    options = DetectOptions(types=custom)
    tp = found = fp = flagged = 0
    for row in _rows("gitleaks/rule_samples.jsonl.gz"):
        hit = bool(analyse(row["text"], row.get("name") or "snippet.txt", options).tokens)
        if row["label"] == "tp":
            tp, found = tp + 1, found + hit
        else:
            fp, flagged = fp + 1, flagged + hit
    # README: with gitleaks' own rules loaded, finds 273 of 275 and flags 44 of 321 (path
    # allowlists are not applied; deploysafe's own rules flag 7).
    assert found >= 273, f"finds {found} of {tp}"
    assert flagged <= 44, f"flags {flagged} of {fp}"
