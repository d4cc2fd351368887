"""A download piped straight into a shell, in a workflow that holds write access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.ci import commands
from deploysafe.ci.github import PRIVILEGED_EVENTS, Job, Workflow, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _writes(perms: Any) -> bool:
    if perms == "write-all":
        return True
    return isinstance(perms, dict) and any(v == "write" for v in perms.values())


def privilege(wf: Workflow, job: Job) -> str | None:
    """Why the job's token or secrets are worth stealing, or None."""
    events = sorted(wf.events & PRIVILEGED_EVENTS)
    if events:
        return f"runs on {', '.join(events)}"
    perms = job.data["permissions"] if "permissions" in job.data else wf.data.get("permissions")
    if _writes(perms):
        return "has a token with write permissions"
    return None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    wf = workflow_of(doc)
    for job in wf.jobs:
        why = privilege(wf, job)
        if why is None:
            continue
        for step in job.steps:
            if step.run is None:
                continue
            path = (*step.path, "run")
            for offset, line in commands.piped_downloads(step.run):
                yield Violation(
                    path,
                    f"{job.label} {step.label} runs a download unchecked (`{line}`) and {why}: "
                    "whoever controls that URL runs code with it",
                    offset=doc.source_offset(path, step.run, offset),
                )


RULE = Rule(
    id="DS117",
    title="Privileged workflows must not pipe downloads into a shell",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`curl ... | sh` runs whatever the server returns at that moment, with nothing "
        "kept or checked. In a workflow that runs on pull_request_target, workflow_run or "
        "issue_comment, or holds a token that can write, the script gets those secrets and "
        "that token: a hijacked domain, a compromised release or a changed install script "
        "becomes a push to your repository (the Codecov bash uploader, 2021)."
    ),
    fix="Download to a file, check its SHA-256 against a pinned value, then run it; or use a "
    "SHA-pinned action or a package manager with a lock file.",
    bad="""\
on: pull_request_target
permissions: {}
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: curl -fsSL https://example.com/install.sh | sh
""",
    good="""\
on: pull_request_target
permissions: {}
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: |
          curl -fsSLo install.sh https://example.com/install.sh
          echo "3f0e6f0f7d1b4a5e8b3f1b6c2d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e  install.sh" \\
            | sha256sum -c -
          sh install.sh
""",
    not_reported=(
        "Workflows with no write grant and no privileged trigger: their token can change "
        "nothing and they hold no secrets outsiders could reach through them (a missing "
        "`permissions:` block is DS104/DS105's finding). Downloads saved to a file first, "
        "checked or not: the finding is about running what was never kept."
    ),
    references=(
        "poutine unverified_script_exec",
        "Scorecard Pinned-Dependencies (downloadThenRun)",
    ),
    check=check,
)
