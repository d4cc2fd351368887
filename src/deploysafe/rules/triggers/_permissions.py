"""Token permissions that are undeclared or broader than a job needs (DS104, DS105).

As zizmor's excessive-permissions decides it: a workflow-level grant applies to every job,
so it counts only when it is not effectively job-level (more than one job, not all jobs
declare their own, not a reusable-only workflow); at job level, and for a workflow-level
grant that is effectively one job's, only `write-all` and `read-all` are too broad (a
named write scope is what the job needs); a job without any permissions block inherits
the repository default, which may be read-write.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.ci.github import Workflow
from deploysafe.model import Violation


def excessive(wf: Workflow) -> Iterator[Violation]:
    reusable_only = wf.events == {"workflow_call"}
    perms = wf.data.get("permissions")
    workflow_level = (
        len(wf.jobs) > 1 and not all("permissions" in j.data for j in wf.jobs) and not reusable_only
    )
    if workflow_level:
        if not wf.has_permissions:
            yield Violation(
                (),
                "no `permissions:` block: every job gets the repository's default token, "
                "which may be read-write",
            )
        else:
            yield from _broad(perms, ("permissions",), "the workflow")
    elif perms in ("write-all", "read-all") and not reusable_only:
        # One job, or every job but this one declares its own: the workflow's grant is
        # that job's grant, judged as a job-level one.
        for job in wf.jobs:
            if "permissions" not in job.data:
                yield Violation(
                    ("permissions",),
                    f"the workflow grants `{perms}` to the token of {job.label}, which "
                    "declares no `permissions:` of its own",
                )
                break
    for job in wf.jobs:
        if "permissions" in job.data:
            jp = job.data["permissions"]
            if jp in ("write-all", "read-all"):
                yield Violation(
                    (*job.path, "permissions"), f"{job.label} grants `{jp}` to its token"
                )
            continue
        if wf.has_permissions:
            continue
        if reusable_only and job.uses is None:
            continue  # the caller's permissions apply
        yield Violation(
            job.path,
            f"{job.label} has no `permissions:` (nor has the workflow): its token gets the "
            "repository default, which may be read-write",
        )


def _broad(perms: Any, path: tuple[str, ...], where: str) -> Iterator[Violation]:
    if perms in ("write-all", "read-all"):
        yield Violation(path, f"{where} grants `{perms}` to every job's token")
    elif isinstance(perms, dict):
        for scope, level in perms.items():
            if level == "write":
                yield Violation(
                    (*path, str(scope)),
                    f"{where} grants `{scope}: write` to every job; grant it only to the job "
                    "that needs it",
                )
