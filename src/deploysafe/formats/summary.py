"""What a report adds up to, computed once for every format that shows it first: totals,
counts per severity, practice and rule, and the worst findings. A pure function of the
report."""

from __future__ import annotations

from collections import Counter
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
    """One pass over the findings, holding none but the worst (a large report is on disk)."""
    firsts: dict[str, Finding] = {}
    counts: Counter[str] = Counter()
    highest: dict[str, Severity] = {}
    severities: Counter[Severity] = Counter()
    practices: Counter[Practice] = Counter()
    suppressed = failing = 0
    # The worst with their places in the report: ties keep report order.
    worst_first: list[tuple[int, Finding]] = []
    for n, f in enumerate(report.findings):
        if f.suppressed is not None:
            suppressed += 1
            continue
        failing += f.severity >= report.fail_on
        firsts.setdefault(f.rule_id, f)
        counts[f.rule_id] += 1
        highest[f.rule_id] = max(highest.get(f.rule_id, f.severity), f.severity)
        severities[f.severity] += 1
        practices[f.practice] += 1
        # A later finding enters only if it is more severe than the last of the worst.
        if len(worst_first) < worst or (worst and f.severity > worst_first[-1][1].severity):
            worst_first.append((n, f))
            worst_first.sort(key=lambda e: (-e[1].severity, e[0]))
            del worst_first[worst:]
    by_rule = sorted(
        (
            RuleCount(rid, f.title, f.practice, highest[rid], counts[rid])
            for rid, f in firsts.items()
        ),
        key=lambda r: (-r.severity, -r.count, r.rule_id),
    )
    return Summary(
        files=report.files,
        documents=report.documents,
        findings=sum(counts.values()),
        failing=failing,
        suppressed=suppressed,
        errors=len(report.errors),
        fail_on=report.fail_on,
        by_severity=tuple((s, severities[s]) for s in reversed(Severity)),
        by_practice=tuple((p, practices[p]) for p in Practice),
        by_rule=tuple(by_rule),
        worst=tuple(f for _, f in worst_first),
    )
