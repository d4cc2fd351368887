"""`deploysafe fix` and `scan --fix` on real trees: what they write, print and exit with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_FINDINGS_AND_INPUT, EXIT_INPUT
from tests.support import paths
from tests.support.scantools import invoke, scan_tree, write_tree

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web  # the shop's front end
  namespace: shop
spec:
  containers:
  - name: app
    image: registry.example/web:1.0
    securityContext:
      capabilities: {drop: [ALL]}
      runAsNonRoot: true
"""

POD_FIXED = (
    POD
    + "      allowPrivilegeEscalation: false\n"
    + ("  securityContext:\n    seccompProfile: {type: RuntimeDefault}\n")
)


# The restricted Pod Security rules: what POD breaks (besides defaults the fix leaves alone).
RESTRICTED = "DS214,DS215,DS216,DS217"


def _facts(root: Path) -> set[tuple[str, str, str]]:
    return {(f.rule_id, f.file, f.pointer) for f in scan_tree(root).findings}


@pytest.fixture
def insecure(tmp_path: Path) -> Path:
    return Path(shutil.copytree(paths.EXAMPLES / "insecure", tmp_path / "insecure"))


def test_fix_then_scan_removes_the_fixed_findings_and_adds_none(insecure: Path) -> None:
    before = _facts(insecure)
    folded = {(f.rule_id, f.also) for f in scan_tree(insecure).findings if f.also}
    result = invoke("fix", "--unsafe-fixes", "--fail-on", "medium", str(insecure))
    assert result.exit_code == EXIT_FINDINGS  # hostPath, a default password, RBAC remain
    after = _facts(insecure)
    # Nothing new: the one finding the scan did not list on its own before was reported
    # with the host-network finding ("Also DS509"), which no longer hides it.
    assert after - before == {("DS509", "app.yaml", "/spec/template/metadata/labels")}
    assert ("DS202", ("DS509",)) in folded
    c = "/spec/template/spec/containers/0"
    assert before - after == {
        ("DS201", "app.yaml", f"{c}/securityContext/privileged"),
        ("DS202", "app.yaml", "/spec/template/spec/hostNetwork"),
        ("DS205", "app.yaml", f"{c}/ports/0/hostPort"),
        ("DS214", "app.yaml", f"{c}/securityContext/runAsNonRoot"),
        ("DS215", "app.yaml", f"{c}/securityContext/allowPrivilegeEscalation"),
        ("DS216", "app.yaml", f"{c}/securityContext/seccompProfile"),
        ("DS217", "app.yaml", f"{c}/securityContext/capabilities/drop"),
        ("DS217", "app.yaml", f"{c}/securityContext/capabilities/add/0"),
        ("DS502", "app.yaml", "/spec/template/spec/serviceAccount"),
    }
    assert "deploysafe fix: fixed 9 finding(s) in 1 file(s); " in result.stdout
    assert "DS236  the rule offers no automatic fix" in result.stdout
    # Its own output gives the fix nothing to do.
    text = (insecure / "app.yaml").read_bytes()
    again = invoke("fix", "--unsafe-fixes", "--fail-on", "medium", str(insecure))
    assert (insecure / "app.yaml").read_bytes() == text
    assert "deploysafe fix: fixed 0 finding(s) in 0 file(s); " in again.stdout
    assert again.exit_code == EXIT_FINDINGS


def test_diff_prints_the_change_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, {"pod.yaml": POD})
    monkeypatch.chdir(tmp_path)
    result = invoke("fix", "--diff", "--select", RESTRICTED)
    assert (tmp_path / "pod.yaml").read_text() == POD
    assert result.exit_code == EXIT_FINDINGS  # there is something to change
    assert result.stdout == (
        "--- a/pod.yaml\n+++ b/pod.yaml\n@@ -10,3 +10,6 @@\n"
        "     securityContext:\n"
        "       capabilities: {drop: [ALL]}\n"
        "       runAsNonRoot: true\n"
        "+      allowPrivilegeEscalation: false\n"
        "+  securityContext:\n"
        "+    seccompProfile: {type: RuntimeDefault}\n"
    )
    assert "would fix 2 finding(s) in 1 file(s); 0 remain" in result.stderr


def test_safe_fixes_need_no_flag_and_a_clean_result_exits_0(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pod.yaml": POD})
    result = invoke("fix", "--select", RESTRICTED, str(tmp_path))
    assert result.exit_code == EXIT_CLEAN
    assert (tmp_path / "pod.yaml").read_text() == POD_FIXED


def test_select_and_ignore_pick_rules_at_any_severity(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pod.yaml": POD})
    result = invoke("fix", "--select", "DS215,DS216", "--ignore", "DS216", str(tmp_path))
    assert (tmp_path / "pod.yaml").read_text() == POD + "      allowPrivilegeEscalation: false\n"
    assert result.exit_code == EXIT_CLEAN
    wrong = invoke("fix", "--select", "DS2155", str(tmp_path))
    assert wrong.exit_code == 2
    assert "--select: unknown rule id DS2155" in wrong.output


def test_unsafe_fixes_wait_for_the_flag(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pod.yaml": POD.replace("runAsNonRoot: true", "privileged: true")})
    result = invoke("fix", str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS
    assert "DS201  unsafe fix (remove securityContext.privileged): use --unsafe-fixes" in (
        result.stdout
    )


def test_read_only_files_and_symlinks_out_of_the_tree_are_not_written(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    write_tree(tree, {"ro.yaml": POD})
    write_tree(outside, {"pod.yaml": POD})
    (tree / "ro.yaml").chmod(0o444)
    (tree / "link.yaml").symlink_to(outside / "pod.yaml")
    result = invoke("fix", "--select", RESTRICTED, str(tree))
    assert result.exit_code == EXIT_FINDINGS_AND_INPUT
    assert (tree / "ro.yaml").read_text() == POD
    assert (outside / "pod.yaml").read_text() == POD
    assert "ro.yaml is read-only: not written" in result.stdout
    # The scan does not follow a symlink out of the tree, so the fix never sees it.
    assert "link.yaml" not in result.stdout


def test_a_file_that_cannot_be_parsed_is_left_alone_and_the_rest_fixed(tmp_path: Path) -> None:
    broken = "apiVersion: v1\nkind: Pod\nspec: {containers: [\n"
    write_tree(tmp_path, {"a-broken.yaml": broken, "pod.yaml": POD})
    result = invoke("fix", "--select", RESTRICTED, str(tmp_path))
    assert result.exit_code == EXIT_INPUT  # the broken file; nothing selected remains
    assert (tmp_path / "a-broken.yaml").read_text() == broken
    assert (tmp_path / "pod.yaml").read_text() == POD_FIXED


def test_scan_fix_fixes_first_and_reports_what_remains(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pod.yaml": POD})
    result = invoke("scan", "--fix", "--fail-on", "medium", "--format", "compact", str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS  # a NetworkPolicy, a ServiceAccount, limits
    assert (tmp_path / "pod.yaml").read_text() == POD_FIXED
    assert "deploysafe fix: fixed 2 finding(s) in 1 file(s); 3 remain" in result.stderr
    assert "pod.yaml:6:1: DS502 [medium]" in result.stdout
    assert "DS215" not in result.stdout
    assert invoke("scan", "--unsafe-fixes", str(tmp_path)).exit_code == 2


def test_json_manifests_are_left_for_a_person(tmp_path: Path) -> None:
    pod = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},'
    pod += ' "spec": {"containers": [{"name": "app", "image": "app:1", "securityContext":'
    pod += ' {"privileged": true}}]}}\n'
    write_tree(tmp_path, {"pod.json": pod})
    result = invoke("fix", "--unsafe-fixes", "--select", "DS201", str(tmp_path))
    assert result.exit_code == EXIT_FINDINGS
    assert (tmp_path / "pod.json").read_text() == pod
    assert "DS201  pod.json is JSON: fixes are written to YAML files only" in result.stdout
