"""What shell scripts do, as far as deploy gating is concerned: run tests, deploy, or
swallow a test's failure. Shared by GitHub `run:` steps and GitLab `script:` lines.

Heuristics over command text, kept in one place and tested case by case: a command runs
tests when a known test runner, policy test (conftest, opa test) or schema validator
(kubeconform, kubeval) is in command position; it deploys when it applies to a cluster or
an infrastructure (kubectl/helm/kustomize/argocd/flux/terraform, deploysafe deploy) that
outlives the job: applying to a kind/k3d/minikube cluster the job made is a test, and
publishing docs (GitHub Pages), packages, charts or images is a release, not a deploy that
tests gate (docs/ci.md, "What counts as a deploy"). A failure is swallowed by `|| true`,
`|| :`, `|| exit 0`, `|| echo ...`, `; exit 0` after the command (on its line, or on the
lines it goes on to through a backslash, `||`, `&&` or `|`, or after the `( ... )`/`{ ... }` group
that holds it), or by `set +e` earlier in the script with no `set -e` in between and no
look at `$?` afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from deploysafe.frozen import record
from deploysafe.lazy import on_first_use

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
    r"helm\s+unittest\b",
    # policy tests and schema validation of manifests are tests of what is deployed
    r"conftest\s+(?:test|verify)\b",
    r"opa\s+test\b",
    r"kubeconform\b",
    r"kubeval\b",
    r"ct\s+(?:install|lint-and-install)\b",
    r"sbt\s+(?:\S+\s+)*test\b",
    r"\./(?:\S*/)?(?:test|tests|run[-_]tests?)(?:\.sh)?\b",
)
TEST_COMMAND = re.compile(_CMD + "(?:" + "|".join(_TEST_RUNNERS) + ")", re.MULTILINE)

# Commands that change a Kubernetes cluster (the subcommand right after the tool and its
# flags: `helm plugin install` and `helm repo add` change nothing deployed).
_FLAGS = r"(?:-{1,2}[\w-]+(?:[= ](?!-)\S+)?\s+)*"
_CLUSTER_DEPLOYERS = (
    r"kubectl\s+" + _FLAGS + r"(?:apply|create|replace|patch|set\s+image|rollout\s+restart)\b",
    r"oc\s+" + _FLAGS + r"(?:apply|create|replace|patch|rollout)\b",
    r"helm\s+" + _FLAGS + r"(?:install|upgrade|rollback)\b",
    r"helmfile\s+(?:\S+\s+)*(?:apply|sync)\b",
    r"kustomize\s+build\b[^\n]*\|\s*kubectl\s+apply\b",
    r"argocd\s+app\s+(?:sync|create|set|rollback)\b",
    r"flux\s+(?:reconcile|create|bootstrap)\b",
    r"skaffold\s+(?:run|deploy)\b",
    r"kubectl\s+kustomize\b[^\n]*\|\s*kubectl\s+apply\b",
)
# Commands that change infrastructure or an environment repository, wherever they run.
_OTHER_DEPLOYERS = (
    r"(?:terraform|tofu|terragrunt)\s+(?:\S+\s+)*(?:apply|destroy)\b",
    r"pulumi\s+up\b",
    r"deploysafe\s+deploy\b",
)
_DEPLOYERS = _CLUSTER_DEPLOYERS + _OTHER_DEPLOYERS
DEPLOY_COMMAND = re.compile(_CMD + "(?:" + "|".join(_DEPLOYERS) + ")", re.MULTILINE)


_other_deploy_command = on_first_use(_CMD + "(?:" + "|".join(_OTHER_DEPLOYERS) + ")", re.MULTILINE)


# A throwaway cluster made inside the job (kind, k3d, minikube ...): what is applied to it
# is a test of the manifests, not a deploy.
_CLUSTER_MAKERS = (
    r"kind\s+create\s+cluster\b",
    r"k3d\s+cluster\s+create\b",
    r"minikube\s+start\b",
    r"ctlptl\s+(?:create|apply)\b",
    r"microk8s\s+(?:install|start)\b",
)
CLUSTER_COMMAND = re.compile(_CMD + "(?:" + "|".join(_CLUSTER_MAKERS) + ")", re.MULTILINE)
CLUSTER_ACTIONS = (
    "helm/kind-action",
    "engineerd/setup-kind",
    "container-tools/kind-action",
    "medyagh/setup-minikube",
    "manusa/actions-setup-minikube",
    "absaoss/k3d-action",
    "nolar/setup-k3d-k3s",
    "debianmaster/actions-k3s",
    "jupyterhub/action-k3s-helm",
    "balchua/microk8s-actions",
)

# Publishing a documentation site (GitHub Pages): what it changes is docs, which tests of
# the code do not cover; never a deploy here.
PAGES_ACTIONS = (
    "actions/deploy-pages",
    "actions/upload-pages-artifact",
    "peaceiris/actions-gh-pages",
    "jamesives/github-pages-deploy-action",
)
PAGES_ENVIRONMENTS = frozenset({"github-pages"})


_docs_words = on_first_use(
    r"(?:^|[-_ ./:(])(?:docs?|documentation|pages|gh-pages|site|website|book|storybook)"
    r"(?:$|[-_ ./:)])",
    re.IGNORECASE,
)


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


_test_words = on_first_use(
    r"(?:^|[-_ ./:(])(?:tests?|testing|unit|unittests?|integration|e2e|spec|specs|"
    r"qa|pytest|jest)(?:$|[-_ ./:)])",
    re.IGNORECASE,
)


_deploy_words = on_first_use(
    r"(?:^|[-_ ./:(])(?:deploy\w*|release|production|prod|rollout)(?:$|[-_ ./:)])", re.IGNORECASE
)


# A download run by a shell without being kept or checked: `curl ... | sh`,
# `wget -O- ... | sudo bash`, `bash <(curl ...)`, `sh -c "$(curl ...)"`.
_SHELL = r"(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k)?sh\b"
_PIPED_DOWNLOAD = re.compile(
    r"\b(?:curl|wget)\b[^\n|;&]*\|\s*"
    + _SHELL
    + r"|\b"
    + _SHELL
    + r"\s+(?:-\S+\s+)*<\(\s*(?:curl|wget)\b"
    + r"|\b"
    + _SHELL
    + r"\s+-c\s+[\"']?\$\(\s*(?:curl|wget)\b"
    + r"|\bsource\s+<\(\s*(?:curl|wget)\b"
)


def piped_downloads(script: str) -> Iterator[tuple[int, str]]:
    """(offset, command line) of each download run straight by a shell."""
    for offset, line in _logical_lines(_strip_comments(script)):
        m = _PIPED_DOWNLOAD.search(line)
        if m is not None:
            yield offset + m.start(), " ".join(line.split())


# A write to the files the runner reads between steps: GITHUB_ENV sets variables (and so
# LD_PRELOAD, BASH_ENV, NODE_OPTIONS) for every later step, GITHUB_PATH where they find
# their programs. bash, PowerShell and cmd spellings.
_ENV_FILE = re.compile(
    r"(?:>>?|\btee\s+(?:-a\s+)?|-FilePath\s+|Add-Content\s+(?:-Path\s+)?)\s*[\"']?"
    r"(?:\$\{?GITHUB_(ENV|PATH)\}?|\$env:GITHUB_(ENV|PATH)|%GITHUB_(ENV|PATH)%)",
    re.IGNORECASE,
)
_DYNAMIC = re.compile(r"[$`%]")


def env_file_writes(script: str) -> Iterator[tuple[int, str]]:
    """(offset, GITHUB_ENV or GITHUB_PATH) of each write whose content is computed
    (holds a variable, a substitution or a `%VAR%`); literal lines are left out."""
    for offset, line in _logical_lines(_strip_comments(script)):
        m = _ENV_FILE.search(line)
        if m is None:
            continue
        content = line[: m.start()] + line[m.end() :]
        if "<<" in line or _DYNAMIC.search(content):
            which = next(g for g in m.groups() if g)
            yield offset + m.start(), f"GITHUB_{which.upper()}"


def is_test_name(name: str) -> bool:
    """A job, stage or workflow name that says it runs tests."""
    return bool(_test_words().search(name))


def is_deploy_name(name: str) -> bool:
    return bool(_deploy_words().search(name))


def _logical_lines(script: str) -> Iterator[tuple[int, str]]:
    """(offset, line) with backslash continuations joined; offsets stay those of `script`
    (a continuation's backslash and newline become spaces)."""
    joined = re.sub(r"\\(\r?\n)", lambda m: " " * len(m.group()), script)
    # A line ending in `||`, `&&` or `|` goes on with the next line.
    joined = re.sub(
        r"(\|\||&&|\|)([ \t]*\r?\n)", lambda m: m.group(1) + " " * len(m.group(2)), joined
    )
    offset = 0
    for line in joined.split("\n"):
        yield offset, line
        offset += len(line) + 1


def runs_tests(script: str) -> bool:
    return TEST_COMMAND.search(_strip_comments(script)) is not None


def deploys(script: str, own_cluster: bool = False) -> bool:
    """The script deploys; with `own_cluster` (the job made a throwaway cluster), only
    commands that reach beyond it (terraform, pulumi, deploysafe deploy) count."""
    clean = _strip_comments(script)
    if own_cluster or CLUSTER_COMMAND.search(clean):
        return _other_deploy_command().search(clean) is not None
    return DEPLOY_COMMAND.search(clean) is not None


def makes_cluster(script: str) -> bool:
    return CLUSTER_COMMAND.search(_strip_comments(script)) is not None


# What a step says when it deploys by means this module cannot see (a script of the
# repository, a make target): a name such as "Deploy to production", or a command named
# deploy. "release" alone is not enough: it names package and chart publishing as often.
_deploy_step_name = on_first_use(
    r"\b(?:deploy\w*|roll(?:s|ing)?[\s-]?out|promote)\b", re.IGNORECASE
)


_deploy_script = on_first_use(
    _CMD + r"(?:(?:\S*/)?deploy[\w.-]*(?:\s|$)|(?:make|just|task|(?:npm|pnpm|yarn|bun)\s+run)\s+"
    r"(?:\S+\s+)*deploy[\w:-]*\b)",
    re.MULTILINE,
)


def says_deploy(name: str, script: str | None) -> bool:
    """A step name or script that says it deploys, and not documentation."""
    if is_docs_name(name):
        return False
    if _deploy_step_name().search(name):
        return True
    return script is not None and _deploy_script().search(_strip_comments(script)) is not None


def is_docs_name(name: str) -> bool:
    """A step, job or environment name about a documentation site."""
    return bool(_docs_words().search(name))


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


@record
class Swallowed:
    """A test command whose failure cannot fail the step: where, and how."""

    offset: int  # of the construct that swallows it, in the script
    text: str  # the construct, e.g. "|| true" or "set +e"
    command: str  # the test command's line


def swallow_span(script: str, offset: int) -> tuple[int, int] | None:
    """What to remove from `script` so that the `|| true` (`; exit 0`, ...) that
    swallowed_tests found at `offset` is gone: from the blanks before it to the end of its
    command; a `;` or a comment after it stays."""
    eol = script.find("\n", offset)
    m = _SWALLOW.match(script, offset, eol if eol >= 0 else len(script))  # `$`: line end
    if m is None:
        return None
    start, end = offset, m.end()
    while end > start and script[end - 1] in ";# \t":
        end -= 1
    while start > 0 and script[start - 1] in " \t":
        start -= 1
    return start, end


_GROUP_END = re.compile(r"^\s*[)}]")


def _group_body(lines: list[tuple[int, str]], end: int) -> list[tuple[int, str]]:
    """The lines of the `( ... )` or `{ ... }` group that line `end` closes."""
    m = _GROUP_END.match(lines[end][1])
    closers = lines[end][1][: m.end()] if m else ""
    depth = closers.count(")") + closers.count("}")
    for i in range(end - 1, -1, -1):
        text = lines[i][1]
        depth += text.count(")") + text.count("}") - text.count("(") - text.count("{")
        if depth <= 0:
            return lines[i:end]
    return []


def swallowed_tests(script: str) -> Iterator[Swallowed]:
    clean = _strip_comments(script)
    errexit_off: tuple[int, str] | None = None
    checks_status = bool(_CHECKS_STATUS.search(clean))
    lines = list(_logical_lines(clean))
    for n, (offset, line) in enumerate(lines):
        closing = _SWALLOW.search(line) if _GROUP_END.match(line) else None
        if closing is not None and TEST_COMMAND.search(line) is None:
            body = _group_body(lines, n)
            inner = next((t for _, t in body if TEST_COMMAND.search(t)), None)
            if inner is not None:
                text = " ".join(closing.group().strip(" ;#").split())
                yield Swallowed(offset + closing.start(), text, inner.strip())
            continue
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
            text = " ".join(sw.group().strip(" ;#").split())
            yield Swallowed(offset + sw.start(), text, " ".join(line.split()))
        elif errexit_off is not None and not checks_status:
            yield Swallowed(errexit_off[0], errexit_off[1], line.strip())
