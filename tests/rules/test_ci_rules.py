"""CI rules on small repositories (tests/fixtures/ci/*): the exact (file, line, rule) of
every finding, from `# expect: DSnnn` comments in the files themselves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import scan
from tests.support import paths
from tests.support.scantools import scan_tree, write_tree

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
def test_fixture_repository(root: Path, tmp_path: Path) -> None:
    # Each fixture is a repository of its own (GitLab includes start at its top level):
    # scanned in place it would be a folder of deploysafe's repository.
    repo = shutil.copytree(root, tmp_path / root.name)
    report = scan([repo], Config(), root=repo, jobs=1)
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


def test_one_injection_per_value_and_script(tmp_path: Path) -> None:
    """The same attacker-controlled value expanded twice into one script is one problem:
    one finding, at its first expansion, that counts them."""
    write_tree(
        tmp_path,
        {
            ".github/workflows/triage.yml": """\
name: triage
on: issues
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.event.issue.title }} / ${{ github.event.issue.title }}"
      - run: |
          echo "${{ github.event.issue.body }}"
          echo "${{ github.event.issue.body }}" > body.txt
          echo "${{ github.event.issue.title }}"
"""
        },
    )
    report = scan_tree(tmp_path)
    assert [(f.rule_id, f.line, f.column, f.message) for f in report.findings] == [
        (
            "DS102",
            8,
            24,
            "job 'greet' step 1: `github.event.issue.title` is attacker-controlled, "
            "expanded 2 times into the `run:` script",
        ),
        (
            "DS102",
            10,
            21,
            "job 'greet' step 2: `github.event.issue.body` is attacker-controlled, "
            "expanded 2 times into the `run:` script",
        ),
        (
            "DS102",
            12,
            21,
            "job 'greet' step 2: `github.event.issue.title` is attacker-controlled, "
            "expanded into the `run:` script",
        ),
    ]
    # Two findings on one `run:` value: their fingerprints are kept apart by occurrence.
    assert [f.occurrence for f in report.findings] == [0, 0, 1]
    assert len({f.fingerprint for f in report.findings}) == 3
