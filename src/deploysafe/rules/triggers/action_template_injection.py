"""Template injection in composite actions: inputs and untrusted contexts expanded into code."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import action_of
from deploysafe.ci.injection import Scope, injections
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    act = action_of(doc)
    for step in act.steps:
        scope = Scope((step.env,), None, None, action_inputs=True)
        for inj in injections(doc, step, scope):
            yield Violation(inj.path, f"{step.label}: {inj.why}", offset=inj.offset)


RULE = Rule(
    id="DS103",
    title="Composite actions must not expand inputs or untrusted values into scripts",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_ACTION,
    why=(
        "A composite action's `${{ inputs.x }}` is whatever the calling workflow passes, "
        "often a pull request title or a branch name. Expanded into a `run:` script it becomes "
        "code that runs with the caller's token and secrets, in every repository that uses "
        "the action."
    ),
    fix="Map the input to an environment variable and quote it: "
    '`env: {NAME: ${{ inputs.name }}}` and `run: echo "$NAME"`.',
    bad="""\
name: greet
description: greet someone
inputs:
  name: {description: who, required: true}
runs:
  using: composite
  steps:
    - run: echo "Hello ${{ inputs.name }}"
      shell: bash
""",
    good="""\
name: greet
description: greet someone
inputs:
  name: {description: who, required: true}
runs:
  using: composite
  steps:
    - run: echo "Hello $NAME"
      shell: bash
      env:
        NAME: ${{ inputs.name }}
""",
    references=("zizmor template-injection", "poutine injection", "actionlint script injection"),
    check=check,
)
