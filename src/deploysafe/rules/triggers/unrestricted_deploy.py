"""Deploy jobs restricted to a protected branch or tag, or to a GitHub environment."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import guards_ref, unrestricted_events, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    loose = unrestricted_events(wf)
    if not loose:
        return
    for job in wf.jobs:
        if not job.is_deploy or job.environment not in (None, "", {}):
            continue
        if guards_ref(job.condition):
            continue
        steps = job.deploy_steps
        if steps and all(guards_ref(s.condition) for s in steps):
            continue
        what = f"{steps[0].label} deploys" if steps else "it deploys"
        yield Violation(
            job.path,
            f"{job.label}: {what} and runs for {', '.join(loose)}, with no `environment:` "
            "and no branch or tag condition",
        )


RULE = Rule(
    id="DS113",
    title="Deploy jobs must be tied to a protected branch, a tag or a GitHub environment",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A deploy job that any branch can start lets anyone who can push a branch (or open "
        "a pull request, or dispatch the workflow from a branch) release code that no one "
        "reviewed: branch protection and reviews only guard the branches they are set on. "
        "A GitHub environment adds server-side rules (required reviewers, allowed branches) "
        "that the workflow file cannot bypass."
    ),
    fix="Give the job `environment: production` (and set the environment's deployment "
    "branches and reviewers), or trigger it only from `push` to protected branches or tags, "
    "or guard it: `if: github.ref == 'refs/heads/main'`.",
    bad="""\
on: [push, workflow_dispatch]
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: kubectl apply -f k8s/
""",
    good="""\
on: [push, workflow_dispatch]
permissions: {}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: kubectl apply -f k8s/
""",
    not_reported=(
        "Jobs that deploy nothing (docs sites, package and chart releases, `helm plugin "
        "install`, manifests applied to a kind/k3d/minikube cluster the job made: docs/ci.md, "
        '"What counts as a test and a deploy"); jobs with an `environment:`, whose '
        "deployment branch rules and reviewers GitHub enforces."
    ),
    references=(
        "deploysafe practice 1 (no peer rule: zizmor secrets-outside-env is closest)",
        "GitHub: deployments and environments",
    ),
    check=check,
)
