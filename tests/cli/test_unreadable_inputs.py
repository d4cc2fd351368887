"""Folders and files the scan cannot read are input errors, never a silent skip.

Permissions are real: `chmod 000`. Root reads through them, so as root the scan runs
without the capabilities that let it (`setpriv`, util-linux), which is what a CI runner's
unprivileged user has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploysafe.cli.exits import EXIT_FINDINGS_AND_INPUT, EXIT_INPUT
from tests.support.scantools import PRIVILEGED_POD

_UNPRIVILEGED = ["--bounding-set=-dac_override,-dac_read_search"]


def _prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot deny a read")
    return [setpriv, *_UNPRIVILEGED]


def _scan(*args: str) -> tuple[int, dict[str, Any]]:
    exe = Path(sys.executable).with_name("deploysafe")
    if not exe.exists():
        pytest.skip("the deploysafe script is not installed next to this Python")
    proc = subprocess.run(
        [*_prefix(), str(exe), "scan", "--no-render", "-j", "1", "--format", "json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "repo"
    for rel in ("app/pod.yaml", "locked/pod.yaml", "open/secret.yaml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(PRIVILEGED_POD, encoding="utf-8")
    (root / "locked").chmod(0)
    (root / "open/secret.yaml").chmod(0)
    probe = subprocess.run([*_prefix(), "test", "-r", str(root / "open/secret.yaml")], check=False)
    if probe.returncode == 0:
        pytest.skip("this process reads a chmod 000 file: permissions cannot deny a read here")
    yield root
    (root / "locked").chmod(0o755)  # so the temporary folder can be removed


def _errors(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["file"], e["message"]) for e in doc["errors"]]


EXPECTED = [
    ("locked/", "cannot list this folder (Permission denied): its files are not scanned"),
    ("open/secret.yaml", "cannot read: Permission denied"),
]


def test_unlistable_folder_is_an_input_error(tree: Path) -> None:
    code, doc = _scan(str(tree))
    assert code == EXIT_FINDINGS_AND_INPUT
    assert _errors(doc) == EXPECTED
    assert doc["summary"]["errors"] == 2
    assert {(s["file"], s["reason"]) for s in doc["skipped_files"]} == {
        ("locked/", "unreadable"),
        ("open/secret.yaml", "unreadable"),
    }
    assert {f["file"] for f in doc["findings"]} == {"app/pod.yaml"}


def test_unlistable_folder_in_a_work_tree(tree: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    code, doc = _scan(str(tree))
    assert code == EXIT_FINDINGS_AND_INPUT
    assert _errors(doc) == EXPECTED


def test_only_unreadable_inputs_exit_as_input_errors(tree: Path) -> None:
    (tree / "app/pod.yaml").unlink()
    code, doc = _scan(str(tree))
    assert code == EXIT_INPUT
    assert _errors(doc) == EXPECTED
