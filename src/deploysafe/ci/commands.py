"""What shell scripts do, as far as deploy gating is concerned: run tests, deploy, or
swallow a test's failure. Shared by GitHub `run:` steps and GitLab `script:` lines.

Heuristics over command text, kept in one place and tested case by case: a command runs
tests when a known test runner is in command position; it deploys when it applies to a
cluster or an infrastructure (kubectl/helm/kustomize/argocd/flux/terraform, deploysafe
deploy); a failure is swallowed by `|| true`, `|| :`, `|| exit 0`, `|| echo ...`,
`; exit 0` on the same line, or by `set +e` earlier in the script with no `set -e` in
between and no look at `$?` afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# A command at the start of a shell command (line start, after ; && || | ( $( or `).
_CMD = r"(?:^|[;&|(`]|\$\()\s*(?:(?:sudo|time|exec|env(?:\s+\w+=\S*)*|[A-Z_][A-Z0-9_]*=\S*)\s+)*"

_TEST_RUNNERS = (
    r"(?:python[0-9.]*\s+-m\s+)?pytest\b",
    r"(?:python[0-9.]*\s+-m\s+)?(?:unittest|nose2?)\b",
    r"(?:uv\s+run\s+|poetry\s+run\s+|pipenv\s+run\s+|hatch\s+run\s+|pdm\s+run\s+)\S*test",
    r"tox\b",
    r"nox\b",
    r"go\s+test\b",
    r"cargo\s+(?:test|nextest)\b",
    r"(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?(?:test|e2e|test:\S+|cy:run)\b",
    r"npx\s+(?:jest|vitest|mocha|playwright\s+test|cypress\s+run|ava|tap)\b",
    r"(?:jest|vitest|mocha|karma\s+start|ava)\b",
    r"make\s+(?:\S+\s+)*(?:test|tests|check|e2e|integration)\b",
    r"(?:mvn|\./mvnw|mvnw)\s+(?:\S+\s+)*(?:test|verify|integration-test)\b",
    r"(?:gradle|\./gradlew|gradlew)\s+(?:\S+\s+)*(?:test|check|integrationTest)\b",
    r"dotnet\s+test\b",
    r"ctest\b",
    r"(?:bundle\s+exec\s+)?(?:rspec|rake\s+(?:test|spec))\b",
    r"(?:vendor/bin/)?phpunit\b",
    r"mix\s+test\b",
    r"swift\s+test\b",
    r"bats\b",
    r"helm\s+test\b",
    r"sbt\s+(?:\S+\s+)*test\b",
    r"\./(?:\S*/)?(?:test|tests|run[-_]tests?)(?:\.sh)?\b",
)
TEST_COMMAND = re.compile(_CMD + "(?:" + "|".join(_TEST_RUNNERS) + ")", re.MULTILINE)

_DEPLOYERS = (
    r"kubectl\s+(?:\S+\s+)*(?:apply|create|replace|patch|set\s+image|rollout\s+restart)\b",
    r"oc\s+(?:apply|create|replace|patch|rollout)\b",
    r"helm\s+(?:\S+\s+)*(?:install|upgrade|rollback)\b",
    r"helmfile\s+(?:\S+\s+)*(?:apply|sync)\b",
    r"kustomize\s+build\b[^\n]*\|\s*kubectl\s+apply\b",
    r"argocd\s+app\s+(?:sync|create|set|rollback)\b",
    r"flux\s+(?:reconcile|create|bootstrap)\b",
    r"(?:terraform|tofu|terragrunt)\s+(?:\S+\s+)*(?:apply|destroy)\b",
    r"pulumi\s+up\b",
    r"deploysafe\s+deploy\b",
    r"skaffold\s+(?:run|deploy)\b",
    r"kubectl\s+kustomize\b[^\n]*\|\s*kubectl\s+apply\b",
)
DEPLOY_COMMAND = re.compile(_CMD + "(?:" + "|".join(_DEPLOYERS) + ")", re.MULTILINE)

# Actions that deploy (GitHub `uses:`), by repository prefix.
DEPLOY_ACTIONS = (
    "azure/k8s-deploy",
    "azure/webapps-deploy",
    "azure/functions-action",
    "aws-actions/amazon-ecs-deploy-task-definition",
    "google-github-actions/deploy-cloudrun",
    "google-github-actions/deploy-appengine",
    "google-github-actions/deploy-cloud-functions",
    "hashicorp/tfc-workflows-github/actions/apply-run",
    "deliverybot/helm",
    "wahyd4/kubectl-helm-action",
    "steebchen/kubectl",
    "actions-hub/kubectl",
    "akhilerm/argocd-action",
    "omegion/argocd-actions",
    "appleboy/ssh-action",
)

# Actions that run tests.
TEST_ACTIONS = (
    "cypress-io/github-action",
    "microsoft/playwright-github-action",
    "dart-lang/setup-dart/test",
    "codecov/test-results-action",
    "mikepenz/action-junit-report",
    "robotframework/robotframework-action",
)

# A failure swallowed on the line of the command.
_SWALLOW = re.compile(
    r"(\|\|\s*(?:true|:|/bin/true|exit\s+0|echo\b[^\n;&|]*)\s*(?:$|[;#]))|(;\s*(?:exit\s+0|true)\s*(?:$|#))"
)
_SET_PLUS_E = re.compile(r"^\s*set\s+\+e\b|^\s*set\s+\+o\s+errexit\b", re.MULTILINE)
_SET_MINUS_E = re.compile(r"^\s*set\s+-e\b|^\s*set\s+-\w*e\w*\b|^\s*set\s+-o\s+errexit\b")
_CHECKS_STATUS = re.compile(r"\$\?|\$\{?PIPESTATUS|\bif\s+!?\s*\S*test|\bthen\b")

_TEST_WORDS = re.compile(
    r"(?:^|[-_ ./:(])(?:tests?|testing|unit|unittests?|integration|e2e|spec|specs|"
    r"qa|pytest|jest)(?:$|[-_ ./:)])",
    re.IGNORECASE,
)
_DEPLOY_WORDS = re.compile(
    r"(?:^|[-_ ./:(])(?:deploy\w*|release|production|prod|rollout)(?:$|[-_ ./:)])", re.IGNORECASE
)


def is_test_name(name: str) -> bool:
    """A job, stage or workflow name that says it runs tests."""
    return bool(_TEST_WORDS.search(name))


def is_deploy_name(name: str) -> bool:
    return bool(_DEPLOY_WORDS.search(name))


def _logical_lines(script: str) -> Iterator[tuple[int, str]]:
    """(offset, line) with backslash continuations joined; offsets stay those of `script`
    (a continuation's backslash and newline become spaces)."""
    joined = re.sub(r"\\(\r?\n)", lambda m: " " * len(m.group()), script)
    offset = 0
    for line in joined.split("\n"):
        yield offset, line
        offset += len(line) + 1


def runs_tests(script: str) -> bool:
    return TEST_COMMAND.search(_strip_comments(script)) is not None


def deploys(script: str) -> bool:
    return DEPLOY_COMMAND.search(_strip_comments(script)) is not None


def first_test(script: str) -> int | None:
    m = TEST_COMMAND.search(_strip_comments(script))
    return m.start() if m else None


def first_deploy(script: str) -> int | None:
    m = DEPLOY_COMMAND.search(_strip_comments(script))
    return m.start() if m else None


_COMMENT = re.compile(r"^(\s*)#[^\n]*", re.MULTILINE)


def _strip_comments(script: str) -> str:
    # Blank out full-line comments, keeping offsets.
    return _COMMENT.sub(lambda m: m.group(1) + " " * (len(m.group()) - len(m.group(1))), script)


@dataclass(frozen=True, slots=True)
class Swallowed:
    """A test command whose failure cannot fail the step: where, and how."""

    offset: int  # of the construct that swallows it, in the script
    text: str  # the construct, e.g. "|| true" or "set +e"
    command: str  # the test command's line


def swallowed_tests(script: str) -> Iterator[Swallowed]:
    clean = _strip_comments(script)
    errexit_off: tuple[int, str] | None = None
    checks_status = bool(_CHECKS_STATUS.search(clean))
    for offset, line in _logical_lines(clean):
        if _SET_PLUS_E.match(line):
            errexit_off = (offset + line.index("set"), line.strip())
            continue
        if _SET_MINUS_E.match(line):
            errexit_off = None
            continue
        test = TEST_COMMAND.search(line)
        if test is None:
            continue
        sw = _SWALLOW.search(line, test.end())
        if sw is not None:
            yield Swallowed(offset + sw.start(), sw.group().strip(" ;#"), line.strip())
        elif errexit_off is not None and not checks_status:
            yield Swallowed(errexit_off[0], errexit_off[1], line.strip())
