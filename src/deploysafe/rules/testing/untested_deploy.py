"""Deploy jobs that do not wait for a job that runs the tests."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci import expressions
from deploysafe.ci.github import Job, Workflow, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def tested_before(job: Job) -> bool:
    """The job itself runs tests before its first deploy step."""
    deploying = job.deploy_steps
    for step in job.steps:
        if step in deploying:
            return False
        if step.runs_tests:
            return True
    return False


def requires_upstream_success(wf: Workflow, job: Job) -> bool:
    """A workflow_run deploy that checks the triggering run succeeded."""
    for cond in (job.condition,):
        if not cond:
            continue
        tree = expressions.condition(cond)
        if tree is None:
            continue
        for node in _binaries(tree):
            sides = (node.left, node.right)
            if any(
                isinstance(s, expressions.Context)
                and s.path == ("github", "event", "workflow_run", "conclusion")
                for s in sides
            ) and any(isinstance(s, expressions.Literal) and s.value == "success" for s in sides):
                return True
    return False


def _binaries(node: expressions.Node) -> Iterator[expressions.Binary]:
    if isinstance(node, expressions.Binary):
        if node.op == "==":
            yield node
        if node.op in ("&&",):
            yield from _binaries(node.left)
            yield from _binaries(node.right)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    if wf.events == {"workflow_call"}:
        return  # the caller decides what runs before
    for job in wf.jobs:
        if not job.is_deploy or (job.runs_tests and not job.deploy_steps):
            continue
        if tested_before(job) or any(dep.runs_tests for dep in wf.ancestors(job)):
            continue
        if "workflow_run" in wf.events:
            if requires_upstream_success(wf, job):
                continue
            yield Violation(
                job.path,
                f"{job.label} deploys after the triggering workflow whatever its result: "
                "check `github.event.workflow_run.conclusion == 'success'`",
            )
            continue
        needs = ", ".join(job.needs) or "nothing"
        yield Violation(
            job.path,
            f"{job.label} deploys without waiting for tests (needs: {needs}; no job it "
            "depends on runs tests)",
        )


RULE = Rule(
    id="DS601",
    title="Deploy jobs must depend on the jobs that run the tests",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "Jobs in a workflow run in parallel unless `needs:` orders them. A deploy job that "
        "does not depend (directly or through other jobs) on the test job deploys while the "
        "tests run, and keeps what it deployed when they fail."
    ),
    fix="Add `needs: [test]` to the deploy job (or run the tests in it before deploying); "
    "for a separate deploy workflow on `workflow_run`, check "
    "`github.event.workflow_run.conclusion == 'success'`.",
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
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: helm upgrade --install shop chart/
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
    needs: [test]
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: helm upgrade --install shop chart/
""",
    not_reported=(
        "Jobs that deploy nothing tests could cover: publishing a documentation site "
        "(GitHub Pages actions, the `github-pages` environment, steps named for docs), "
        "releasing packages, charts or images, uploading artifacts, reports or profiles, and "
        "applying manifests to a kind/k3d/minikube cluster the job made itself (an end-to-end "
        "test). A GitHub `environment:` alone does not make a deploy (environments also hold "
        "release secrets): the job must run a deploy command or action, call a reusable "
        "workflow named for deploying, or have a step whose name or script says deploy. The "
        'vocabulary is in docs/ci.md, "What counts as a deploy". Reusable workflows '
        "(`workflow_call` only): their caller decides what runs before."
    ),
    references=(
        "deploysafe practice 6 (no peer rule)",
        "GitHub: using jobs, defining prerequisite jobs",
    ),
    check=check,
)
