"""GitLab deploy jobs that run even when earlier jobs (the tests) failed."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

_BYPASS = {"always": "whatever the earlier jobs did", "on_failure": "only when something failed"}


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import pipeline_of

    for job in pipeline_of(doc).jobs:
        if not job.is_deploy:
            continue
        when = job.get("when")
        if isinstance(when, str) and when in _BYPASS:
            yield Violation(
                (job.name, "when"), f"{job.label} deploys {_BYPASS[when]} (`when: {when}`)"
            )
        for i, rule in job.rules:
            w = rule.get("when")
            if isinstance(w, str) and w in _BYPASS:
                yield Violation(
                    (job.name, "rules", i, "when"),
                    f"{job.label} deploys {_BYPASS[w]} (rule {i + 1}: `when: {w}`)",
                )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS606",
    title="GitLab deploy jobs must not run when earlier jobs failed",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "`when: always` (on the job or in a rule) runs the job whatever happened to the "
        "jobs before it, failed tests included; `when: on_failure` runs it only when "
        "something failed. Either way a red pipeline deploys."
    ),
    fix="Use `when: on_success` (the default) on deploy jobs, in rules too; for a "
    "clean-up that must always run, use a separate job that does not deploy.",
    bad="""\
deploy:
  stage: deploy
  environment: production
  script: [kubectl apply -f k8s/]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: always
""",
    good="""\
deploy:
  stage: deploy
  environment: production
  script: [kubectl apply -f k8s/]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
""",
    references=("deploysafe practice 6 (no peer rule)", "GitLab: when, rules:when"),
    check=check,
)
