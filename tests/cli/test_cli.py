"""The command line: exit codes, files it writes, baselines, suppressions, rule docs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploysafe.cli.exits import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_FINDINGS_AND_INPUT,
    EXIT_INPUT,
    EXIT_USAGE,
)
from deploysafe.rules import BY_ID, REGISTRY
from tests.support import paths
from tests.support.scantools import PRIVILEGED_POD
from tests.support.scantools import invoke as run

REPO = paths.REPO
EXAMPLES = REPO / "examples"

POD = PRIVILEGED_POD


def scan_json(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run("scan", str(path), "--no-render", "-j", "1", "--format", "json", *args)
    doc = json.loads(result.stdout)
    assert isinstance(doc, dict)
    return result.exit_code, doc


def where(doc: dict[str, Any], rule: str) -> list[tuple[str, int, int, Any]]:
    return [
        (f["file"], f["line"], f["column"], f["suppressed"] and f["suppressed"]["source"])
        for f in doc["findings"]
        if f["rule_id"] == rule
    ]


# ------------------------------------------------------------------ exit codes


def test_hardened_example_is_clean() -> None:
    result = run("scan", str(EXAMPLES / "hardened"))
    assert result.exit_code == EXIT_CLEAN, result.output
    assert result.output.splitlines()[-2:] == [
        "Summary",
        "  2 file(s), 6 object(s) checked; 0 finding(s), 0 at or above high, 0 suppressed, "
        "0 input error(s)",
    ]


def test_insecure_example_fails() -> None:
    code, doc = scan_json(EXAMPLES / "insecure")
    assert code == EXIT_FINDINGS
    assert where(doc, "DS201") == [("app.yaml", 28, 11, None)]
    assert doc["errors"] == []


def test_fail_on_moves_the_gate(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD.replace("privileged: true", "privileged: false"))
    # Only medium and low findings remain: they fail at --fail-on low, not at the default.
    assert run("scan", str(tmp_path), "--no-render").exit_code == EXIT_CLEAN
    assert run("scan", str(tmp_path), "--no-render", "--fail-on", "low").exit_code == (
        EXIT_FINDINGS
    )


def test_bad_fail_on_is_a_usage_error(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path), "--fail-on", "severe")
    assert result.exit_code == EXIT_USAGE
    assert "Invalid value for '--fail-on': 'severe' is not one of" in result.stderr


def test_unknown_config_key_names_key_and_line(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    cfg = tmp_path / "deploysafe.yaml"
    cfg.write_text("policy: baseline\n\nfail_ob: high\n")
    result = run("scan", str(tmp_path))
    assert result.exit_code == EXIT_USAGE
    assert result.stdout == ""
    assert f"Error: {cfg}:3: fail_ob: unknown key (known keys: " in result.stderr
    # The same file named with --config, from elsewhere.
    other = tmp_path / "other"
    other.mkdir()
    result = run("scan", str(other), "--config", str(cfg))
    assert result.exit_code == EXIT_USAGE
    assert f"{cfg}:3: fail_ob: unknown key" in result.stderr


def test_bad_config_value_names_key_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "deploysafe.yaml"
    cfg.write_text("rules:\n  DS201:\n    severity: severe\n")
    result = run("scan", str(tmp_path))
    assert result.exit_code == EXIT_USAGE
    assert f"Error: {cfg}:2: rules.DS201: unknown severity 'severe'" in result.stderr


def test_unreadable_input_exits_3(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "blob.yaml").write_bytes(b"\x00\x01\x02")
    code, doc = scan_json(tmp_path)
    # Both facts: the scan is incomplete (3) and a finding fails (1).
    assert code == EXIT_FINDINGS_AND_INPUT
    assert doc["errors"] == [
        {
            "file": "blob.yaml",
            "line": None,
            "message": "binary file (NUL bytes); skipped",
            "kind": "input",
        }
    ]
    assert where(doc, "DS201") == [("pod.yaml", 11, 7, None)]
    missing = run("scan", str(tmp_path / "missing.yaml"))
    assert missing.exit_code == EXIT_USAGE


def test_real_entry_point_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("deploysafe")
    if not exe.exists():
        pytest.skip("the deploysafe script is not installed next to this Python")
    env = {**os.environ, "NO_COLOR": "1"}

    def code(*args: str) -> int:
        proc = subprocess.run(
            [str(exe), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert "Traceback" not in proc.stderr
        return proc.returncode

    (tmp_path / "blob.yaml").write_bytes(b"\x00")
    assert code("scan", str(EXAMPLES / "hardened")) == EXIT_CLEAN
    assert code("scan", str(EXAMPLES / "insecure")) == EXIT_FINDINGS
    assert code("scan", str(EXAMPLES / "hardened"), "--fail-on", "nope") == EXIT_USAGE
    assert code("scan", str(tmp_path)) == EXIT_INPUT


# ------------------------------------------------------------------ output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_output_writes_the_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "report.out"
    result = run("scan", str(EXAMPLES / "insecure"), "--format", fmt, "--output", str(out))
    assert result.exit_code == EXIT_FINDINGS
    assert result.stdout == ""
    # The file holds what stdout would have held.
    to_stdout = run("scan", str(EXAMPLES / "insecure"), "--format", fmt)
    assert out.read_text(encoding="utf-8") == to_stdout.stdout
    assert "\x1b[" not in out.read_text(encoding="utf-8")


# ------------------------------------------------------------------ baselines


def test_baseline_accepts_known_findings_and_fails_new_ones(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pod.yaml").write_text(POD)
    baseline = tmp_path / "baseline.json"
    # Writing a baseline records the findings and does not fail.
    written = run("scan", str(repo), "--no-render", "--write-baseline", str(baseline))
    assert written.exit_code == EXIT_CLEAN
    rows = json.loads(baseline.read_text())["findings"]
    assert (
        "DS201",
        "pod.yaml",
        "Pod shop/web",
        "/spec/containers/0/securityContext/privileged",
    ) in [(r["rule_id"], r["file"], r["resource"], r["pointer"]) for r in rows]
    code, doc = scan_json(repo, "--baseline", str(baseline))
    assert code == EXIT_CLEAN
    assert {f["suppressed"]["source"] for f in doc["findings"]} == {"baseline"}
    assert doc["summary"]["failing"] == 0
    # A new privileged container is not in the baseline.
    (repo / "pod.yaml").write_text(
        POD + "  - name: sidecar\n    image: busybox:1.36\n"
        "    securityContext:\n      privileged: true\n"
    )
    code, doc = scan_json(repo, "--baseline", str(baseline))
    assert code == EXIT_FINDINGS
    assert where(doc, "DS201") == [("pod.yaml", 11, 7, "baseline"), ("pod.yaml", 15, 7, None)]


def test_fingerprints_survive_shifted_lines(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    baseline = tmp_path / "baseline.json"
    _, before = scan_json(tmp_path, "--write-baseline", str(baseline))
    (tmp_path / "pod.yaml").write_text("\n\n# moved down\n" + POD)
    code, after = scan_json(tmp_path, "--baseline", str(baseline))
    assert code == EXIT_CLEAN

    def keyed(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
        return {f["fingerprint"]: (f["rule_id"], f["line"]) for f in doc["findings"]}

    old, new = keyed(before), keyed(after)
    assert new.keys() == old.keys()
    assert {fp: (rule, line + 3) for fp, (rule, line) in old.items()} == new
    assert where(after, "DS201") == [("pod.yaml", 14, 7, "baseline")]


def test_bad_baseline_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text('{"version": 99}')
    result = run("scan", str(EXAMPLES / "hardened"), "--baseline", str(bad))
    assert result.exit_code == EXIT_USAGE
    assert f"{bad}: not a deploysafe baseline (version 1)" in result.stderr


def test_deeply_nested_baseline_is_a_usage_error(tmp_path: Path) -> None:
    deep = tmp_path / "baseline.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    result = run("scan", str(EXAMPLES / "hardened"), "--baseline", str(deep))
    assert result.exit_code == EXIT_USAGE
    assert (
        f"{deep}: cannot read the baseline: JSON nested too deeply "
        "(write it again with --write-baseline)"
    ) in result.stderr
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ suppressions


def test_no_inline_suppressions_turns_off_comments_and_annotations(tmp_path: Path) -> None:
    (tmp_path / "inline.yaml").write_text(
        POD.replace("name: web", "name: inline").replace(
            "      privileged: true\n",
            "      privileged: true  # deploysafe: ignore[DS201] needs host devices\n",
        )
    )
    (tmp_path / "annotated.yaml").write_text(
        POD.replace(
            "  name: web\n",
            "  name: annotated\n  annotations:\n    deploysafe.io/ignore: 'DS201: node agent'\n",
        )
    )
    code, doc = scan_json(tmp_path, "--fail-on", "critical")
    assert where(doc, "DS201") == [
        ("annotated.yaml", 13, 7, "annotation"),
        ("inline.yaml", 11, 7, "inline"),
    ]
    assert code == EXIT_CLEAN
    code, doc = scan_json(tmp_path, "--fail-on", "critical", "--no-inline-suppressions")
    assert where(doc, "DS201") == [("annotated.yaml", 13, 7, None), ("inline.yaml", 11, 7, None)]
    assert code == EXIT_FINDINGS


def test_config_exceptions_still_apply_without_inline_suppressions(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    (tmp_path / "deploysafe.yaml").write_text(
        "exceptions:\n- rule: DS201\n  file: pod.yaml\n  reason: reviewed by the platform team\n"
    )
    _, doc = scan_json(tmp_path, "--no-inline-suppressions")
    assert where(doc, "DS201") == [("pod.yaml", 11, 7, "config")]


# ------------------------------------------------------------------ rules and explain


def test_rules_lists_every_rule() -> None:
    result = run("rules")
    assert result.exit_code == EXIT_CLEAN
    assert result.stdout.splitlines() == [
        f"{r.id}  {r.severity.label:<8}  p{int(r.practice)}  {r.title}"
        + ("" if r.default_enabled else "  (off by default)")
        for r in REGISTRY
    ]
    assert "DS201  critical  p2  Containers must not run privileged" in result.stdout
    assert (
        "DS313  low       p3  Prefer secret files over secret env variables  (off by default)"
        in result.stdout
    )


def test_rules_json() -> None:
    rows = json.loads(run("rules", "--format", "json").stdout)
    assert [r["id"] for r in rows] == [r.id for r in REGISTRY]
    (priv,) = (r for r in rows if r["id"] == "DS201")
    assert priv["pss"] == {"level": "baseline", "check": "privileged"}
    assert (priv["practice"], priv["severity"]) == (2, "critical")
    assert priv["enabled_by_default"] is True
    assert [r["id"] for r in rows if not r["enabled_by_default"]] == ["DS313"]


def test_explain_prints_why_fix_and_example() -> None:
    result = run("explain", "ds201")  # ids are not case-sensitive
    assert result.exit_code == EXIT_CLEAN
    rule = BY_ID["DS201"]
    out = result.stdout
    assert out.startswith(f"# DS201: {rule.title}\n")
    assert f"## Why is this bad?\n\n{rule.why}\n" in out
    assert f"## How to fix\n\n{rule.fix}\n" in out
    assert "## Example\n\n```yaml\n" in out
    assert rule.bad.strip() in out
    assert rule.good.strip() in out


def test_explain_unknown_rule_is_a_usage_error() -> None:
    result = run("explain", "DS999")
    assert result.exit_code == EXIT_USAGE
    assert "Error: unknown rule 'DS999'; `deploysafe rules` lists them" in result.stderr


def test_an_output_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    for option in ("--output", "--write-baseline"):
        target = tmp_path / "missing" / "out.txt"
        result = run("scan", str(tmp_path), option, str(target))
        assert result.exit_code == EXIT_USAGE, option
        assert f"Error: cannot write {target}: No such file or directory" in result.stderr
