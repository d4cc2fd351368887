"""SARIF 2.1.0, with the fields GitHub code scanning reads."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from deploysafe import __version__
from deploysafe.engine import Report
from deploysafe.formats import rule_url, stream_json
from deploysafe.model import Finding, Severity
from deploysafe.rules import BY_ID
from deploysafe.rules.base import Rule

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
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


def severity_of(score: object) -> Severity | None:
    """The severity a result's `security-severity` stands for, None for a score we do not
    write (readers of a log take it back with this)."""
    return next((s for s, v in _SCORE.items() if v == score), None)


def rule_name(rule: Rule) -> str:
    """The title as an identifier (SARIF's `name`, which GitHub shows): PascalCase words,
    possessives dropped, e.g. `ContainersMustNotRunPrivileged`."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"'s?\b", "", rule.title))
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return name if name[:1].isalpha() else f"{rule.id}{name}"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": f"{rule.why}\n\nFix: {rule.fix}",
            "markdown": f"{rule.why}\n\n**Fix:** {rule.fix}",
        },
        "helpUri": rule_url(rule.id),
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", f"practice-{int(rule.practice)}"],
            "security-severity": _SCORE[rule.severity],
            "precision": "very-high",
        },
    }


def repository_path(file: str, report: Report) -> str | None:
    """A reported path as code scanning places it: relative to the repository's top level,
    whichever folder was scanned; None for a file outside the repository."""
    if not report.root:  # objects from no tree (a dump, a request): names as they are
        return file
    return _from_top(file, report.root, report.top or report.root)


# Findings come by file, and each is placed twice (its location, its fingerprint).
@functools.lru_cache(maxsize=256)
def _from_top(file: str, root: str, top: str) -> str | None:
    rel = os.path.relpath(os.path.normpath(os.path.join(root, file)), top)
    return None if rel == ".." or rel.startswith("../") else Path(rel).as_posix()


def _artifact(file: str, report: Report) -> dict[str, Any]:
    rel = repository_path(file, report)
    if rel is None:
        return {"uri": Path(os.path.normpath(os.path.join(report.root, file))).as_uri()}
    return {"uri": uri_path(rel), "uriBaseId": SRCROOT}


def uri_path(path: str) -> str:
    """A relative path as a URI reference: its exact bytes percent-encoded (RFC 3986), so a
    name that is not UTF-8 or holds a newline still names its file."""
    try:
        return quote(path.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a surrogate no file name holds: a name from elsewhere
        return quote(path.encode("utf-8", "surrogatepass"))


def _result(f: Finding, index: dict[str, int], fingerprint: str, report: Report) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index[f.rule_id],
        "level": _LEVEL[f.severity],
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(f.file, report),
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
        "partialFingerprints": {"deploysafe/v1": fingerprint},
        "properties": {
            "security-severity": _SCORE[f.severity],
            **({"renders": list(f.renders)} if f.renders else {}),
            **({"alsoReports": list(f.also)} if f.also else {}),
        },
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
                    "artifactLocation": {"uri": uri_path(s.file), "uriBaseId": SRCROOT},
                    "region": {"startLine": s.line, "startColumn": s.column},
                },
                "message": {"text": f"set by {s.display()}"},
            }
            for n, s in enumerate(f.set_by, 1)
        ]
    }


def chunks(report: Report) -> Iterator[str]:
    # One read for the rules and the count (a large report is read back from disk), one
    # for the results.
    seen: set[str] = set()
    failing = 0
    for f in report.findings:
        seen.add(f.rule_id)
        failing += report.fails(f)
    used = sorted(seen)
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
                                            "artifactLocation": _artifact(e.file, report),
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
    if report.root:
        top = Path(report.top or report.root)
        run["originalUriBaseIds"] = {SRCROOT: {"uri": top.as_uri().rstrip("/") + "/"}}
    run["invocations"][0]["properties"] = {
        "failing": failing,
        "failOn": report.fail_on.label,
        "inputErrors": len(report.errors),
    }
    shown = (f for f in report.findings if f.rule_id in index)
    results = (_result(f, index, fp, report) for f, fp in fingerprinted(shown, report))
    return stream_json(doc, run, "results", results)


def fingerprinted(findings: Iterable[Finding], report: Report) -> Iterator[tuple[Finding, str]]:
    """Each finding with its fingerprint, unique in the run (code scanning merges results
    that share one): the finding's own with its file named from the repository's top level (the
    same whichever folder was scanned), and for its second and later repeats (the same
    rule, file, resource and pointer, e.g. from two renders) `fingerprint:N`, in report
    order. A fingerprint holds its file, and findings come by file: one file's are kept."""
    seen: dict[str, int] = {}
    file = None
    for f in findings:
        if f.file != file:
            seen.clear()
            file = f.file
        rel = repository_path(f.file, report)
        fp = (replace(f, file=rel) if rel is not None and rel != f.file else f).fingerprint
        n = seen[fp] = seen.get(fp, 0) + 1
        yield f, (fp if n == 1 else f"{fp}:{n}")


def render(report: Report) -> str:
    return "".join(chunks(report))
