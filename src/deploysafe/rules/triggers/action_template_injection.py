"""Template injection in composite actions: inputs and untrusted contexts expanded into code."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import action_of
from deploysafe.ci.injection import Scope, injections
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Rule
from deploysafe.rules.triggers._injection_fix import fix_injection


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
    autofix=AutoFix(
        fix_injection,
        safe=True,
        summary="As DS102's: each input or untrusted `${{ }}` in a `run:` script becomes a "
        "variable of the step's `env:` (`inputs.name` is `INPUTS_NAME`), read as `${NAME}` "
        "(bash, sh) or `$env:NAME` (PowerShell). Safe where every such expression is inside "
        "double quotes; unsafe where one is unquoted or single-quoted (an input meant as "
        "shell code, `run: ${{ inputs.script }}`, stops running as code). A step without a "
        "bash, sh or PowerShell `shell:` needs a manual fix.",
        after="""\
name: greet
description: greet someone
inputs:
  name: {description: who, required: true}
runs:
  using: composite
  steps:
    - run: echo "Hello ${INPUTS_NAME}"
      shell: bash
      env:
        INPUTS_NAME: ${{ inputs.name }}
""",
    ),
)
