"""Token permissions in workflows outsiders can trigger (pull requests, comments, issues)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Rule
from deploysafe.rules.triggers._permissions import excessive
from deploysafe.rules.triggers._permissions_fix import SUMMARY, fix_permissions


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    events = sorted(wf.outsider_events)
    if not events:
        return
    for v in excessive(wf):
        yield Violation(v.path, f"{v.message} (triggered by {', '.join(events)})")


RULE = Rule(
    id="DS104",
    title="Workflows pull requests can trigger must declare least-privilege token permissions",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "Without a `permissions:` block a job's GITHUB_TOKEN gets the repository default, "
        "which on older repositories and many organisations is read-write on everything. "
        "In a workflow that pull requests, comments or issues start, any injection or "
        "compromised step can then push code, rewrite releases or approve itself. "
        "`write-all` and workflow-wide write scopes give the same power to every job."
    ),
    fix="Start the workflow with `permissions: {}` (or `contents: read`) and grant each job "
    "only the write scopes it needs, at job level.",
    bad="""\
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
""",
    good="""\
on: pull_request
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
""",
    not_reported=(
        "A named write scope (`contents: write`) granted at job level: the job presumably "
        "needs it. A workflow-level grant when every job declares its own: no job gets it. "
        "(A named write scope at workflow level in a single-job workflow is reported, "
        "unlike zizmor's default persona: every job added later would inherit it.) "
        "`write-all` and `read-all` are reported wherever they are the job's grant. "
        "Jobs of a reusable-only workflow (`workflow_call`): the caller's permissions apply."
    ),
    references=(
        "zizmor excessive-permissions",
        "Scorecard Token-Permissions",
        "Checkov CKV2_GHA_1",
        "poutine default_permissions_on_risky_events",
    ),
    check=check,
    autofix=AutoFix(
        fix_permissions,
        safe=True,
        summary=SUMMARY,
        before="""\
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make test
""",
        after="""\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make test
""",
    ),
)
