"""Every rule's documented fix does what its page shows: `before` scanned and fixed for real
becomes `after`, which the rule no longer reports, and fixing `after` changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.fix import Selection, Status, plan
from deploysafe.model import Severity, Target
from deploysafe.rules import BY_ID, REGISTRY
from deploysafe.rules.base import Rule
from tests.support.scantools import scan_tree, write_tree

FIXABLE = [r for r in REGISTRY if r.autofix is not None]
# Where each kind of file is found, so that the scan reads the example as that kind.
NAMES = {
    Target.GITHUB_WORKFLOW: ".github/workflows/example.yml",
    Target.GITHUB_ACTION: "action.yml",
    Target.DOCKERFILE: "Dockerfile",
    Target.TEXT: "build.sh",
}


def _fixed(root: Path, rule: Rule, text: str) -> tuple[str, list[Status]]:
    write_tree(root, {NAMES.get(rule.target, "pod.yaml"): text})
    selection = Selection(Severity.LOW, select=frozenset({rule.id}), unsafe=True)
    planned = plan(scan_tree(root).findings, BY_ID, root, selection)
    after = planned.changes[0].after if planned.changes else text
    return after, [o.status for o in planned.outcomes]


def test_the_rules_that_offer_fixes() -> None:
    assert sorted(r.id for r in FIXABLE) == [
        "DS102", "DS103", "DS104", "DS105", "DS111",
        "DS201", "DS202", "DS203", "DS205", "DS206", "DS207", "DS208", "DS209", "DS210",
        "DS211", "DS212", "DS214", "DS215", "DS216", "DS217", "DS218", "DS219",
        "DS320", "DS324",
        "DS502", "DS599", "DS603",
    ]  # fmt: skip
    # Only those that change nothing but the security setting are safe (in the usual case).
    assert sorted(r.id for r in FIXABLE if r.autofix and r.autofix.safe) == [
        "DS102", "DS103", "DS104", "DS105", "DS111", "DS215", "DS216"
    ]  # fmt: skip


@pytest.mark.parametrize("rule", FIXABLE, ids=[r.id for r in FIXABLE])
def test_before_becomes_after(rule: Rule, tmp_path: Path) -> None:
    assert rule.autofix is not None
    after, statuses = _fixed(tmp_path / "before", rule, rule.fix_before)
    assert after == rule.autofix.after
    assert statuses and set(statuses) == {Status.FIXED}
    again, statuses = _fixed(tmp_path / "after", rule, rule.autofix.after)
    assert (again, statuses) == (rule.autofix.after, [])
