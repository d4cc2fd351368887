"""Privileged triggers that check out a pull request's code and run it ("pwn request")."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import (
    PRIVILEGED_EVENTS,
    executes_checkout,
    untrusted_checkout,
    workflow_of,
)
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    events = sorted(wf.events & PRIVILEGED_EVENTS)
    if not events:
        return
    for job in wf.jobs:
        for i, step in enumerate(job.steps):
            how = untrusted_checkout(step)
            if how is None:
                continue
            runner = next((s for s in job.steps[i:] if executes_checkout(s)), None)
            if runner is None:
                continue
            path = (*step.path, "with", "ref") if "ref" in step.with_ else step.path
            ran = "itself" if runner is step else runner.label
            yield Violation(
                path,
                f"{job.label} {step.label} checks out the pull request's code ({how}) in a "
                f"{'/'.join(events)} workflow, and {ran} runs it with the base "
                "repository's token and secrets",
            )


RULE = Rule(
    id="DS101",
    title="Privileged triggers must not run code from the pull request",
    practice=Practice.TRIGGERS,
    severity=Severity.CRITICAL,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`pull_request_target`, `workflow_run` and `issue_comment` workflows run with the "
        "base repository's secrets and a write token, even for a fork's pull request. "
        "Checking out the pull request's head and then building, testing or installing it "
        "runs the attacker's code (a postinstall script, a Makefile, a test) with those "
        'secrets: the "pwn request" that has taken over many repositories. A workflow '
        "that only labels or comments, with no checkout of the head, is fine."
    ),
    fix="Run untrusted code under `pull_request` (no secrets, read-only token). If a "
    "privileged step must follow, split it: build in `pull_request`, upload the result as "
    "an artifact, and handle it without executing it in a `workflow_run` workflow.",
    bad="""\
on: pull_request_target
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm test
""",
    good="""\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: npm ci && npm test
""",
    references=(
        "zizmor dangerous-triggers",
        "Scorecard Dangerous-Workflow (untrusted checkout)",
        "poutine untrusted_checkout_exec",
        "GitHub Security Lab: Preventing pwn requests",
    ),
    check=check,
)
