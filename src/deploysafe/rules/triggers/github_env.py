"""Computed values written to GITHUB_ENV / GITHUB_PATH in privileged workflows."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci import commands
from deploysafe.ci.github import PRIVILEGED_EVENTS, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    events = sorted(wf.events & PRIVILEGED_EVENTS)
    if not events:
        return
    for job in wf.jobs:
        for step in job.steps:
            if step.run is None:
                continue
            files = sorted({f for _, f in commands.env_file_writes(step.run)})
            if files:
                yield Violation(
                    (*step.path, "run"),
                    f"{job.label} {step.label} writes computed values to "
                    f"{' and '.join(files)} in a {', '.join(events)} workflow: text an "
                    "outsider controls can set variables (LD_PRELOAD, BASH_ENV) or programs "
                    "for every later step",
                )


RULE = Rule(
    id="DS119",
    title="Privileged workflows must not write computed values to GITHUB_ENV or GITHUB_PATH",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "Every later step of the job reads `$GITHUB_ENV` and `$GITHUB_PATH`. In a "
        "pull_request_target, workflow_run or issue_comment workflow, which holds the base "
        "repository's secrets and token, a value derived from a pull request (its title, an "
        "artifact, a file of its branch) written there can set `LD_PRELOAD`, `BASH_ENV` or "
        "`NODE_OPTIONS`, or put the attacker's folder first on the PATH: code execution in "
        "every following step."
    ),
    fix="Keep such values in step outputs (`$GITHUB_OUTPUT`) and pass them through `env:` to "
    "the steps that need them, validated; write only literal lines to GITHUB_ENV.",
    bad="""\
on: pull_request_target
permissions: {}
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - env:
          TITLE: ${{ github.event.pull_request.title }}
        run: echo "PR_TITLE=$TITLE" >> "$GITHUB_ENV"
""",
    good="""\
on: pull_request_target
permissions: {}
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - id: title
        env:
          TITLE: ${{ github.event.pull_request.title }}
        run: echo "title=${#TITLE}" >> "$GITHUB_OUTPUT"
""",
    not_reported=(
        "Literal lines (`echo FOO=bar >> $GITHUB_ENV`); workflows on other triggers, where "
        "only the repository's own code and people run; composite actions (their callers' "
        "triggers are unknown; zizmor reports them)."
    ),
    references=("zizmor github-env",),
    check=check,
)
