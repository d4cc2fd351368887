"""GitHub's own actions (actions/*, github/*, dependabot/*) pinned to a commit SHA."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.triggers._uses import at, workflow_uses


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for path, u, what in workflow_uses(doc):
        if u.pin == "sha-advised":
            yield at(doc, path, f"{what} `{u.raw}`: `{u.ref}` is not a commit SHA")


RULE = Rule(
    id="DS107",
    title="GitHub's own actions should be pinned to a commit SHA",
    practice=Practice.TRIGGERS,
    severity=Severity.LOW,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`actions/*` (and `github/*`, `dependabot/*`) tags are moved by GitHub itself, which "
        "is less risky than a third party, but a tag still means the code that runs can "
        "change without a change to the workflow; a SHA makes every run reproducible and "
        "reviewable."
    ),
    fix="Pin `actions/checkout@v4` as `actions/checkout@<40-char SHA> # v4.x.y`.",
    bad="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
""",
    good="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0
""",
    not_reported=(
        "Third-party actions (DS106, high) and GitHub's own actions with no ref at all "
        "(DS106: a moving default branch). Composite actions: DS114 applies the same advice "
        "there."
    ),
    references=("zizmor unpinned-uses", "Scorecard Pinned-Dependencies (GitHub-owned actions)"),
    check=check,
)
