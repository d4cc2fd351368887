"""Third-party actions and reusable workflows pinned to a full commit SHA."""

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
        if u.pin != "sha":
            continue
        ref = f"`{u.ref}`" if u.ref else "no ref"
        yield at(doc, path, f"{what} `{u.raw}`: {ref} is not a commit SHA and can be moved")


RULE = Rule(
    id="DS106",
    title="Third-party actions and reusable workflows must be pinned to a commit SHA",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A tag or branch of someone else's repository can be moved to new code at any time "
        "(tj-actions/changed-files, March 2025: every tag was rewritten to dump secrets). "
        "The workflow then runs that code with its token and secrets, in the pipeline that "
        "deploys to production."
    ),
    fix="Pin to the full 40-character commit SHA and keep the version in a comment: "
    "`uses: owner/action@8f4b7f84864484a7bf31766abe9204da3cbe65b3 # v4.1.0`; let Dependabot "
    "or Renovate update it.",
    bad="""\
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: reviewdog/action-shellcheck@v1
""",
    good="""\
on: push
permissions: {}
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: reviewdog/action-shellcheck@5ebd09ddbe2ebb471646ce234c6c8dd18663ca7c # v1.30.0
""",
    not_reported=(
        "GitHub's own actions (`actions/*`, `github/*`, `dependabot/*`) by tag: DS107 advises "
        "a SHA for them at low severity, as GitHub moves those tags itself; "
        "`slsa-framework/slsa-github-generator` called by a release tag: it must be (it "
        "verifies the ref it was called at, and a SHA breaks it); local actions."
    ),
    references=(
        "zizmor unpinned-uses",
        "Scorecard Pinned-Dependencies",
        "GitHub: security hardening, using third-party actions",
    ),
    check=check,
)
