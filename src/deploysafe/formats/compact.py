"""`--format compact`: one line per finding as linters print them,
`file:line:col: ID [severity] message (resource)`, then the input errors, the notes and one
line of totals. Editors' and CI's problem matchers read `file:line:col: message`."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.engine import Report
from deploysafe.formats.summary import summarize
from deploysafe.model import Finding
from deploysafe.printable import printable


def line(f: Finding) -> str:
    """One finding: its place, rule, severity, message and object, printable (a file name or
    a value cannot forge a second line)."""
    res = f" ({f.resource.display()})" if f.resource else ""
    sup = f" [suppressed ({f.suppressed.source}): {f.suppressed.reason}]" if f.suppressed else ""
    return printable(f"{f.file}:{f.line}:{f.column}: {f.rule_id} [{f.severity.label}] ") + (
        printable(f"{f.message}{res}{sup}")
    )


def chunks(report: Report, *, show_suppressed: bool = False) -> Iterator[str]:
    for f in report.findings:
        if show_suppressed or f.suppressed is None:
            yield line(f) + "\n"
    for e in report.errors:
        where = f"{e.file}:{e.line}" if e.line else e.file
        yield printable(f"{where}: error: {e.message}") + "\n"
    for note in report.notes:
        yield f"note: {printable(note)}\n"
    yield summarize(report).totals() + "\n"
