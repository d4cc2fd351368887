"""What the CI runner says about this run: who started it, whether an outsider could have
(`detect`), and which ref is being deployed (`deployed_ref`). Read from the runner's
environment, and from git where the runner says nothing.

GitHub Actions (docs: "Variables", "Events that trigger workflows", webhook payloads):
`GITHUB_ACTIONS=true`, `GITHUB_EVENT_NAME`, and the event payload at `GITHUB_EVENT_PATH`.
A pull_request / pull_request_target / pull_request_review(_comment) event is from a fork
when `pull_request.head.repo.full_name` differs from `pull_request.base.repo.full_name`
(or `head.repo` is null: the fork was deleted); a workflow_run event was started by a fork
when `workflow_run.head_repository.full_name` differs from `repository.full_name`, and by
no one we can name when either is null or missing. Comments, issues, discussions, stars and
forks (`ANYONE_EVENTS`) are events any GitHub user can cause. A payload that cannot be read
(missing, over `MAX_PAYLOAD`, too deeply nested, not an object) makes the run untrusted.

GitLab CI (docs: "Predefined CI/CD variables"): `GITLAB_CI=true`; a merge request pipeline
(`CI_PIPELINE_SOURCE=merge_request_event`) is from another project when
`CI_MERGE_REQUEST_SOURCE_PROJECT_ID` differs from `CI_PROJECT_ID`; an external pull
request pipeline (`external_pull_request_event`, GitHub pull requests run by GitLab) when
`CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY` differs from its target repository or is not
set; `CI_COMMIT_REF_PROTECTED`
is the string "true" only for protected branches and tags (gitlab-org/gitlab#368689).

The deployed ref, fully qualified: `GITHUB_REF` (refs/heads/..., refs/tags/...,
refs/pull/N/merge); GitLab's `CI_COMMIT_TAG`, `CI_MERGE_REQUEST_REF_PATH` or
`CI_COMMIT_BRANCH`. GitLab checks out a detached HEAD even for a branch, and its
`CI_COMMIT_REF_NAME` is a branch or a tag name without saying which, so it is never read.
Outside CI (or when the runner names no ref) git decides: the checked-out branch, else a
tag at the detached HEAD.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from deploysafe.frozen import record
from deploysafe.host.git import Git

PR_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
        "pull_request_review_thread",
    }
)
# Events any GitHub user can cause (a comment, an issue, a star, a fork): whoever started
# the run, it was not necessarily someone with write access.
ANYONE_EVENTS = frozenset(
    {"issue_comment", "issues", "discussion", "discussion_comment", "fork", "watch"}
)
MAX_PAYLOAD = 25 * 1024 * 1024  # bytes; GitHub caps webhook payloads at 25 MB


@record
class CiContext:
    system: str | None  # "github", "gitlab" or None (not in CI)
    trusted: bool
    reason: str  # one line


def detect(environ: Mapping[str, str]) -> CiContext:
    if environ.get("GITHUB_ACTIONS") == "true":
        return _github(environ)
    if environ.get("GITLAB_CI") == "true":
        return _gitlab(environ)
    return CiContext(None, True, "not running in GitHub Actions or GitLab CI")


def _name(repo: Any) -> str | None:
    if isinstance(repo, dict) and isinstance(repo.get("full_name"), str):
        return str(repo["full_name"])
    return None


def _github(environ: Mapping[str, str]) -> CiContext:
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event not in PR_EVENTS and event not in ANYONE_EVENTS and event != "workflow_run":
        return CiContext("github", True, f"GitHub Actions {event or 'run'} event")
    payload = _payload(environ, event)
    if isinstance(payload, CiContext):
        return payload
    if event in ANYONE_EVENTS:
        return CiContext("github", False, _anyone(event, payload))
    if event == "workflow_run":
        run = payload.get("workflow_run")
        head = _name(run.get("head_repository")) if isinstance(run, dict) else None
        base = _name(payload.get("repository"))
        if head is None or base is None:
            return CiContext(
                "github",
                False,
                "workflow_run whose head repository is null or missing: cannot tell whose "
                "run started it",
            )
        if head.lower() != base.lower():
            return CiContext("github", False, f"workflow_run started by a run in the fork {head}")
        return CiContext("github", True, "GitHub workflow_run from this repository")
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        return CiContext("github", False, f"the {event} payload has no pull_request")
    head, base = pr.get("head"), pr.get("base")
    head_repo = _name(head.get("repo")) if isinstance(head, dict) else None
    base_repo = _name(base.get("repo")) if isinstance(base, dict) else None
    number = pr.get("number", "?")
    if head_repo is None:
        return CiContext(
            "github", False, f"{event} #{number} from a deleted fork (head repository is null)"
        )
    if base_repo is None or head_repo.lower() != base_repo.lower():
        return CiContext("github", False, f"{event} #{number} from the fork {head_repo}")
    return CiContext("github", True, f"{event} #{number} from a branch of {base_repo}")


def _payload(environ: Mapping[str, str], event: str) -> dict[str, Any] | CiContext:
    """The event payload, or the untrusted context that says why it cannot be read: a
    payload deploysafe cannot read proves nothing about who started the run."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return CiContext("github", False, f"GitHub {event} event without GITHUB_EVENT_PATH")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PAYLOAD + 1)
        if len(raw) > MAX_PAYLOAD:
            return CiContext(
                "github", False, f"the {event} payload {path} is over {MAX_PAYLOAD} bytes"
            )
        payload = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return CiContext("github", False, f"cannot read the {event} payload {path}: {exc}")
    except RecursionError:
        return CiContext(
            "github", False, f"cannot read the {event} payload {path}: nested too deeply"
        )
    if not isinstance(payload, dict):
        return CiContext("github", False, f"the {event} payload {path} is not a JSON object")
    return payload


def _anyone(event: str, payload: dict[str, Any]) -> str:
    issue = payload.get("issue")
    number = issue.get("number", "?") if isinstance(issue, dict) else "?"
    if event == "issue_comment" and isinstance(issue, dict) and issue.get("pull_request"):
        return (
            f"issue_comment on pull request #{number}: anyone can comment, and the workflow "
            "may run the pull request's code"
        )
    if event == "issue_comment":
        return f"issue_comment on issue #{number}: anyone can comment"
    return f"GitHub {event} event: anyone can cause one"


def _gitlab(environ: Mapping[str, str]) -> CiContext:
    project = environ.get("CI_PROJECT_PATH") or environ.get("CI_PROJECT_ID", "?")
    if environ.get("CI_PIPELINE_SOURCE") == "external_pull_request_event":
        head = environ.get("CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY", "")
        base = environ.get("CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY", "")
        number = environ.get("CI_EXTERNAL_PULL_REQUEST_IID", "?")
        if not head or not base or head.lower() != base.lower():
            return CiContext(
                "gitlab",
                False,
                f"external pull request #{number} from {head or 'an unnamed repository'} "
                f"into {base or 'an unnamed repository'}",
            )
    if environ.get("CI_PIPELINE_SOURCE") == "merge_request_event" or environ.get(
        "CI_MERGE_REQUEST_IID"
    ):
        source = environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")
        here = environ.get("CI_PROJECT_ID")
        iid = environ.get("CI_MERGE_REQUEST_IID", "?")
        if source and here and source != here:
            path = environ.get("CI_MERGE_REQUEST_SOURCE_PROJECT_PATH", f"project {source}")
            return CiContext("gitlab", False, f"merge request !{iid} from another project ({path})")
    ref = environ.get("CI_COMMIT_REF_NAME", "?")
    if environ.get("CI_COMMIT_REF_PROTECTED") != "true":
        return CiContext("gitlab", False, f"pipeline for {ref!r}, which is not a protected ref")
    return CiContext("gitlab", True, f"GitLab pipeline for the protected ref {ref!r} of {project}")


# ---------------------------------------------------------------- the deployed ref


@record
class DeployedRef:
    ref: str | None  # fully qualified; None: a detached HEAD no tag points at
    source: str  # where it came from, for messages: "CI_COMMIT_TAG", "the checked-out branch"
    tags: tuple[str, ...] = ()  # every tag at a detached HEAD, when a tag was the answer
    problem: str | None = None  # why the ref cannot be told (then `ref` is None)


def deployed_ref(git: Git, environ: Mapping[str, str], explicit: str | None = None) -> DeployedRef:
    """The ref being deployed from the checkout `git` runs in: `explicit` (a full ref, or a
    name git resolves, else a branch name), the CI runner's variables, or git."""
    if explicit:
        if explicit.startswith("refs/"):
            return DeployedRef(explicit, "--ref")
        branch, tag = f"refs/heads/{explicit}", f"refs/tags/{explicit}"
        tracked = f"refs/remotes/origin/{explicit}"
        if (_exists(git, branch) or _exists(git, tracked)) and _exists(git, tag):
            return DeployedRef(
                None,
                "--ref",
                problem=f"--ref {explicit!r} names both the branch {branch} and the tag {tag}: "
                f"pass --ref {branch} or --ref {tag}",
            )
        full = git.out("rev-parse", "--symbolic-full-name", explicit)
        if full and full.startswith("refs/"):
            return DeployedRef(full, "--ref")
        return DeployedRef(branch, "--ref")
    if environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_REF"):
        return DeployedRef(environ["GITHUB_REF"], "GITHUB_REF")
    if environ.get("GITLAB_CI") == "true":
        if environ.get("CI_COMMIT_TAG"):
            return DeployedRef(f"refs/tags/{environ['CI_COMMIT_TAG']}", "CI_COMMIT_TAG")
        if environ.get("CI_MERGE_REQUEST_REF_PATH"):
            return DeployedRef(environ["CI_MERGE_REQUEST_REF_PATH"], "CI_MERGE_REQUEST_REF_PATH")
        if environ.get("CI_COMMIT_BRANCH"):
            return DeployedRef(f"refs/heads/{environ['CI_COMMIT_BRANCH']}", "CI_COMMIT_BRANCH")
    checked_out = git.out("symbolic-ref", "-q", "HEAD")
    if checked_out:
        return DeployedRef(checked_out, "the checked-out branch")
    listed = git.out("for-each-ref", "--points-at", "HEAD", "--format=%(refname)", "refs/tags")
    tags = tuple(listed.splitlines()) if listed else ()
    if tags:
        return DeployedRef(tags[0], "a tag at the detached HEAD", tags)
    return DeployedRef(None, "detached HEAD")


def _exists(git: Git, ref: str) -> bool:
    return git.out("show-ref", "--verify", "-q", ref) is not None


# ---------------------------------------------------------------- who ran it


@record
class Runner:
    actor: str
    system: str  # "github-actions", "gitlab-ci" or "local"
    run: str | None  # a link to the CI run


def runner(environ: Mapping[str, str]) -> Runner:
    """Who and what ran this, from the CI system's variables (or the local user)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        run = None
        if environ.get("GITHUB_RUN_ID"):
            server = environ.get("GITHUB_SERVER_URL", "https://github.com")
            repo = environ.get("GITHUB_REPOSITORY", "")
            run = f"{server}/{repo}/actions/runs/{environ['GITHUB_RUN_ID']}"
        return Runner(environ.get("GITHUB_ACTOR", "unknown"), "github-actions", run)
    if environ.get("GITLAB_CI") == "true":
        return Runner(
            environ.get("GITLAB_USER_LOGIN", "unknown"), "gitlab-ci", environ.get("CI_PIPELINE_URL")
        )
    user = environ.get("USER") or environ.get("LOGNAME") or environ.get("USERNAME") or _login()
    return Runner(user, "local", None)


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry (some containers)
        return "unknown"
