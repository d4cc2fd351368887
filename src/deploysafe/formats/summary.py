"""What a report adds up to, computed once for every format that shows it first: totals,
counts per severity, practice and rule, and the worst findings. A pure function of the
report."""

from __future__ import annotations

from deploysafe.engine import Report
from deploysafe.frozen import record
from deploysafe.model import Finding, Practice, Severity


@record
class RuleCount:
    """One rule's findings in a summary."""

    rule_id: str
    title: str
    practice: Practice
    severity: Severity  # the highest of its findings (a folded finding may raise it)
    count: int


@record
class Summary:
    """A report's counts, by severity, practice and rule, and its worst findings."""

    files: int
    documents: int
    findings: int  # not suppressed
    failing: int
    suppressed: int
    errors: int
    fail_on: Severity
    by_severity: tuple[tuple[Severity, int], ...]  # critical first, every severity
    by_practice: tuple[tuple[Practice, int], ...]  # in practice order, every practice
    by_rule: tuple[RuleCount, ...]  # most severe first, then most frequent, then by id
    worst: tuple[Finding, ...]  # up to WORST, most severe first, in report order within one

    def totals(self) -> str:
        """`4 file(s), 3 object(s) checked; 12 finding(s), 5 at or above high, ...`."""
        return (
            f"{self.files} file(s), {self.documents} object(s) checked; "
            f"{self.findings} finding(s), {self.failing} at or above {self.fail_on.label}, "
            f"{self.suppressed} suppressed, {self.errors} input error(s)"
        )


def summarize(report: Report) -> Summary:
    """Added up as the report was put together when it is on disk, else by one pass."""
    t = report.tally()
    by_rule = sorted(
        (
            RuleCount(rid, f.title, f.practice, t.highest[rid], t.rules[rid])
            for rid, f in t.firsts.items()
        ),
        key=lambda r: (-r.severity, -r.count, r.rule_id),
    )
    return Summary(
        files=report.files,
        documents=report.documents,
        findings=t.count - t.suppressed,
        failing=t.failing(report.fail_on),
        suppressed=t.suppressed,
        errors=len(report.errors),
        fail_on=report.fail_on,
        by_severity=tuple((s, t.severities[s]) for s in reversed(Severity)),
        by_practice=tuple((p, t.practices[p]) for p in Practice),
        by_rule=tuple(by_rule),
        worst=tuple(f for _, f in t.worst),
    )
