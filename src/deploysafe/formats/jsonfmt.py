"""JSON report, schema version 1 (documented in docs/output.md)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from deploysafe import __version__
from deploysafe.engine import Report, counted, skipped_by_reason, skipped_records
from deploysafe.formats import Quoted, dump_printable, printable_json, quote, stream_json
from deploysafe.formats.summary import summarize
from deploysafe.inputs.discover import Coverage, Outcome
from deploysafe.model import Finding, Level, Practice, Severity

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
        "renders": list(f.renders),
        "also": list(f.also),
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
    if f.set_by:
        out["set_by"] = _set_by(f)
    return out


def _set_by(f: Finding) -> list[dict[str, Any]]:
    return [{"file": s.file, "line": s.line, "column": s.column, "key": s.key} for s in f.set_by]


def finding_json(
    f: Finding, indent: str, quoted: Quoted | None = None, heads: Heads | None = None
) -> str:
    """`dump_printable(finding_dict(f), indent)`, written without the dict: a report's
    output time is mostly its findings. `quoted` holds the texts findings share from one
    call to the next (pointers too: a report repeats few), `heads` the fields up to the
    file's, which a rule's findings share."""
    q = Quoted() if quoted is None else quoted
    inner = indent + "  "
    key = (f.rule_id, f.title, f.practice, f.severity, indent)
    head = None if heads is None else heads.get(key)
    if head is None:
        head = (
            f'{{\n{inner}"rule_id": {q[f.rule_id]},\n{inner}"title": {q[f.title]},'
            f'\n{inner}"practice": {_PRACTICE[f.practice]},'
            f'\n{inner}"severity": {_SEVERITY[f.severity]},\n{inner}"file": '
        )
        if heads is not None:
            heads[key] = head
    fields = inner + "  "
    r = f.resource
    resource = "null"
    if r is not None:
        namespace = "null" if r.namespace is None else q[r.namespace]
        name = "null" if r.name is None else q[r.name]
        resource = (
            f'{{\n{fields}"kind": {q[r.kind]},\n{fields}"namespace": {namespace},'
            f'\n{fields}"name": {name}\n{inner}}}'
        )
    s = f.suppressed
    suppressed = (
        "null"
        if s is None
        else f'{{\n{fields}"source": {q[s.source]},\n{fields}"reason": {q[s.reason]},'
        f'\n{fields}"expires": {_nullable(s.expires)}\n{inner}}}'
    )
    pss = (
        ""
        if f.pss is None
        else f',\n{inner}"pss": {{\n{fields}"level": {_LEVEL[f.pss.level._value_]},'
        f'\n{fields}"check": {q[f.pss.check]}\n{inner}}}'
    )
    set_by = f',\n{inner}"set_by": ' + dump_printable(_set_by(f), inner) if f.set_by else ""
    renders = dump_printable(f.renders, inner) if f.renders else "[]"
    also = dump_printable(f.also, inner) if f.also else "[]"
    return (
        # A line and a column are ints: formatted as int.__repr__ writes them.
        f'{head}{q[f.file]},\n{inner}"line": {f.line},'
        f'\n{inner}"column": {f.column},\n{inner}"pointer": {q[f.pointer]},'
        f'\n{inner}"resource": {resource},\n{inner}"message": {quote(f.message)},'
        f'\n{inner}"fix": {q[f.fix]},\n{inner}"renders": {renders},\n{inner}"also": {also},'
        # A fingerprint is a hex digest: nothing in it to escape.
        f'\n{inner}"fingerprint": "{f.fingerprint}",\n{inner}"suppressed": {suppressed}'
        f"{pss}{set_by}\n{indent}}}"
    )


def _nullable(text: str | None) -> str:
    return "null" if text is None else quote(text)


_SEVERITY = {s: quote(s.label) for s in Severity}
_PRACTICE = {p: int.__repr__(p) for p in Practice}
# By value: an enum's hash and its `value` are Python calls.
_LEVEL = {level._value_: quote(level.value) for level in Level}
# The text of a finding up to its file's, by rule, title, practice, severity and indent.
Heads = dict[tuple[str, str, Practice, Severity, str], str]


def summary(report: Report) -> dict[str, Any]:
    totals = summarize(report)
    by_severity = dict(totals.by_severity)
    return {
        "files": report.files,
        "documents": report.documents,
        "skipped_documents": report.skipped,
        "findings": totals.findings,
        "suppressed": totals.suppressed,
        "failing": totals.failing,
        "errors": len(report.errors),
        "fail_on": report.fail_on.label,
        "by_severity": {s.label: by_severity[s] for s in Severity},
        "by_practice": {str(int(p)): n for p, n in totals.by_practice},
        # Most severe rule first, then the most frequent.
        "by_rule": {r.rule_id: r.count for r in totals.by_rule},
        "coverage": coverage_summary(report.coverage),
    }


def coverage_summary(records: Sequence[Coverage]) -> dict[str, Any]:
    outcomes: Counter[Outcome] = Counter()
    for (outcome, _), n in counted(records).items():
        outcomes[outcome] += n
    return {
        **{o.value: outcomes[o] for o in Outcome},
        "skipped_by_reason": {r.value: n for r, n in skipped_by_reason(records).items()},
    }


def coverage_dict(c: Coverage) -> dict[str, Any]:
    return {
        "file": c.path,
        "outcome": c.outcome.value,
        "reason": c.reason.value if c.reason is not None else None,
        "detail": c.reason.text if c.reason is not None else None,
        "renders": list(c.renders),
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
        "skipped_files": None,
        "notes": list(report.notes),
        "summary": summary(report),
    }
    quoted = Quoted()
    heads: Heads = {}
    # Streamed as the findings are: a large tree's unrendered templates are many.
    skipped = (
        {"file": c.path, "reason": c.reason.value, "detail": c.reason.text}
        for c in skipped_records(report.coverage)
        if c.reason is not None
    )
    return stream_json(
        doc,
        doc,
        "findings",
        report.findings,
        lambda f, indent: finding_json(f, indent, quoted, heads),
        more=[(doc, "skipped_files", skipped)],
    )


def render_plan(records: Sequence[Coverage]) -> str:
    """`scan --list-files --format json`: every path and what the scan does with it."""
    doc = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "deploysafe", "version": __version__},
        "files": [coverage_dict(c) for c in records],
        "summary": coverage_summary(records),
    }
    return json.dumps(printable_json(doc), indent=2, ensure_ascii=False) + "\n"


def render(report: Report) -> str:
    return "".join(chunks(report))
