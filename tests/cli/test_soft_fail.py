"""Soft-fail through the installed CLI: `--fail-on never` and `--ignore-input-errors` take
one fact out of the exit status, never usage errors, and the report still says everything."""

from __future__ import annotations

import json
from pathlib import Path

from deploysafe.cli.exits import (
    EXIT_CLEAN,
    EXIT_EMPTY,
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_USAGE,
)
from tests.support import paths
from tests.support.cliproc import run
from tests.support.scantools import PRIVILEGED_POD

INSECURE = paths.EXAMPLES / "insecure"


def test_fail_on_never_reports_findings_and_exits_0() -> None:
    failing = run("scan", str(INSECURE), "--format", "json")
    assert failing.returncode == EXIT_FINDINGS
    soft = run("scan", str(INSECURE), "--format", "json", "--fail-on", "never")
    assert soft.returncode == EXIT_CLEAN, soft.stderr
    before, after = json.loads(failing.stdout), json.loads(soft.stdout)
    # The same findings, counted against the policy's threshold, and a note saying why the
    # run passes.
    assert after["findings"] == before["findings"]
    assert after["summary"]["failing"] == before["summary"]["failing"] == 7
    assert after["summary"]["fail_on"] == "high"
    assert after["notes"] == [
        *before["notes"],
        "--fail-on never: the 7 finding(s) at or above high do not fail this run",
    ]


def test_fail_on_never_still_fails_usage_errors(tmp_path: Path) -> None:
    missing = run("scan", str(tmp_path / "missing.yaml"), "--fail-on", "never")
    assert missing.returncode == EXIT_USAGE
    assert "does not exist" in missing.stderr
    bad = run("scan", str(INSECURE), "--fail-on", "never", "--policy", "lax")
    assert bad.returncode == EXIT_USAGE
    assert "Invalid value for '--policy': 'lax' is not one of" in bad.stderr
    policy = tmp_path / "deploysafe.yaml"
    policy.write_text("fail_on: severe\n", encoding="utf-8")
    wrong = run(
        "scan", str(INSECURE), "--config", str(policy), "--fail-on", "never",
        "--ignore-input-errors",
    )  # fmt: skip
    assert wrong.returncode == EXIT_USAGE
    # Nothing to check is not a finding either.
    (tmp_path / "empty").mkdir()
    empty = run("scan", str(tmp_path / "empty"), "--fail-on", "never", "--ignore-input-errors")
    assert empty.returncode == EXIT_EMPTY


def test_unreadable_inputs_fail_unless_ignored(tmp_path: Path) -> None:
    (tmp_path / "blob.yaml").write_bytes(b"\x00")
    safe = tmp_path / "pod.yaml"
    safe.write_text(PRIVILEGED_POD.replace("privileged: true", "privileged: false"))
    args = ("scan", str(tmp_path), "--no-render", "--format", "json")
    assert run(*args).returncode == EXIT_INPUT
    assert run(*args, "--fail-on", "never").returncode == EXIT_INPUT
    ignored = run(*args, "--ignore-input-errors")
    assert ignored.returncode == EXIT_CLEAN
    doc = json.loads(ignored.stdout)
    assert doc["errors"] == [
        {
            "file": "blob.yaml",
            "line": None,
            "message": "binary file (NUL bytes); skipped",
            "kind": "input",
        }
    ]
    assert doc["notes"][-1] == "--ignore-input-errors: the 1 input error(s) do not fail this run"
    # Findings still fail when only input errors are ignored, and not with both switches.
    safe.write_text(PRIVILEGED_POD)
    assert run(*args, "--ignore-input-errors").returncode == EXIT_FINDINGS
    assert run(*args, "--ignore-input-errors", "--fail-on", "never").returncode == EXIT_CLEAN


def test_audit_takes_the_same_switches(tmp_path: Path) -> None:
    dump = tmp_path / "live.yaml"
    dump.write_text(PRIVILEGED_POD, encoding="utf-8")
    assert run("audit", str(dump)).returncode == EXIT_FINDINGS
    assert run("audit", str(dump), "--fail-on", "never").returncode == EXIT_CLEAN
