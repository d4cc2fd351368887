"""GitHub's own actions (actions/*) pinned to a commit SHA."""

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
        if u.kind == "repository" and u.first_party and not u.pinned:
            ref = f"`{u.ref}`" if u.ref else "no ref"
            yield at(doc, path, f"{what} `{u.raw}`: {ref} is not a commit SHA")


RULE = Rule(
    id="DS107",
    title="GitHub's own actions should be pinned to a commit SHA",
    practice=Practice.TRIGGERS,
    severity=Severity.LOW,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`actions/*` tags are moved by GitHub itself, which is less risky than a third party, "
        "but a tag still means the code that runs can change without a change to the "
        "workflow; a SHA makes every run reproducible and reviewable."
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
    references=("zizmor unpinned-uses", "Scorecard Pinned-Dependencies (GitHub-owned actions)"),
    check=check,
)
