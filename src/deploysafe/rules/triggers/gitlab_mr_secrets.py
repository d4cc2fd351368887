"""GitLab jobs that run in merge request pipelines (forks included) with deploy secrets."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import merge_request_rules, pipeline_of, secrets_used

    for job in pipeline_of(doc).jobs:
        paths = merge_request_rules(job)
        if not paths:
            continue
        names = secrets_used(job)
        if not names and not job.is_deploy:
            continue
        what = f"reads {', '.join(names)}" if names else "deploys"
        for path, _cond in paths:
            yield Violation(
                path,
                f"{job.label} {what} and runs in merge request pipelines, including those a "
                "maintainer runs for a fork's merge request, without checking "
                "`$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID`",
            )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS121",
    title="Merge request pipelines from forks must not receive deploy secrets",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "A fork's merge request pipeline normally runs in the fork, but a maintainer can run "
        "it in the parent project, with the parent's CI/CD variables and runners, on the "
        "fork's code. A job that deploys or reads credentials there hands them to whoever "
        "wrote the merge request (GitLab's version of the pwn request)."
    ),
    fix="Run deploy and secret-using jobs only for protected refs, or add "
    "`$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID` to their merge request rule; "
    "mark deploy variables protected.",
    bad="""\
preview:
  script:
    - helm upgrade --install preview chart/ --kube-token "$KUBE_TOKEN"
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
""",
    good="""\
preview:
  script:
    - helm upgrade --install preview chart/ --kube-token "$KUBE_TOKEN"
  rules:
    - if: >-
        $CI_PIPELINE_SOURCE == "merge_request_event"
        && $CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID
""",
    references=(
        "GitLab: run pipelines in the parent project for merge requests from a forked project",
        "gitlab-org/gitlab#217451",
    ),
    check=check,
)
