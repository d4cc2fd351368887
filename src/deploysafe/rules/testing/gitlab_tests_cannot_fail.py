"""GitLab test jobs whose failure cannot fail the pipeline."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci import commands
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _check(doc: CiDocument) -> Iterator[Violation]:
    from deploysafe.ci.gitlab import pipeline_of, schedule_only

    pipe = pipeline_of(doc)
    deploys = any(j.is_deploy for j in pipe.jobs)
    for job in pipe.jobs:
        if not job.runs_tests or job.is_deploy:
            continue
        if job.get("allow_failure") is True:
            yield Violation(
                (job.name, "allow_failure"),
                f"{job.label} runs tests with `allow_failure: true`: the pipeline passes when "
                "they fail",
            )
        for i, rule in job.rules:
            if rule.get("allow_failure") is True and rule.get("when") != "never":
                yield Violation(
                    (job.name, "rules", i, "allow_failure"),
                    f"{job.label} runs tests with `allow_failure: true` (rule {i + 1})",
                )
        if job.get("when") == "manual" and job.get("allow_failure") is not False:
            yield Violation(
                (job.name, "when"),
                f"{job.label} runs tests only when started by hand, and a manual job "
                "never blocks the pipeline",
            )
        if deploys and schedule_only(job):
            where = (job.name, "rules") if "rules" in job.data else (job.name, "only")
            yield Violation(
                where,
                f"{job.label} runs tests only in scheduled pipelines: deploys never wait for them",
            )
        for path, line in job.script_lines("before_script", "script"):
            for sw in commands.swallowed_tests(line):
                yield Violation(
                    path,
                    f"{job.label}: `{sw.text}` swallows the failure of `{sw.command}`",
                    offset=doc.source_offset(path, line, sw.offset),
                )
        for path, line in job.script_lines("after_script"):
            if commands.runs_tests(line):
                yield Violation(
                    path,
                    f"{job.label} runs tests in `after_script`, whose failures never fail the job",
                )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if isinstance(doc, CiDocument):
        # Imported here: a pipeline's documents come from that module, and a repository
        # without a pipeline need not import it.
        from deploysafe.ci.gitlab import mine

        yield from mine(doc, _check(doc))


RULE = Rule(
    id="DS604",
    title="GitLab tests must be able to fail the pipeline",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITLAB_CI,
    why=(
        "`allow_failure: true`, `when: manual`, `|| true`, `set +e` and tests in "
        "`after_script` all let the pipeline (and the deploy after it) go green with failing "
        "tests; tests that only run on a schedule never stand between a change and its "
        "deploy."
    ),
    fix="Remove `allow_failure` and the `|| true`; quarantine a flaky test by name in the "
    "test runner, with an issue and a date.",
    bad="""\
unit:
  stage: test
  script:
    - pytest
  allow_failure: true
""",
    good="""\
unit:
  stage: test
  script:
    - pytest
""",
    references=("deploysafe practice 6 (no peer rule)", "GitLab: allow_failure"),
    check=check,
)
