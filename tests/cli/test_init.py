"""`deploysafe init` on a real repository tree: a chart installed by a workflow's helm
command, kustomize overlays applied by kubectl, plain manifests, test data, CI files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from deploysafe import config as configmod
from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE
from deploysafe.formats.starter import ACTION_PLACEHOLDER, GITHUB_WORKFLOW
from deploysafe.rules import BY_ID
from tests.support.scantools import invoke, write_tree

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "init" / "repo"
PINNED_ACTION = "deploysafe/deploysafe@" + "4f" * 20

EXPECTED_POLICY = """\
# deploysafe.yaml: the policy `deploysafe scan`, `verify`, `deploy` and the admission
# webhook read. Written by `deploysafe init`; every key is described in the README and
# docs/ (render.md for `render:`). Check it with `deploysafe scan`.
# Found here: 1 Helm chart(s), 2 kustomize root(s), plain manifests in 2 folder(s);
# CI: GitHub Actions.

# The Pod Security Standard every workload must meet: restricted, baseline or privileged.
policy: restricted

# The lowest severity that fails a scan (exit 1): critical, high, medium, low or info.
fail_on: high

# Paths (globs from this file's folder) deploysafe does not read.
# These folders hold Kubernetes YAML, charts or kustomizations and are named like
# test data or demos; exclude them if nothing in them is deployed.
exclude:
#  - tests

# How charts and kustomizations are rendered before they are checked: the values files,
# namespace and release name they are deployed with. Paths are from this file's folder.
render:
  charts:
    charts/shop:  # chart shop
      # as .github/workflows/deploy.yml:14 installs it
      values:
        - charts/shop/values-prod.yaml
      # also installed by .github/workflows/deploy.yml:17
      namespace: shop-prod
      release: shop
  kustomize:
    deploy/overlays/prod:  # as .github/workflows/deploy.yml:18 applies it
      namespace: shop-prod
    deploy/overlays/staging: {}  # its kustomization sets namespace shop-staging

# Accepted risks: a rule switched off for some files, with the reason a reviewer reads.
# exceptions:
#   - rule: DS501
#     file: deploy/legacy/*.yaml
#     reason: moved into its own namespace by the platform team
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "repo")
    return tmp_path / "repo"


def _load(path: Path) -> configmod.Config:
    return configmod.load(path, rule_ids=frozenset(BY_ID))


def _scan(*args: str) -> tuple[int, list[tuple[str, str, int]], dict[str, Any]]:
    result = invoke("scan", "--format", "json", *args)
    report = json.loads(result.output)
    found = [(f["rule_id"], f["file"], f["line"]) for f in report["findings"]]
    return result.exit_code, found, report


def test_init_writes_the_policy_the_repository_deploys_with(repo: Path) -> None:
    result = invoke("init", str(repo))
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (repo / "deploysafe.yaml").read_text(encoding="utf-8") == EXPECTED_POLICY
    assert result.output == (
        f"wrote {repo / 'deploysafe.yaml'}\n"
        "found 1 Helm chart(s), 2 kustomize root(s), plain manifests in 2 folder(s)\n"
        f"next: deploysafe scan {repo}\n"
    )
    cfg = _load(repo / "deploysafe.yaml")
    chart = cfg.render.charts[(repo / "charts" / "shop").resolve()]
    assert [v.path for v in chart.values] == [
        (repo / "charts" / "shop" / "values-prod.yaml").resolve()
    ]
    assert (chart.namespace, chart.release, chart.set_values) == ("shop-prod", "shop", ())
    overlays = {p: k.namespace for p, k in cfg.render.kustomize.items()}
    assert overlays == {
        (repo / "deploy" / "overlays" / "prod").resolve(): "shop-prod",
        (repo / "deploy" / "overlays" / "staging").resolve(): None,
    }
    assert (cfg.exclude, cfg.policy.value, cfg.fail_on.label) == ((), "restricted", "high")


def test_a_scan_with_the_written_policy_renders_as_the_repository_deploys(repo: Path) -> None:
    code, _, before = _scan(str(repo / "charts"))
    assert code == EXIT_FINDINGS
    # Without a policy the chart renders with no namespace: decided at install time.
    assert [(f["file"], f["line"]) for f in before["findings"] if f["rule_id"] == "DS511"] == [
        ("shop/templates/deployment.yaml", 3)
    ]

    assert invoke("init", str(repo)).exit_code == EXIT_CLEAN
    code, found, report = _scan(str(repo))
    assert code == EXIT_FINDINGS
    assert report["errors"] == []
    assert "DS511" not in {rule for rule, _, _ in found}  # the namespace is known now
    privileged = [f for f in report["findings"] if f["rule_id"] == "DS201"]
    assert [(f["file"], f["line"], f["resource"], f["renders"]) for f in privileged] == [
        (
            "charts/shop/templates/deployment.yaml",
            18,
            {"kind": "Deployment", "namespace": "shop-prod", "name": "shop"},
            ["helm charts/shop"],
        )
    ]
    host = [f for f in report["findings"] if f["rule_id"] == "DS202"]
    assert [(f["file"], f["line"], f["renders"]) for f in host] == [
        (
            "deploy/base/pod.yaml",
            6,
            ["kustomize deploy/overlays/prod", "kustomize deploy/overlays/staging"],
        )
    ]


def test_init_refuses_to_overwrite_a_policy_unless_forced(repo: Path) -> None:
    (repo / ".deploysafe.yml").write_text("policy: baseline\n", encoding="utf-8")
    result = invoke("init", str(repo))
    assert result.exit_code == EXIT_USAGE
    assert (
        f"Error: {repo / '.deploysafe.yml'} already exists: edit it, or run"
        " `deploysafe init --force` to replace it with a new starting policy"
    ) in result.output
    assert (repo / ".deploysafe.yml").read_text(encoding="utf-8") == "policy: baseline\n"
    assert not (repo / "deploysafe.yaml").exists()

    # Forced, the file keeps its name: a second policy file would lose to it.
    assert invoke("init", "--force", str(repo)).exit_code == EXIT_CLEAN
    assert (repo / ".deploysafe.yml").read_text(encoding="utf-8") == EXPECTED_POLICY
    assert not (repo / "deploysafe.yaml").exists()


def test_ci_github_writes_a_least_privilege_workflow_using_the_action(repo: Path) -> None:
    result = invoke("init", "--ci", "github", str(repo))
    assert result.exit_code == EXIT_CLEAN, result.output
    workflow = repo / ".github" / "workflows" / "deploysafe-scan.yml"
    text = workflow.read_text(encoding="utf-8")
    line = text.splitlines().index(f"      - uses: {ACTION_PLACEHOLDER}") + 1
    assert (
        f"next: pin the Action in .github/workflows/deploysafe-scan.yml ({ACTION_PLACEHOLDER})"
        in result.output
    )
    # Until it is pinned, the scan of the workflow says so, at the line.
    assert _workflow_findings(repo) == [("DS106", line)]

    assert invoke("init", "--ci", "github", str(repo)).exit_code == EXIT_USAGE
    result = invoke("init", "--force", "--ci", "github", "--action", PINNED_ACTION, str(repo))
    assert result.exit_code == EXIT_CLEAN, result.output
    assert f"      - uses: {PINNED_ACTION}" in workflow.read_text(encoding="utf-8").splitlines()
    assert _workflow_findings(repo) == []


def _workflow_findings(repo: Path) -> list[tuple[str, int]]:
    """The findings in the written workflow of a scan of the repository (a file is read as
    a workflow by its place in the repository)."""
    _, found, _ = _scan("--no-render", "--fail-on", "info", str(repo))
    return [(rule, line) for rule, file, line in found if file == GITHUB_WORKFLOW]


def test_ci_github_refuses_an_existing_workflow_of_that_name(repo: Path) -> None:
    workflow = repo / ".github" / "workflows" / "deploysafe-scan.yml"
    workflow.write_text("name: mine\n", encoding="utf-8")
    result = invoke("init", "--ci", "github", str(repo))
    assert result.exit_code == EXIT_USAGE
    assert f"Error: {workflow} already exists: rerun with --force to replace it" in result.output
    assert workflow.read_text(encoding="utf-8") == "name: mine\n"
    assert not (repo / "deploysafe.yaml").exists()  # nothing is written half


def test_bad_action_reference_is_a_usage_error(repo: Path) -> None:
    result = invoke("init", "--ci", "github", "--action", "deploysafe", str(repo))
    assert result.exit_code == EXIT_USAGE
    assert "--action 'deploysafe': give it as OWNER/REPOSITORY@COMMIT_SHA" in result.output


def test_ci_gitlab_writes_a_pipeline_or_leaves_an_existing_one(tmp_path: Path) -> None:
    fresh = write_tree(tmp_path / "fresh", {"k8s/ns.yaml": "apiVersion: v1\nkind: Namespace\n"})
    assert invoke("init", "--ci", "gitlab", str(fresh)).exit_code == EXIT_CLEAN
    pipeline = fresh / ".gitlab-ci.yml"
    assert pipeline.read_text(encoding="utf-8").splitlines()[4:6] == [
        "include:",
        "  - remote: https://raw.githubusercontent.com/deploysafe/deploysafe/COMMIT_SHA"
        "/ci/gitlab/deploysafe.gitlab-ci.yml",
    ]
    assert _scan("--fail-on", "info", str(pipeline))[:2] == (EXIT_CLEAN, [])

    mine = "stages: [build]\nbuild:\n  stage: build\n  script: [make]\n"
    existing = write_tree(tmp_path / "existing", {".gitlab-ci.yml": mine})
    result = invoke("init", "--ci", "gitlab", str(existing))
    assert result.exit_code == EXIT_CLEAN
    assert (existing / ".gitlab-ci.yml").read_text(encoding="utf-8") == mine
    assert (
        f"{existing / '.gitlab-ci.yml'} exists and was left as it is; add to it:\ninclude:\n"
        "  - remote: https://raw.githubusercontent.com/deploysafe/deploysafe/COMMIT_SHA"
        "/ci/gitlab/deploysafe.gitlab-ci.yml\n"
    ) in result.output
    assert _load(existing / "deploysafe.yaml").render.charts == {}


def test_an_empty_folder_gets_a_policy_without_render_settings(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path)).exit_code == EXIT_CLEAN
    text = (tmp_path / "deploysafe.yaml").read_text(encoding="utf-8")
    assert "# No Helm chart or kustomization was found: nothing to set." in text.splitlines()
    assert "render:" not in text.splitlines()
    assert text.splitlines()[3:5] == [
        "# Found here: 0 Helm chart(s), 0 kustomize root(s), plain manifests in 0 folder(s);",
        "# CI: none found.",
    ]
    assert _load(tmp_path / "deploysafe.yaml").render == configmod.Config().render
