"""What a report adds up to, computed once for every format that shows it first: totals,
counts per severity, practice and rule, and the worst findings. A pure function of the
report."""

from __future__ import annotations

from dataclasses import dataclass

from deploysafe.engine import Report
from deploysafe.model import Finding, Practice, Severity

# The worst findings a summary names; a report of no more findings than this shows them all
# in its details right below.
WORST = 5


@dataclass(frozen=True, slots=True)
class RuleCount:
    rule_id: str
    title: str
    practice: Practice
    severity: Severity  # the highest of its findings (a folded finding may raise it)
    count: int


@dataclass(frozen=True, slots=True)
class Summary:
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


def summarize(report: Report, *, worst: int = WORST) -> Summary:
    active = [f for f in report.findings if f.suppressed is None]
    rules: dict[str, list[Finding]] = {}
    for f in active:
        rules.setdefault(f.rule_id, []).append(f)
    by_rule = sorted(
        (
            RuleCount(rid, fs[0].title, fs[0].practice, max(f.severity for f in fs), len(fs))
            for rid, fs in rules.items()
        ),
        key=lambda r: (-r.severity, -r.count, r.rule_id),
    )
    # sorted is stable: report order (by place) within one severity.
    worst_first = sorted(active, key=lambda f: -f.severity)[:worst]
    return Summary(
        files=report.files,
        documents=report.documents,
        findings=len(active),
        failing=len(report.failing),
        suppressed=len(report.findings) - len(active),
        errors=len(report.errors),
        fail_on=report.fail_on,
        by_severity=tuple(
            (s, sum(1 for f in active if f.severity is s)) for s in reversed(Severity)
        ),
        by_practice=tuple((p, sum(1 for f in active if f.practice is p)) for p in Practice),
        by_rule=tuple(by_rule),
        worst=tuple(worst_first),
    )
