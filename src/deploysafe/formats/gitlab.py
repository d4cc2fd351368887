"""GitLab's SAST security report (schema 15.0.x), so findings appear in merge requests and
the vulnerability report (`artifacts: reports: sast:`).

Files are named from the repository's top level, as GitLab links them; suppressed findings
are left out (GitLab has no place for them); an input that could not be read is a `warn`
message of the scan (the report is still complete for everything else).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from deploysafe import __version__
from deploysafe.engine import Report
from deploysafe.formats import sarif, stream_json
from deploysafe.model import Finding, Severity

SCHEMA_VERSION = "15.0.7"
SCHEMA = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/sast-report-format.json"
)
RULE_PAGE = "https://github.com/deploysafe/deploysafe/blob/main/docs/rules/{}.md"
# The schema's limits on a vulnerability's texts.
NAME_CHARS = 255
SOLUTION_CHARS = 7000
# Vulnerability ids are UUIDs in this namespace named by the SARIF fingerprint: stable across
# runs, so GitLab tracks a finding from one pipeline to the next.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/deploysafe/deploysafe")
_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}
_TOOL = {
    "id": "deploysafe",
    "name": "deploysafe",
    "url": "https://github.com/deploysafe/deploysafe",
    "vendor": {"name": "deploysafe"},
    "version": __version__,
}


def timestamp(when: datetime) -> str:
    """The schema's time format: UTC, to the second, no zone."""
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _vulnerability(f: Finding, fingerprint: str, report: Report) -> dict[str, Any]:
    where = f" ({f.resource.display()})" if f.resource else ""
    return {
        "id": str(uuid.uuid5(_NAMESPACE, fingerprint)),
        "name": _cut(f.title, NAME_CHARS),
        "description": f"{f.message}{where}.",
        "severity": _SEVERITY[f.severity],
        "solution": _cut(f.fix, SOLUTION_CHARS),
        "scanner": {"id": _TOOL["id"], "name": _TOOL["name"]},
        "location": {
            "file": sarif.repository_path(f.file, report) or f.file,
            "start_line": f.line,
        },
        "identifiers": [
            {
                "type": "deploysafe_rule_id",
                "name": f"deploysafe {f.rule_id}",
                "value": f.rule_id,
                "url": RULE_PAGE.format(f.rule_id),
            }
        ],
        "links": [{"name": f"{f.rule_id}: {f.title}", "url": RULE_PAGE.format(f.rule_id)}],
    }


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(report: Report, *, started: datetime, ended: datetime) -> Iterator[str]:
    active = (f for f in report.findings if f.suppressed is None)
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "scan": {
            "analyzer": _TOOL,
            "scanner": _TOOL,
            "type": "sast",
            "start_time": timestamp(started),
            "end_time": timestamp(ended),
            "status": "success",
            **(
                {
                    "messages": [
                        {
                            "level": "warn",
                            "value": f"{e.file}{f':{e.line}' if e.line else ''}: {e.message}",
                        }
                        for e in report.errors
                    ]
                }
                if report.errors
                else {}
            ),
        },
        "vulnerabilities": None,
    }
    vulnerabilities = (
        _vulnerability(f, fp, report) for f, fp in sarif.fingerprinted(active, report)
    )
    return stream_json(doc, doc, "vulnerabilities", vulnerabilities)


def render(report: Report, *, started: datetime, ended: datetime) -> str:
    return "".join(chunks(report, started=started, ended=ended))
