"""GitLab deploy jobs that do not wait for a job that runs the tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from deploysafe.ci import commands
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

if TYPE_CHECKING:
    from deploysafe.ci.gitlab import Job, Pipeline


def _tests_first(job: Job) -> bool:
    script = job.script
    t, d = commands.first_test(script), commands.first_deploy(script)
    return t is not None and (d is None or t < d)


def gated(job: Job, pipe: Pipeline) -> bool:
    from deploysafe.ci.gitlab import schedule_only

    if _tests_first(job):
        return True
    deps = pipe.ancestors(job)
    if deps is None:  # stage order: every job of an earlier stage
        index = pipe.stage_index(job.stage)
        deps = [j for j in pipe.jobs if pipe.stage_index(j.stage) < index]
    return any(d.runs_tests and not schedule_only(d) for d in deps)


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import pipeline_of

    pipe = pipeline_of(doc)
    for job in pipe.jobs:
        if not job.is_deploy or (job.runs_tests and not job.deploys) or gated(job, pipe):
            continue
        if job.needs is not None:
            names = ", ".join(n.job for n in job.needs) or "nothing"
            how = f"its `needs:` ({names}) leads to no test job"
        else:
            how = f"no job in a stage before {job.stage!r} runs tests"
        yield Violation(job.path, f"{job.label} deploys without waiting for tests: {how}")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS602",
    title="GitLab deploy jobs must depend on the jobs that run the tests",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "GitLab runs a job once the jobs of earlier stages succeed, unless it has `needs:`, "
        "which replaces stage order with exactly the jobs listed. A deploy job with "
        "`needs: [build]`, or in the same stage as the tests, deploys without waiting for "
        "them."
    ),
    fix="Put the tests in an earlier stage, or list the test job in the deploy job's `needs:`.",
    bad="""\
stages: [build, test, deploy]
unit:
  stage: test
  script: [pytest]
deploy:
  stage: deploy
  needs: []
  environment: production
  script: [helm upgrade --install shop chart/]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
""",
    good="""\
stages: [build, test, deploy]
unit:
  stage: test
  script: [pytest]
deploy:
  stage: deploy
  needs: [unit]
  environment: production
  script: [helm upgrade --install shop chart/]
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
""",
    references=("deploysafe practice 6 (no peer rule)", "GitLab: needs, stages"),
    check=check,
)
