"""SARIF 2.1.0, with the fields GitHub code scanning reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe import __version__
from deploysafe.engine import Report
from deploysafe.formats import stream_json
from deploysafe.model import Finding, Severity
from deploysafe.rules import BY_ID
from deploysafe.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub ranks alerts by `security-severity` (0.0-10.0).
_SCORE = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.title.replace(" ", ""),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": f"{rule.why}\n\nFix: {rule.fix}",
            "markdown": f"{rule.why}\n\n**Fix:** {rule.fix}",
        },
        "helpUri": f"https://github.com/deploysafe/deploysafe/blob/main/docs/rules/{rule.id}.md",
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", f"practice-{int(rule.practice)}"],
            "security-severity": _SCORE[rule.severity],
            "precision": "very-high",
        },
    }


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": _LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column},
                },
                "logicalLocations": (
                    [{"fullyQualifiedName": f.resource.display() + f.pointer, "kind": "resource"}]
                    if f.resource
                    else []
                ),
            }
        ],
        **_related(f),
        "partialFingerprints": {"deploysafe/v1": f.fingerprint},
        "properties": {"security-severity": _SCORE[f.severity]},
    }
    if f.suppressed is not None:
        kind = "inSource" if f.suppressed.source in ("inline", "annotation") else "external"
        result["suppressions"] = [{"kind": kind, "justification": f.suppressed.reason}]
    return result


def _message(f: Finding) -> str:
    text = f"{f.message}. Fix: {f.fix}"
    if f.set_by:  # `[text](n)` links related location n in code scanning's view
        links = ", ".join(f"[{s.display()}]({n})" for n, s in enumerate(f.set_by, 1))
        text += f" Set by {links}."
    return text


def _related(f: Finding) -> dict[str, Any]:
    """The values file lines that set the value, as related locations the message links."""
    if not f.set_by:
        return {}
    return {
        "relatedLocations": [
            {
                "id": n,
                "physicalLocation": {
                    "artifactLocation": {"uri": s.file, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": s.line, "startColumn": s.column},
                },
                "message": {"text": f"set by {s.display()}"},
            }
            for n, s in enumerate(f.set_by, 1)
        ]
    }


def chunks(report: Report) -> Iterator[str]:
    used = sorted({f.rule_id for f in report.findings})
    rules = [BY_ID[r] for r in used if r in BY_ID]
    index = {r.id: i for i, r in enumerate(rules)}
    doc: dict[str, Any] = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "deploysafe",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/deploysafe/deploysafe",
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "results": None,
                "invocations": [
                    {
                        "executionSuccessful": not report.errors,
                        "toolExecutionNotifications": [
                            {
                                "level": "error",
                                "message": {"text": e.message},
                                "locations": [
                                    {
                                        "physicalLocation": {
                                            "artifactLocation": {"uri": e.file},
                                            **({"region": {"startLine": e.line}} if e.line else {}),
                                        }
                                    }
                                ],
                            }
                            for e in report.errors
                        ],
                    }
                ],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    run = doc["runs"][0]
    results = (_result(f, index) for f in report.findings if f.rule_id in index)
    return stream_json(doc, run, "results", results)


def render(report: Report) -> str:
    return "".join(chunks(report))
