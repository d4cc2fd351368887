"""A composite or Docker action's own dependencies pinned (SHA for actions, digest for images)."""

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
        if u.kind == "docker" and not u.pinned:
            yield at(doc, path, f"{what} `{u.raw}`: an image tag can be moved; use @sha256:")
        elif u.pin == "sha":
            ref = f"`{u.ref}`" if u.ref else "no ref"
            yield at(doc, path, f"{what} `{u.raw}`: {ref} is not a commit SHA and can be moved")


RULE = Rule(
    id="DS108",
    title="Actions must pin what they use to a commit SHA or an image digest",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_ACTION,
    why=(
        "A composite action runs in its callers' workflows with their tokens and secrets; "
        "if it uses another action by tag, or a Docker image by tag, whoever controls that "
        "tag controls every caller, however carefully they pinned this action."
    ),
    fix="Pin nested actions to a full commit SHA and Docker images to `@sha256:` digests.",
    bad="""\
name: setup
description: set up the toolchain
runs:
  using: composite
  steps:
    - uses: asdf-vm/actions/setup@v3
""",
    good="""\
name: setup
description: set up the toolchain
runs:
  using: composite
  steps:
    - uses: asdf-vm/actions/setup@1902764435ca0dd2f3388eea723a4f92a4eb8302 # v4.0.0
""",
    not_reported=(
        "GitHub's own actions (`actions/*`, `github/*`, `dependabot/*`) by tag: DS114 advises "
        "a SHA for them at low severity, the same policy as DS106/DS107 in workflows; "
        "`slsa-framework/slsa-github-generator` by a release tag (it must be called so); "
        "local actions."
    ),
    references=("zizmor unpinned-uses", "zizmor unpinned-images", "Scorecard Pinned-Dependencies"),
    check=check,
)
