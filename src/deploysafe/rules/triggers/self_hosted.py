"""Self-hosted runners in workflows that forks and outsiders can trigger."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.github import Job, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def self_hosted(job: Job) -> str | None:
    """Why the job may run on a self-hosted runner, or None."""
    runs_on = job.get("runs-on")
    if isinstance(runs_on, dict):
        if "group" in runs_on:
            return f"runner group {runs_on['group']!r}"
        runs_on = runs_on.get("labels")
    labels = _labels(runs_on)
    if any(lb.strip().lower() == "self-hosted" for lb in labels):
        return "label `self-hosted`"
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    if not isinstance(matrix, dict):
        return None
    for lb in labels:
        for expr in expressions.find(lb):
            try:
                tree = expressions.parse(expr.body)
            except expressions.ExpressionError:
                continue
            for ctx in expressions.contexts(tree):
                if (
                    len(ctx.path) == 2
                    and ctx.path[0] == "matrix"
                    and _matrix_self_hosted(matrix, ctx.path[1])
                ):
                    return f"matrix value `self-hosted` for `{ctx.text}`"
    return None


def _matrix_self_hosted(matrix: dict[str, Any], key: str) -> bool:
    def hosted(v: Any) -> bool:
        return any(x.strip().lower() == "self-hosted" for x in _labels(v)) or (
            isinstance(v, list) and any(hosted(x) for x in v if isinstance(x, list))
        )

    excluded = set()
    for entry in matrix.get("exclude") or []:
        if isinstance(entry, dict):
            for k, v in entry.items():
                if str(k).lower() == key and isinstance(v, str):
                    excluded.add(v.strip().lower())
    for k, v in matrix.items():
        if str(k).lower() == key and hosted(v) and "self-hosted" not in excluded:
            return True
    for entry in matrix.get("include") or []:
        if isinstance(entry, dict):
            for k, v in entry.items():
                if str(k).lower() == key and hosted(v):
                    return True
    return False


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    events = sorted(wf.outsider_events)
    if not events:
        return
    for job in wf.jobs:
        why = self_hosted(job)
        if why is not None:
            yield Violation(
                (*job.path, "runs-on"),
                f"{job.label} runs on a self-hosted runner ({why}) in a workflow "
                f"{', '.join(events)} can start",
            )


RULE = Rule(
    id="DS112",
    title="Self-hosted runners must not run workflows that forks can trigger",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "A self-hosted runner is a machine on your network that keeps state between jobs. "
        "A pull request from a fork (or a comment, an issue) that reaches it runs the "
        "outsider's code there: it can persist a backdoor, read the next job's secrets, "
        "and reach whatever the runner can reach, often the cluster you deploy to."
    ),
    fix="Run workflows that outsiders can trigger on GitHub-hosted runners; keep self-hosted "
    "runners for push, release and deploy workflows, or use ephemeral, isolated runners.",
    bad="""\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: [self-hosted, linux]
    steps:
      - run: make test
""",
    good="""\
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
""",
    references=(
        "zizmor self-hosted-runner",
        "poutine pr_runs_on_self_hosted",
        "GitHub: self-hosted runner security",
    ),
    check=check,
)
