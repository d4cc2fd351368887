"""The CI context (trusted or not), the deployed ref and the runner, read from CI
variables, event payloads and a real git checkout."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploysafe.host.ci import MAX_PAYLOAD, DeployedRef, Runner, deployed_ref, detect, runner
from deploysafe.host.git import Git
from tests.support.ci_events import pull_request_event

GITLAB_TAG = {
    "GITLAB_CI": "true",
    "CI_COMMIT_TAG": "v1.0",
    "CI_COMMIT_REF_NAME": "v1.0",
}
GITLAB_BRANCH = {"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main"}
GITLAB_MERGE_REQUEST = {
    "GITLAB_CI": "true",
    "CI_MERGE_REQUEST_REF_PATH": "refs/merge-requests/12/head",
    "CI_COMMIT_REF_NAME": "feature",
}
GITHUB_TAG = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.0"}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    proc = subprocess.run(
        ["git", *ident, *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main with one commit, tagged v1.0 and release-1.0, checked out as a detached HEAD
    (what a CI runner checks out)."""
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", "first")
    _git(path, "tag", "v1.0")
    _git(path, "tag", "release-1.0")
    _git(path, "checkout", "-q", "--detach", "v1.0")
    return path


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (GITLAB_TAG, DeployedRef("refs/tags/v1.0", "CI_COMMIT_TAG")),
        (GITLAB_BRANCH, DeployedRef("refs/heads/main", "CI_COMMIT_BRANCH")),
        (
            GITLAB_MERGE_REQUEST,
            DeployedRef("refs/merge-requests/12/head", "CI_MERGE_REQUEST_REF_PATH"),
        ),
        (GITHUB_TAG, DeployedRef("refs/tags/v1.0", "GITHUB_REF")),
        (
            {},
            DeployedRef(
                "refs/tags/release-1.0",
                "a tag at the detached HEAD",
                ("refs/tags/release-1.0", "refs/tags/v1.0"),
            ),
        ),
        # GITHUB_REF outside GitHub Actions (a leftover variable) is not believed.
        (
            {"GITHUB_REF": "refs/heads/evil"},
            DeployedRef(
                "refs/tags/release-1.0",
                "a tag at the detached HEAD",
                ("refs/tags/release-1.0", "refs/tags/v1.0"),
            ),
        ),
    ],
)
def test_ref_from_the_runner(repo: Path, environ: dict[str, str], expected: DeployedRef) -> None:
    assert deployed_ref(Git(repo), environ) == expected


def test_ref_from_git(repo: Path) -> None:
    git = Git(repo)
    _git(repo, "checkout", "-q", "main")
    assert deployed_ref(git, {}) == DeployedRef("refs/heads/main", "the checked-out branch")
    _git(repo, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", "second")
    _git(repo, "checkout", "-q", "--detach", "HEAD")
    assert deployed_ref(git, {}) == DeployedRef(None, "detached HEAD")


def test_explicit_ref(repo: Path) -> None:
    git = Git(repo)
    assert deployed_ref(git, GITLAB_TAG, "refs/heads/x") == DeployedRef("refs/heads/x", "--ref")
    assert deployed_ref(git, GITLAB_TAG, "v1.0") == DeployedRef("refs/tags/v1.0", "--ref")
    assert deployed_ref(git, {}, "main") == DeployedRef("refs/heads/main", "--ref")
    assert deployed_ref(git, {}, "new") == DeployedRef("refs/heads/new", "--ref")


def test_runner() -> None:
    github = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_RUN_ID": "42",
        "GITHUB_REPOSITORY": "acme/shop",
    }
    assert runner(github) == Runner(
        "octocat", "github-actions", "https://github.com/acme/shop/actions/runs/42"
    )
    gitlab = {
        "GITLAB_CI": "true",
        "GITLAB_USER_LOGIN": "dev",
        "CI_PIPELINE_URL": "https://gitlab.example.com/acme/shop/-/pipelines/7",
    }
    assert runner(gitlab) == Runner(
        "dev", "gitlab-ci", "https://gitlab.example.com/acme/shop/-/pipelines/7"
    )
    assert runner({"USER": "tester"}) == Runner("tester", "local", None)


# ---------------------------------------------------------------- trusted or not


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_github_fork_pull_request(tmp_path: Path, event: str) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": pull_request_event(tmp_path, "mallory/shop"),
    }
    ctx = detect(env)
    assert (ctx.trusted, ctx.reason) == (False, f"{event} #7 from the fork mallory/shop")


def test_github_same_repository_and_deleted_fork(tmp_path: Path) -> None:
    same = detect(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": pull_request_event(tmp_path, "Acme/Shop"),
        }
    )
    assert (same.trusted, same.reason) == (True, "pull_request #7 from a branch of acme/shop")
    gone = detect(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request_target",
            "GITHUB_EVENT_PATH": pull_request_event(tmp_path, None),
        }
    )
    assert not gone.trusted and "deleted fork" in gone.reason


def test_github_workflow_run_from_fork(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(
        json.dumps(
            {
                "workflow_run": {"head_repository": {"full_name": "mallory/shop"}},
                "repository": {"full_name": "acme/shop"},
            }
        )
    )
    ctx = detect(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(path),
        }
    )
    assert (ctx.trusted, ctx.reason) == (
        False,
        "workflow_run started by a run in the fork mallory/shop",
    )


def test_github_unreadable_pull_request_event(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    ctx = detect(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(bad),
        }
    )
    assert not ctx.trusted and ctx.reason.startswith(f"cannot read the pull_request payload {bad}")


def test_github_push_is_trusted() -> None:
    ctx = detect({"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push"})
    assert (ctx.trusted, ctx.reason) == (True, "GitHub Actions push event")


def test_gitlab_contexts() -> None:
    fork = detect(
        {
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "12",
            "CI_PROJECT_ID": "100",
            "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": "999",
            "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH": "mallory/shop",
            "CI_COMMIT_REF_PROTECTED": "false",
        }
    )
    assert (fork.trusted, fork.reason) == (
        False,
        "merge request !12 from another project (mallory/shop)",
    )
    unprotected = detect(
        {"GITLAB_CI": "true", "CI_COMMIT_REF_NAME": "feature", "CI_COMMIT_REF_PROTECTED": "false"}
    )
    assert (unprotected.trusted, unprotected.reason) == (
        False,
        "pipeline for 'feature', which is not a protected ref",
    )
    protected = detect(
        {
            "GITLAB_CI": "true",
            "CI_COMMIT_REF_NAME": "main",
            "CI_COMMIT_REF_PROTECTED": "true",
            "CI_PROJECT_PATH": "acme/shop",
        }
    )
    assert protected.trusted


def _github(tmp_path: Path, event: str, payload: object) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path)}


@pytest.mark.parametrize(
    "run",
    [
        {"head_repository": None},
        {},
        {"head_repository": {"full_name": None}},
    ],
    ids=["null", "missing", "no-name"],
)
def test_github_workflow_run_without_head_repository(tmp_path: Path, run: object) -> None:
    payload = {"workflow_run": run, "repository": {"full_name": "acme/shop"}}
    ctx = detect(_github(tmp_path, "workflow_run", payload))
    assert (ctx.trusted, ctx.reason) == (
        False,
        "workflow_run whose head repository is null or missing: cannot tell whose run started it",
    )


def test_github_review_thread_from_a_fork(tmp_path: Path) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request_review_thread",
        "GITHUB_EVENT_PATH": pull_request_event(tmp_path, "mallory/shop"),
    }
    ctx = detect(env)
    assert (ctx.trusted, ctx.reason) == (
        False,
        "pull_request_review_thread #7 from the fork mallory/shop",
    )


def test_github_comments_are_anyones(tmp_path: Path) -> None:
    on_pr = {"issue": {"number": 7, "pull_request": {"url": "https://api.github.com/x"}}}
    ctx = detect(_github(tmp_path, "issue_comment", on_pr))
    assert (ctx.trusted, ctx.reason) == (
        False,
        "issue_comment on pull request #7: anyone can comment, and the workflow may run the "
        "pull request's code",
    )
    ctx = detect(_github(tmp_path, "issue_comment", {"issue": {"number": 8}}))
    assert (ctx.trusted, ctx.reason) == (False, "issue_comment on issue #8: anyone can comment")
    ctx = detect(_github(tmp_path, "watch", {"action": "started"}))
    assert (ctx.trusted, ctx.reason) == (False, "GitHub watch event: anyone can cause one")


def test_github_deeply_nested_payload_is_untrusted(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"pull_request": ' + "[" * 100_000 + "]" * 100_000 + "}")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(path),
    }
    ctx = detect(env)
    assert (ctx.trusted, ctx.reason) == (
        False,
        f"cannot read the pull_request payload {path}: nested too deeply",
    )


def test_github_oversized_payload_is_untrusted(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as f:
        f.truncate(MAX_PAYLOAD + 1)
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "workflow_run",
        "GITHUB_EVENT_PATH": str(path),
    }
    ctx = detect(env)
    assert (ctx.trusted, ctx.reason) == (
        False,
        f"the workflow_run payload {path} is over 26214400 bytes",
    )


def test_gitlab_external_pull_request_from_a_fork() -> None:
    base = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "external_pull_request_event",
        "CI_EXTERNAL_PULL_REQUEST_IID": "5",
        "CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY": "acme/shop",
        "CI_COMMIT_REF_NAME": "feature",
        "CI_COMMIT_REF_PROTECTED": "true",
    }
    fork = detect({**base, "CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY": "mallory/shop"})
    assert (fork.trusted, fork.reason) == (
        False,
        "external pull request #5 from mallory/shop into acme/shop",
    )
    unnamed = detect(base)
    assert (unnamed.trusted, unnamed.reason) == (
        False,
        "external pull request #5 from an unnamed repository into acme/shop",
    )
    same = detect({**base, "CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY": "Acme/Shop"})
    assert same.trusted


def test_explicit_name_of_a_branch_and_a_tag(repo: Path) -> None:
    _git(repo, "tag", "main")
    assert deployed_ref(Git(repo), {}, "main") == DeployedRef(
        None,
        "--ref",
        problem="--ref 'main' names both the branch refs/heads/main and the tag "
        "refs/tags/main: pass --ref refs/heads/main or --ref refs/tags/main",
    )
    assert deployed_ref(Git(repo), {}, "refs/tags/main") == DeployedRef("refs/tags/main", "--ref")
