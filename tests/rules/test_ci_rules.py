"""CI rules on small repositories (tests/fixtures/ci/*): the exact (file, line, rule) of
every finding, from `# expect: DSnnn` comments in the files themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import scan
from tests.support import paths

FIXTURES = paths.FIXTURES / "ci"
_EXPECT = re.compile(r"(?:#|//)\s*expect:\s*([A-Z0-9, ]+)")
_CI_RULE = re.compile(r"DS[16]\d\d\Z")


def expectations(root: Path) -> set[tuple[str, int, str]]:
    out: set[tuple[str, int, str]] = set()
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = _EXPECT.search(line)
            if m:
                out.update((rel, n, rid.strip()) for rid in m.group(1).split(",") if rid.strip())
    return out


@pytest.mark.parametrize(
    "root", sorted(p for p in FIXTURES.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_fixture_repository(root: Path) -> None:
    report = scan([root], Config(), root=root, jobs=1)
    assert not report.errors, report.errors
    got = {(f.file, f.line, f.rule_id) for f in report.findings if _CI_RULE.match(f.rule_id)}
    assert sorted(got) == sorted(expectations(root))


EXAMPLES = paths.EXAMPLES / "ci"


def test_insecure_example() -> None:
    report = scan([EXAMPLES / "insecure"], Config(), root=EXAMPLES / "insecure", jobs=1)
    wf, gl = ".github/workflows/deploy.yml", ".gitlab-ci.yml"
    assert sorted((f.file, f.line, f.rule_id) for f in report.findings) == [
        (wf, 2, "DS104"),
        (wf, 7, "DS104"),
        (wf, 10, "DS107"),
        (wf, 12, "DS101"),
        (wf, 13, "DS603"),
        (wf, 14, "DS102"),
        (wf, 15, "DS104"),
        (wf, 15, "DS113"),
        (wf, 15, "DS601"),
        (wf, 18, "DS106"),
        (gl, 8, "DS604"),
        (gl, 10, "DS120"),
        (gl, 10, "DS602"),
        (gl, 16, "DS121"),
        (gl, 18, "DS606"),
    ]


def test_hardened_example() -> None:
    report = scan([EXAMPLES / "hardened"], Config(), root=EXAMPLES / "hardened", jobs=1)
    assert report.findings == () and report.errors == ()
