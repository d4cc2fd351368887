"""Test steps and jobs whose failure cannot fail the workflow."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci import commands
from deploysafe.ci.github import only_on, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _true(value: object) -> bool:
    return value is True or value == "true"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    deploys = any(j.is_deploy for j in wf.jobs)
    for job in wf.jobs:
        if not job.runs_tests:
            continue
        if _true(job.get("continue-on-error")):
            yield Violation(
                (*job.path, "continue-on-error"),
                f"{job.label} runs tests with `continue-on-error: true`: a failure does not "
                "fail the workflow",
            )
        if deploys and not job.is_deploy and only_on(job.condition, "schedule"):
            yield Violation(
                (*job.path, "if"),
                f"{job.label} runs tests only on schedule: the deploys in this workflow "
                "never wait for them",
            )
        for step in job.steps:
            if not step.runs_tests:
                continue
            if _true(step.get("continue-on-error")):
                yield Violation(
                    (*step.path, "continue-on-error"),
                    f"{job.label} {step.label} runs tests with `continue-on-error: true`",
                )
            if step.run is None:
                continue
            for sw in commands.swallowed_tests(step.run):
                path = (*step.path, "run")
                yield Violation(
                    path,
                    f"{job.label} {step.label}: `{sw.text}` swallows the failure of `{sw.command}`",
                    offset=doc.source_offset(path, step.run, sw.offset),
                )


RULE = Rule(
    id="DS603",
    title="Tests must be able to fail the workflow",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A test that cannot fail gates nothing: `continue-on-error: true`, `|| true`, "
        "`; exit 0` or `set +e` turn a red test run green, and the deploy that waits for "
        "it goes ahead. Tests that only run on a schedule never stand between a change and "
        "its deploy."
    ),
    fix="Remove `continue-on-error` and the `|| true`; if a test is flaky, quarantine it "
    "by name in the test runner (with an issue and a date), not by ignoring the whole run.",
    bad="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest || true
""",
    good="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
""",
    not_reported=(
        "Linters and scanners whose failure is swallowed (`ruff check . || true`): only "
        "tests count, and policy tests (conftest, `opa test`) and schema validation "
        "(kubeconform, kubeval) are tests. `set +e` when the script looks at `$?` or "
        "`PIPESTATUS` afterwards."
    ),
    references=("deploysafe practice 6 (no peer rule)",),
    check=check,
)
