"""`deploysafe fix --unsafe-fixes`, then a scan, on the CI and secrets examples: the fixed
findings are gone, nothing new appears, a second fix changes nothing, and zizmor no longer
finds template injection in the fixed workflow."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, scan
from deploysafe.fix import Selection, fix_tree, write
from deploysafe.model import Severity
from tests.support.paths import EXAMPLES

WORKFLOW = ".github/workflows/deploy.yml"


def _scan(root: Path) -> Report:
    return scan([root], Config(), root=root, render=RenderOptions(), jobs=1)


def _keys(report: Report) -> set[tuple[str, str, str]]:
    return {(f.file, f.rule_id, f.pointer) for f in report.findings}


def _said(
    report: Report, leave: frozenset[tuple[str, str, str]] = frozenset()
) -> set[tuple[str, str, str]]:
    """What each finding says, where: a pointer into a Dockerfile counts instructions,
    which an ARG removed above shifts."""
    return {
        (f.file, f.rule_id, f.message)
        for f in report.findings
        if (f.file, f.rule_id, f.pointer) not in leave
    }


def _fix(root: Path) -> list[str]:
    result = fix_tree([root], Config(), root, RenderOptions(), Selection(Severity.LOW, unsafe=True))
    write(result.changes)
    return sorted(c.file for c in result.changes)


@pytest.mark.parametrize(
    ("example", "fixed", "files"),
    [
        (
            "ci/insecure",
            {
                (WORKFLOW, "DS102", "/jobs/test/steps/2/run"),
                (WORKFLOW, "DS104", ""),
                (WORKFLOW, "DS104", "/jobs/test"),
                (WORKFLOW, "DS104", "/jobs/deploy"),
                (WORKFLOW, "DS603", "/jobs/test/steps/1/run"),
            },
            [WORKFLOW],
        ),
        (
            "secrets/insecure",
            {
                ("Dockerfile", "DS320", "/instructions/1"),
                ("ci/build-image.sh", "DS324", "/build-arg-flag/NPM_TOKEN/0"),
            },
            ["Dockerfile", "ci/build-image.sh"],
        ),
    ],
)
def test_fix_then_scan_leaves_only_what_was_not_fixed(
    example: str, fixed: set[tuple[str, str, str]], files: list[str], tmp_path: Path
) -> None:
    root = tmp_path / "example"
    shutil.copytree(EXAMPLES / example, root)
    before = _scan(root)
    assert fixed <= _keys(before)
    assert _fix(root) == files
    assert _said(_scan(root)) == _said(before, leave=frozenset(fixed))
    assert _fix(root) == []


def test_fixed_files_read_as_written(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    shutil.copytree(EXAMPLES / "secrets/insecure", root)
    _fix(root)
    assert (root / "Dockerfile").read_text() == (
        (EXAMPLES / "secrets/insecure/Dockerfile")
        .read_text()
        .replace("ARG NPM_TOKEN\n", "")
        .replace("RUN npm ci", "RUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci")
    )
    assert "--secret id=npm_token,env=NPM_TOKEN -t" in (root / "ci/build-image.sh").read_text()


def _zizmor(path: Path) -> set[str]:
    zizmor = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if zizmor is None:
        pytest.skip("zizmor is not installed (it comes with the dev extra)")
    done = subprocess.run(
        [zizmor, "--offline", "--format=json", "--color=never", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {f["ident"] for f in json.loads(done.stdout)}


def test_zizmor_finds_no_template_injection_after_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "ci"
    shutil.copytree(EXAMPLES / "ci/insecure", root)
    assert "template-injection" in _zizmor(root / WORKFLOW)
    _fix(root)
    assert "template-injection" not in _zizmor(root / WORKFLOW)
