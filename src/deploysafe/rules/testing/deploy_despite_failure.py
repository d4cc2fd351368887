"""Deploy jobs and steps that run even when the tests before them failed."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import requires_success, status_functions, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

_BYPASS = {"always", "!cancelled", "failure", "cancelled", "!success"}


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    for job in wf.jobs:
        if not job.is_deploy:
            continue
        tests = {d.id for d in wf.ancestors(job) if d.runs_tests}
        found = status_functions(job.condition) & _BYPASS
        if tests and found and not requires_success(job.condition, tests):
            fn = sorted(found)[0]
            yield Violation(
                (*job.path, "if"),
                f"{job.label} deploys even when {', '.join(sorted(tests))} failed "
                f"(`{fn}()` without `needs.<test>.result == 'success'`)",
            )
        tested = False
        for step in job.steps:
            if step.runs_tests:
                tested = True
                continue
            if tested and step.deploys:
                sfound = status_functions(step.condition) & _BYPASS
                if sfound:
                    yield Violation(
                        (*step.path, "if"),
                        f"{job.label} {step.label} deploys even when the test steps before "
                        f"it failed (`{sorted(sfound)[0]}()`)",
                    )


RULE = Rule(
    id="DS605",
    title="Deploys must not run when the tests failed",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`if: always()`, `${{ !cancelled() }}` or `failure()` on a deploy job makes it run "
        "whatever happened to the jobs it needs: the tests fail, the deploy goes ahead."
    ),
    fix="Drop the status function, or keep it and require the tests explicitly: "
    "`if: always() && needs.test.result == 'success'`.",
    bad="""\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
  deploy:
    needs: test
    if: always()
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: kubectl apply -f k8s/
""",
    good="""\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
  deploy:
    needs: test
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: kubectl apply -f k8s/
""",
    references=("deploysafe practice 6 (no peer rule)",),
    check=check,
)
