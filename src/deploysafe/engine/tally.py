"""What a report's findings add up to (counts per severity, practice and rule, the worst
few), added up as the report is put together: a large report is on disk, and a pass over
it reads and rebuilds every finding, so the summary and the exit code each reading it
again would cost the scan two more passes."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import attrgetter

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
        tally.extend(list(findings))
        return tally

    def extend(self, findings: Sequence[Finding]) -> None:
        """Add `findings`, the next in report order: counted by their few distinct
        (rule, severity, practice), not one by one."""
        start = self.count
        self.count += len(findings)
        counted = [f for f in findings if f.suppressed is None]
        self.suppressed += len(findings) - len(counted)
        for (rule, severity, practice), n in Counter(map(_COUNTED, counted)).items():
            self.rules[rule] += n
            self.severities[severity] += n
            self.practices[practice] += n
            self.highest[rule] = max(self.highest.get(rule, severity), severity)
        # Each rule's first: in a table made backwards, a rule's first is written last.
        backwards = counted[::-1]
        for rule, f in dict(zip(map(_RULE, backwards), backwards, strict=True)).items():
            self.firsts.setdefault(rule, f)
        # The worst: most severe first, then in report order (the sort is stable).
        self.worst = sorted(
            [*self.worst, *((start + i, counted[i]) for i in _worst(counted))], key=_worst_first
        )[:WORST]

    def failing(self, fail_on: Severity) -> int:
        """How many findings, not suppressed, are at or above `fail_on`."""
        return sum(n for s, n in self.severities.items() if s >= fail_on)


_COUNTED = attrgetter("rule_id", "severity", "practice")
_SEVERITY = attrgetter("severity")
_RULE = attrgetter("rule_id")


def _worst(findings: Sequence[Finding]) -> list[int]:
    """Where the `WORST` most severe of `findings` are, the first of each severity first:
    a few searches of their severities, not a sort of them."""
    severities = list(map(_SEVERITY, findings))
    top: list[int] = []
    for level in sorted(set(severities), reverse=True):
        at = -1
        with contextlib.suppress(ValueError):  # no more of this severity
            while len(top) < WORST:
                at = severities.index(level, at + 1)
                top.append(at)
        if len(top) == WORST:
            break
    return top


def _worst_first(entry: tuple[int, Finding]) -> tuple[int, int]:
    return (-entry[1].severity, entry[0])
