"""JSON report, schema version 1 (documented in docs/output.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe import __version__
from deploysafe.engine import Report
from deploysafe.formats import stream_json
from deploysafe.model import Finding, Practice, Severity

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule_id": f.rule_id,
        "title": f.title,
        "practice": int(f.practice),
        "severity": f.severity.label,
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "pointer": f.pointer,
        "resource": (
            {"kind": f.resource.kind, "namespace": f.resource.namespace, "name": f.resource.name}
            if f.resource
            else None
        ),
        "message": f.message,
        "fix": f.fix,
        "fingerprint": f.fingerprint,
        "suppressed": (
            {
                "source": f.suppressed.source,
                "reason": f.suppressed.reason,
                "expires": f.suppressed.expires,
            }
            if f.suppressed
            else None
        ),
    }
    if f.pss is not None:
        out["pss"] = {"level": f.pss.level.value, "check": f.pss.check}
    if f.render is not None:
        out["render"] = f.render
    return out


def summary(report: Report) -> dict[str, Any]:
    active = [f for f in report.findings if f.suppressed is None]
    return {
        "files": report.files,
        "documents": report.documents,
        "skipped_documents": report.skipped,
        "findings": len(active),
        "suppressed": len(report.findings) - len(active),
        "failing": len(report.failing),
        "errors": len(report.errors),
        "fail_on": report.fail_on.label,
        "by_severity": {s.label: sum(1 for f in active if f.severity is s) for s in Severity},
        "by_practice": {str(int(p)): sum(1 for f in active if f.practice is p) for p in Practice},
    }


def chunks(report: Report) -> Iterator[str]:
    doc: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "deploysafe", "version": __version__},
        "findings": None,
        "errors": [
            {"file": e.file, "line": e.line, "message": e.message, "kind": e.kind}
            for e in report.errors
        ],
        "notes": list(report.notes),
        "summary": summary(report),
    }
    return stream_json(doc, doc, "findings", (finding_dict(f) for f in report.findings))


def render(report: Report) -> str:
    return "".join(chunks(report))
