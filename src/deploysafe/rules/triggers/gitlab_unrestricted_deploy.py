"""GitLab deploy jobs limited to protected refs or tied to an environment."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import pipeline_of, restricted

    pipe = pipeline_of(doc)
    for job in pipe.jobs:
        if not job.is_deploy or job.environment is not None or restricted(job, pipe):
            continue
        how = "runs deploy commands" if job.deploys else f"is in stage {job.stage!r}"
        if "rules" in job.data:
            where = "its `rules:` also match unprotected branches or merge requests"
        elif "only" in job.data:
            where = "its `only:` includes unprotected refs"
        else:
            where = "it runs in every branch's pipeline (no `rules:` or `only:`)"
        yield Violation(job.path, f"{job.label} {how}, {where}, and it has no `environment:`")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS120",
    title="GitLab deploy jobs must run only for protected refs or an environment",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "A job without `rules:` or `only:` runs in every pipeline, for every branch anyone "
        "with Developer access pushes. A deploy job there releases unreviewed code, with the "
        "deploy credentials, from any branch. Protected variables and protected environments "
        "only help when the job is tied to protected refs or to an environment."
    ),
    fix="Add `rules: [{if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'}]` (or "
    '`$CI_COMMIT_TAG`, or `$CI_COMMIT_REF_PROTECTED == "true"`) and an `environment:` '
    "that is protected in the project settings.",
    bad="""\
deploy:
  stage: deploy
  script:
    - kubectl apply -f k8s/
""",
    good="""\
deploy:
  stage: deploy
  script:
    - kubectl apply -f k8s/
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
""",
    references=(
        "deploysafe practice 1 (no peer rule; Checkov CKV_GITLABCI_2 is about duplicate pipelines)",
        "GitLab: protected environments, protected variables",
    ),
    check=check,
)
