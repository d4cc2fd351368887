"""Reusable workflows called with `secrets: inherit`."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.triggers._uses import at


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for job in workflow_of(doc).jobs:
        if job.uses is not None and job.get("secrets") == "inherit":
            yield at(
                doc,
                (*job.path, "uses"),
                f"{job.label} passes every secret of the repository to `{job.uses.raw}`",
            )


RULE = Rule(
    id="DS110",
    title="Reusable workflows must receive only the secrets they need",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`secrets: inherit` hands the called workflow every repository, organisation and "
        "environment secret the caller can see, including deploy credentials it never uses; "
        "a compromised or moved reference then leaks all of them."
    ),
    fix="List the secrets explicitly: `secrets: {registry-token: ${{ secrets.REGISTRY_TOKEN }}}`.",
    bad="""\
on: push
permissions: {}
jobs:
  build:
    uses: acme/workflows/.github/workflows/build.yml@0b8a1a3d1c6fd0cbd1a6fc2a2fa1b1d2ea1ddf11
    secrets: inherit
""",
    good="""\
on: push
permissions: {}
jobs:
  build:
    uses: acme/workflows/.github/workflows/build.yml@0b8a1a3d1c6fd0cbd1a6fc2a2fa1b1d2ea1ddf11
    secrets:
      registry-token: ${{ secrets.REGISTRY_TOKEN }}
""",
    references=("zizmor secrets-inherit",),
    check=check,
)
