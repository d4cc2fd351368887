"""Per-rule fixtures: the exact (rule, line) pairs, from `# expect: DSnnn` comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import scan
from tests.support import paths

FIXTURES = paths.FIXTURES / "rules"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
_RULE_IN_NAME = re.compile(r"^(DS\d+)")


def expectations(path: Path) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _EXPECT.search(line)
        if m:
            out.update((rid.strip(), n) for rid in m.group(1).split(",") if rid.strip())
    return out


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_fixture(path: Path) -> None:
    expected = expectations(path)
    subject = {rid for rid, _ in expected}
    m = _RULE_IN_NAME.match(path.name)
    if m:
        subject.add(m.group(1))
    report = scan([path], Config(), root=path.parent, jobs=1)
    assert not report.errors, report.errors
    got = {(f.rule_id, f.line) for f in report.findings if f.rule_id in subject}
    assert got == expected
