"""What a report's findings add up to, added up a block at a time as a report on disk is
written: the same as one pass over them."""

from __future__ import annotations

from deploysafe.engine.tally import Tally
from deploysafe.model import Finding, Practice, Severity, Suppression


def _finding(n: int, rule: str, severity: Severity, *, suppressed: bool = False) -> Finding:
    return Finding(
        rule_id=rule,
        title=f"title of {rule}",
        practice=Practice.DEFAULTS if rule < "DS3" else Practice.SECRETS,
        severity=severity,
        file=f"f{n:02d}.yaml",
        line=1,
        column=1,
        pointer="",
        resource=None,
        message=f"finding {n}",
        fix="fix",
        suppressed=Suppression("inline", "why") if suppressed else None,
    )


FINDINGS = [
    _finding(0, "DS201", Severity.LOW),
    _finding(1, "DS301", Severity.HIGH, suppressed=True),
    _finding(2, "DS202", Severity.MEDIUM),
    _finding(3, "DS201", Severity.HIGH),
    _finding(4, "DS301", Severity.CRITICAL),
    _finding(5, "DS202", Severity.MEDIUM),
    _finding(6, "DS201", Severity.HIGH),
    _finding(7, "DS202", Severity.MEDIUM),
    _finding(8, "DS301", Severity.LOW),
    _finding(9, "DS202", Severity.HIGH),
]


def _added(t: Tally) -> tuple[object, ...]:
    return (
        t.count,
        t.suppressed,
        t.firsts,
        t.highest,
        t.severities,
        t.practices,
        t.rules,
        [f for _, f in t.worst],
    )


def test_a_tally_counts_each_finding_and_names_the_worst_in_report_order() -> None:
    t = Tally.of(FINDINGS)
    assert t.count == 10 and t.suppressed == 1
    assert t.firsts == {"DS201": FINDINGS[0], "DS202": FINDINGS[2], "DS301": FINDINGS[4]}
    assert t.highest == {"DS201": Severity.HIGH, "DS202": Severity.HIGH, "DS301": Severity.CRITICAL}
    assert t.rules == {"DS201": 3, "DS202": 4, "DS301": 2}
    assert t.severities == {
        Severity.LOW: 2,
        Severity.MEDIUM: 3,
        Severity.HIGH: 3,
        Severity.CRITICAL: 1,
    }
    assert t.practices == {Practice.DEFAULTS: 7, Practice.SECRETS: 2}
    # The suppressed HIGH finding is not among them; ties keep report order.
    assert [f for _, f in t.worst] == [FINDINGS[i] for i in (4, 3, 6, 9, 2)]
    assert t.failing(Severity.HIGH) == 4


def test_a_tally_added_up_in_blocks_is_one_added_up_at_once() -> None:
    whole = Tally.of(FINDINGS)
    for size in (1, 2, 3, 4, 7):
        blocks = Tally()
        for at in range(0, len(FINDINGS), size):
            blocks.extend(FINDINGS[at : at + size])
        assert _added(blocks) == _added(whole)
