"""What a report's findings add up to (counts per severity, practice and rule, the worst
few), added up as the report is put together: a large report is on disk, and a pass over
it reads and rebuilds every finding, so the summary and the exit code each reading it
again would cost the scan two more passes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from deploysafe.model import Finding, Practice, Severity

# The worst findings a summary names; a report of no more findings than this shows them all
# in its details right below.
WORST = 5


class Tally:
    """Findings added in report order; suppressed ones are only counted."""

    __slots__ = (
        "count",
        "firsts",
        "highest",
        "practices",
        "rules",
        "severities",
        "suppressed",
        "worst",
    )

    def __init__(self) -> None:
        self.count = 0
        self.suppressed = 0
        self.firsts: dict[str, Finding] = {}  # each rule's first finding
        self.highest: dict[str, Severity] = {}
        self.severities: Counter[Severity] = Counter()
        self.practices: Counter[Practice] = Counter()
        self.rules: Counter[str] = Counter()
        # The worst with their places in the report: ties keep report order.
        self.worst: list[tuple[int, Finding]] = []

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Tally:
        tally = cls()
        for f in findings:
            tally.add(f)
        return tally

    def add(self, f: Finding) -> None:
        n = self.count
        self.count += 1
        if f.suppressed is not None:
            self.suppressed += 1
            return
        rule = f.rule_id
        self.firsts.setdefault(rule, f)
        self.rules[rule] += 1
        self.highest[rule] = max(self.highest.get(rule, f.severity), f.severity)
        self.severities[f.severity] += 1
        self.practices[f.practice] += 1
        worst = self.worst
        # A later finding enters only if it is more severe than the last of the worst.
        if len(worst) < WORST or f.severity > worst[-1][1].severity:
            worst.append((n, f))
            worst.sort(key=lambda e: (-e[1].severity, e[0]))
            del worst[WORST:]

    def failing(self, fail_on: Severity) -> int:
        """How many findings, not suppressed, are at or above `fail_on`."""
        return sum(n for s, n in self.severities.items() if s >= fail_on)
