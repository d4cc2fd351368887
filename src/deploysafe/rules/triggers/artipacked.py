"""Checkout credentials persisted in a workspace that is uploaded as an artifact."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import checkout_major, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for job in workflow_of(doc).jobs:
        for i, step in enumerate(job.steps):
            if not step.is_checkout:
                continue
            if not isinstance(step.data.get("with", {}), dict):
                continue  # `with:` computed by an expression: cannot tell
            persist = step.with_.get("persist-credentials", True)
            if persist in (False, "false"):
                continue
            if isinstance(persist, str) and "${{" in persist:
                continue
            major = checkout_major(doc, step)
            if major is not None and major >= 6:
                continue  # v6 keeps credentials under $RUNNER_TEMP, out of the workspace
            upload = next((s for s in job.steps[i + 1 :] if s.uploads_artifact), None)
            if upload is None:
                continue
            yield Violation(
                step.path,
                f"{job.label} {step.label} leaves the token in .git/config and "
                f"{upload.label} uploads an artifact from the workspace",
            )


RULE = Rule(
    id="DS111",
    title="Checkout must not persist credentials in a workspace that is uploaded",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "actions/checkout (before v6) writes the job's token into `.git/config` unless "
        "`persist-credentials: false`. An artifact uploaded from the workspace then carries "
        "the token, and anyone who can download the artifact (for public repositories: "
        'anyone) can use it while the run lasts ("ArtiPACKED", Unit 42, 2024).'
    ),
    fix="Set `persist-credentials: false` on the checkout step (or upload only the build "
    "output folder).",
    bad="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: .}
""",
    good="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: .}
""",
    references=("zizmor artipacked", "Unit 42: ArtiPACKED (2024)"),
    check=check,
)
