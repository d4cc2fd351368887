"""Test steps and jobs whose failure cannot fail the workflow."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci import commands
from deploysafe.ci.github import only_on, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule
from deploysafe.rules.script_text import rewrite


def _true(value: object) -> bool:
    return value is True or value == "true"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    deploys = any(j.is_deploy for j in wf.jobs)
    for job in wf.jobs:
        if not job.runs_tests:
            continue
        if _true(job.get("continue-on-error")):
            yield Violation(
                (*job.path, "continue-on-error"),
                f"{job.label} runs tests with `continue-on-error: true`: a failure does not "
                "fail the workflow",
            )
        if deploys and not job.is_deploy and only_on(job.condition, "schedule"):
            yield Violation(
                (*job.path, "if"),
                f"{job.label} runs tests only on schedule: the deploys in this workflow "
                "never wait for them",
            )
        for step in job.steps:
            if not step.runs_tests:
                continue
            if _true(step.get("continue-on-error")):
                yield Violation(
                    (*step.path, "continue-on-error"),
                    f"{job.label} {step.label} runs tests with `continue-on-error: true`",
                )
            if step.run is None:
                continue
            for sw in commands.swallowed_tests(step.run):
                path = (*step.path, "run")
                yield Violation(
                    path,
                    f"{job.label} {step.label}: `{sw.text}` swallows the failure of `{sw.command}`",
                    offset=doc.source_offset(path, step.run, sw.offset),
                )


def fix(doc: Document, path: KeyPath) -> Fix | None:
    """Remove `continue-on-error`, or every `|| true` (`; exit 0`, `|| echo ...`) after a
    test command of the script; `set +e` and tests that only run on schedule are left to a
    human (what else the script lets fail, or when the tests should run, is their call)."""
    if not isinstance(doc, CiDocument) or not path:
        return None
    if path[-1] == "continue-on-error":
        return Fix((Edit(EditOp.DELETE, path),), False, "remove continue-on-error: true")
    if path[-1] != "run":
        return None
    step = next((s for j in workflow_of(doc).jobs for s in j.steps if s.path == path[:-1]), None)
    script = None if step is None else step.run
    if script is None:
        return None
    found = list(commands.swallowed_tests(script))
    spans = [commands.swallow_span(script, sw.offset) for sw in found]
    if not found or any(s is None for s in spans):
        return None  # `set +e`
    lines = rewrite(doc, path, script, [(a, b, "") for a, b in filter(None, spans)])
    if lines is None:
        return None
    texts = ", ".join(dict.fromkeys(f"`{sw.text}`" for sw in found))
    return Fix((), False, f"remove {texts} after the test command", lines=lines)


RULE = Rule(
    id="DS603",
    title="Tests must be able to fail the workflow",
    practice=Practice.TESTS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A test that cannot fail gates nothing: `continue-on-error: true`, `|| true`, "
        "`; exit 0` or `set +e` turn a red test run green, and the deploy that waits for "
        "it goes ahead. Tests that only run on a schedule never stand between a change and "
        "its deploy."
    ),
    fix="Remove `continue-on-error` and the `|| true`; if a test is flaky, quarantine it "
    "by name in the test runner (with an issue and a date), not by ignoring the whole run.",
    bad="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest || true
""",
    good="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
""",
    not_reported=(
        "Linters and scanners whose failure is swallowed (`ruff check . || true`): only "
        "tests count, and policy tests (conftest, `opa test`) and schema validation "
        "(kubeconform, kubeval) are tests. `set +e` when the script looks at `$?` or "
        "`PIPESTATUS` afterwards."
    ),
    references=("deploysafe practice 6 (no peer rule)",),
    check=check,
    autofix=AutoFix(
        fix,
        safe=False,
        summary="Removes `|| true`, `; true`, `|| exit 0`, `|| echo ...` after a test "
        "command in a `run:` script (the script keeps its style and comments) and "
        "`continue-on-error: true` on a test step or job. Unsafe: the workflow then fails "
        "when the tests do, which is the point, but a flaky suite will now block. "
        "`set +e` and tests that only run on schedule need a manual fix.",
        before="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest || true
      - run: npm test
        continue-on-error: true
""",
        after="""\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
      - run: npm test
""",
    ),
)
