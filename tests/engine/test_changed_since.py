"""`scan --changed-since REF`: the files changed since the merge base, the renders they feed,
and only the findings the change made."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, Report, changed_since, scan
from deploysafe.errors import UsageError
from deploysafe.inputs.render import helm_available, kustomize_available
from tests.support import paths
from tests.support.scantools import invoke, write_tree

RENDER = paths.FIXTURES / "render"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
spec:
  serviceAccountName: {name}
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: {name}
      image: registry.example.com/{name}:1.0@sha256:{digest}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
      resources:
        requests: {{cpu: 100m, memory: 64Mi}}
        limits: {{memory: 64Mi}}
"""
DIGEST = "0" * 64


def pod(name: str) -> str:
    return POD.format(name=name, digest=DIGEST)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def repo_with(root: Path, files: dict[str, str]) -> Path:
    """A repository whose `main` holds `files`, checked out on a branch `feature`."""
    write_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    git(root, "checkout", "-qb", "feature")
    return root


def commit(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)


def changed_scan(repo: Path, ref: str = "main", *, only_changes: bool = True) -> Report:
    changes = changed_since(repo, ref)
    return scan(
        changes.paths([repo]),
        Config(),
        root=repo,
        render=RenderOptions(),
        jobs=1,
        changes=changes if only_changes else None,
    )


def found(report: Report) -> list[tuple[str, str, int]]:
    return sorted((f.rule_id, f.file, f.line) for f in report.findings)


def test_a_change_reports_only_the_findings_on_its_lines(tmp_path: Path) -> None:
    insecure = pod("old").replace("runAsNonRoot: true", "runAsNonRoot: false")
    repo = repo_with(tmp_path, {"k8s/a.yaml": insecure, "k8s/b.yaml": insecure})
    # A new object in a.yaml, committed; one more line in it, not committed.
    (repo / "k8s/a.yaml").write_text(insecure + "---\n" + pod("new"), encoding="utf-8")
    commit(repo)
    text = (repo / "k8s/a.yaml").read_text(encoding="utf-8")
    (repo / "k8s/a.yaml").write_text(
        text.replace("  name: new\n", "  name: new\n  annotations: {a: b}\n", 1).replace(
            "  serviceAccountName: new\n", "  serviceAccountName: new\n  hostPID: true\n"
        ),
        encoding="utf-8",
    )
    report = changed_scan(repo)
    # The new object's findings (DS509: no NetworkPolicy selects it); not the old object's
    # finding on line 10 of the same file, nothing in b.yaml.
    assert found(report) == [("DS202", "k8s/a.yaml", 33), ("DS509", "k8s/a.yaml", 27)]
    assert report.notes[-1] == (
        "3 finding(s) in the changed files and the renders they feed are not on lines or "
        "objects changed since main: not reported (--all-findings reports them)"
    )
    assert found(changed_scan(repo, only_changes=False)) == [
        ("DS202", "k8s/a.yaml", 33),
        ("DS214", "k8s/a.yaml", 10),
        ("DS214", "k8s/a.yaml", 16),
        ("DS509", "k8s/a.yaml", 3),
        ("DS509", "k8s/a.yaml", 27),
    ]


def test_lines_removed_from_an_object_report_the_object(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a.yaml": pod("one") + "---\n" + pod("two")})
    text = (repo / "a.yaml").read_text(encoding="utf-8")
    # The second object loses runAsNonRoot: its findings are on unchanged lines, the first
    # object's are not reported.
    first, _, second = text.partition("---\n")
    second = second.replace("    runAsNonRoot: true\n", "")
    (repo / "a.yaml").write_text(first + "---\n" + second, encoding="utf-8")
    assert found(changed_scan(repo)) == [("DS214", "a.yaml", 39), ("DS509", "a.yaml", 27)]
    assert ("DS509", "a.yaml", 3) in found(changed_scan(repo, only_changes=False))


def test_untracked_and_renamed_files_count_deleted_ones_do_not(tmp_path: Path) -> None:
    bad = pod("x").replace("  containers:", "  hostIPC: true\n  containers:")
    repo = repo_with(tmp_path, {"old.yaml": bad, "gone.yaml": bad, "same.yaml": bad})
    git(repo, "mv", "old.yaml", "moved.yaml")
    git(repo, "rm", "-q", "gone.yaml")
    write_tree(repo, {"new.yaml": bad})
    changes = changed_since(repo, "main")
    assert [p.name for p in changes.paths([repo])] == ["moved.yaml", "new.yaml"]
    assert found(changed_scan(repo)) == [
        ("DS202", "moved.yaml", 13),
        ("DS202", "new.yaml", 13),
        ("DS509", "moved.yaml", 3),
        ("DS509", "new.yaml", 3),
    ]


def test_the_merge_base_is_the_base_not_the_refs_tip(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a.yaml": pod("a")})
    git(repo, "checkout", "-q", "main")
    write_tree(repo, {"b.yaml": pod("b").replace("runAsNonRoot: true", "runAsNonRoot: false")})
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    # What main did after the branch point is not the branch's change.
    assert changed_since(repo, "main").files == {}
    report = invoke("scan", str(repo), "--changed-since", "main", "--format", "json")
    assert report.exit_code == 0
    assert json.loads(report.stdout)["notes"][-1] == "no file deploysafe reads changed since main"


def test_an_unknown_ref_is_a_usage_error(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, {"a.yaml": pod("a")})
    with pytest.raises(UsageError, match="--changed-since nope: no such commit"):
        changed_since(repo, "nope")
    result = invoke("scan", str(repo), "--changed-since", "nope")
    assert result.exit_code == 2
    assert "--changed-since nope: no such commit in" in result.stderr
    assert invoke("scan", str(repo), "--all-findings").exit_code == 2
    outside = tmp_path.parent / "plain"
    outside.mkdir()
    result = invoke("scan", str(outside), "--changed-since", "main")
    assert result.exit_code == 2
    assert "--changed-since needs a git work tree" in result.stderr


@pytest.mark.skipif(kustomize_available() is None, reason="neither kustomize nor kubectl")
def test_a_base_change_rebuilds_every_overlay_that_uses_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(RENDER / "shared", repo)
    repo_with(repo, {})
    deployment = repo / "base/deployment.yaml"
    text = deployment.read_text(encoding="utf-8")
    deployment.write_text(
        text.replace("      containers:\n", "      hostPID: true\n      containers:\n"),
        encoding="utf-8",
    )
    report = changed_scan(repo)
    assert report.errors == ()
    assert sorted((f.rule_id, f.file, f.line, f.renders) for f in report.findings) == [
        (
            "DS202",
            "base/deployment.yaml",
            14,
            ("kustomize overlays/prod", "kustomize overlays/staging"),
        )
    ]


@pytest.mark.skipif(helm_available() is None, reason="no Helm engine")
def test_a_template_change_renders_the_chart_a_values_change_reports_it_whole(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(RENDER / "chart-insecure", repo / "chart")
    repo_with(repo, {})
    template = repo / "chart/templates/deployment.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace(
            "    spec:\n      containers:", "    spec:\n      hostNetwork: true\n      containers:"
        ),
        encoding="utf-8",
    )
    report = changed_scan(repo)
    assert report.errors == ()
    assert found(report) == [("DS202", "chart/templates/deployment.yaml", 17)]
    # values.yaml shapes every object: the whole render is the change's.
    commit(repo)
    values = repo / "chart/values.yaml"
    values.write_text(values.read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8")
    everything = found(changed_scan(repo, only_changes=False))
    assert ("DS201", "chart/templates/deployment.yaml", 24) in everything
    assert found(changed_scan(repo)) == everything


def cli_findings(repo: Path, *args: str) -> tuple[int, list[tuple[str, str, int]], list[str]]:
    result = invoke("scan", str(repo), "--changed-since", "main", "--format", "json", *args)
    data = json.loads(result.stdout)
    found = sorted((f["rule_id"], f["file"], f["line"]) for f in data["findings"])
    return result.exit_code, found, data["notes"]


def test_a_change_to_the_policy_file_reports_everything(tmp_path: Path) -> None:
    insecure = pod("old").replace("runAsNonRoot: true", "runAsNonRoot: false")
    repo = repo_with(tmp_path, {"a.yaml": insecure, "deploysafe.yaml": "fail_on: high\n"})
    (repo / "deploysafe.yaml").write_text("fail_on: medium\n", encoding="utf-8")
    code, found, _ = cli_findings(repo)
    # Nothing changed in a.yaml, but the new policy fails its old finding.
    assert (code, found) == (
        1,
        [("DS214", "a.yaml", 10), ("DS214", "a.yaml", 16), ("DS509", "a.yaml", 3)],
    )
    # The note names the policy as the repository does, as every other path is printed.
    result = invoke("scan", str(repo), "--changed-since", "main", "--format", "compact")
    assert result.stderr.splitlines()[0] == (
        "note: deploysafe.yaml changed since main: every finding under the paths is reported"
    )
    result = invoke("scan", str(repo), "--changed-since", "main", "--write-baseline", "b.json")
    assert result.exit_code == 2
    assert "--write-baseline records every finding" in result.stderr


@pytest.mark.skipif(helm_available() is None, reason="no Helm engine")
def test_a_values_file_the_policy_names_renders_its_chart(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(RENDER / "chart-insecure", repo / "chart")
    policy = "render:\n  charts:\n    chart:\n      values: [env/prod.yaml]\n"
    repo_with(repo, {"deploysafe.yaml": policy, "env/prod.yaml": "replicaCount: 2\n"})
    (repo / "env/prod.yaml").write_text("replicaCount: 3\n", encoding="utf-8")
    code, found, notes = cli_findings(repo)
    code_all, everything, _ = cli_findings(repo, "--all-findings")
    assert ("DS201", "chart/templates/deployment.yaml", 23) in found
    assert (code, found) == (code_all, everything) == (1, everything)
    assert "rendered 1 Helm chart(s) with helm-python-sdk" in " ".join(notes)
