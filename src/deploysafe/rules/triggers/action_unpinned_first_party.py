"""GitHub's own actions used by a composite action, pinned to a commit SHA."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.triggers._uses import action_uses, at


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for path, u, what in action_uses(doc):
        if u.pin == "sha-advised":
            yield at(doc, path, f"{what} `{u.raw}`: `{u.ref}` is not a commit SHA")


RULE = Rule(
    id="DS114",
    title="Actions should pin GitHub's own actions to a commit SHA",
    practice=Practice.TRIGGERS,
    severity=Severity.LOW,
    target=Target.GITHUB_ACTION,
    why=(
        "The same advice as DS107, for the steps of a composite action: `actions/*` tags are "
        "moved by GitHub itself, which is less risky than a third party, but the code that "
        "runs in every caller's workflow can still change without a change to the action."
    ),
    fix="Pin `actions/checkout@v4` as `actions/checkout@<40-char SHA> # v4.x.y`.",
    bad="""\
name: setup
description: set up the toolchain
runs:
  using: composite
  steps:
    - uses: actions/setup-python@v5
""",
    good="""\
name: setup
description: set up the toolchain
runs:
  using: composite
  steps:
    - uses: actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065 # v5.6.0
""",
    not_reported="Third-party actions and Docker images (DS108, high); local actions.",
    references=("zizmor unpinned-uses", "Scorecard Pinned-Dependencies (GitHub-owned actions)"),
    check=check,
)
