"""The ref a CI pipeline deploys: `deploysafe verify` checks the same ref the release
record stores, read once from the runner's variables (a detached HEAD, as CI checks out)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from deploysafe.cli.exits import EXIT_CLEAN
from deploysafe.cli.main import main
from tests.gitops.pipeline.conftest import App

GITLAB = {"GITLAB_CI": "true", "CI_COMMIT_REF_PROTECTED": "true", "CI_PROJECT_PATH": "acme/shop"}
GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"}


@pytest.mark.parametrize(
    ("variables", "checkout", "expected"),
    [
        # GitLab names a tag pipeline's ref in CI_COMMIT_REF_NAME too: never refs/heads/v1.0.
        (
            {**GITLAB, "CI_COMMIT_TAG": "v1.0", "CI_COMMIT_REF_NAME": "v1.0"},
            "v1.0",
            "refs/tags/v1.0",
        ),
        (
            {**GITLAB, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"},
            "main",
            "refs/heads/main",
        ),
        ({**GITHUB, "GITHUB_REF": "refs/tags/v1.0"}, "v1.0", "refs/tags/v1.0"),
    ],
    ids=["gitlab-tag", "gitlab-branch", "github-tag"],
)
def test_verify_and_record_agree(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    checkout: str,
    expected: str,
) -> None:
    source = {**app.environment()["source"], "refs": ["refs/heads/main", "refs/tags/v*"]}
    app.configure({"prod": app.environment(source=source)})
    head = app.commit("allow release tags")
    app.git("tag", "v1.0")
    app.git("checkout", "-q", "--detach", checkout)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)

    checked = CliRunner().invoke(
        main, ["verify", str(app.root), "--env", "prod", "--trust-on-first-use", "--format", "json"]
    )
    assert checked.exit_code == EXIT_CLEAN, checked.output
    ref_check = next(c for c in json.loads(checked.output)["checks"] if c["check"] == "ref")
    assert ref_check["reason"] == f"{expected} is allowed and is HEAD"

    deployed = app.cli("deploy", "--trust-on-first-use", "prod")
    assert deployed.exit_code == EXIT_CLEAN, deployed.output
    record = app.record()
    assert (record["source"]["commit"], record["source"]["ref"]) == (head, expected)
