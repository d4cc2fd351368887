"""Token permissions in workflows only maintainers trigger (push, schedule, dispatch)."""

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
    if wf.outsider_events:
        return  # DS104
    yield from excessive(wf)


RULE = Rule(
    id="DS105",
    title="Workflows should declare least-privilege token permissions",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A job's token without a `permissions:` block gets the repository default, which may "
        "be read-write. A compromised dependency or action in a push or release workflow can "
        "then push to protected branches, tamper with releases or packages. Broad grants "
        "(`write-all`, `read-all`, workflow-wide write scopes) give every job more than it "
        "needs."
    ),
    fix="Add `permissions: {}` (or `contents: read`) at the top and grant write scopes per job.",
    bad="""\
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
""",
    good="""\
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
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
    ),
    check=check,
    autofix=AutoFix(
        fix_permissions,
        safe=True,
        summary=SUMMARY,
        before="""\
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
""",
        after="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make
  docs:
    runs-on: ubuntu-latest
    steps:
      - run: make docs
""",
    ),
)
