"""Token permissions that are undeclared or broader than a job needs (DS104, DS105).

As zizmor's excessive-permissions decides it, with one difference: a workflow-level grant
applies to every job, so with more than one job (not all declaring their own, not a
reusable-only workflow) each write scope there is reported; at job level only `write-all`
and `read-all` are too broad (a named write scope is what the job needs). A workflow-level
grant of a single-job workflow is that job's today, but every job added later inherits it:
zizmor reports it only at its pedantic persona, deploysafe at the default one, asking to
move the scope to the job. A job without any permissions block inherits the repository
default, which may be read-write.
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
    elif not reusable_only:
        # One job, or every job declares its own: the workflow's grant is at most the one
        # job's. A named write scope there is still every later job's grant, so it is
        # reported with the job to move it to.
        for job in wf.jobs:
            if "permissions" in job.data:
                continue
            if perms in ("write-all", "read-all"):
                yield Violation(
                    ("permissions",),
                    f"the workflow grants `{perms}` to the token of {job.label}, which "
                    "declares no `permissions:` of its own",
                )
            elif isinstance(perms, dict):
                for scope in _writes(perms):
                    yield Violation(
                        ("permissions", scope),
                        f"the workflow grants `{scope}: write` to every job, and {job.label} "
                        "is its only one: grant it in that job's `permissions:`, so a job "
                        "added later does not get it",
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
        for scope in _writes(perms):
            yield Violation(
                (*path, scope),
                f"{where} grants `{scope}: write` to every job; grant it only to the job "
                "that needs it",
            )


def _writes(perms: dict[Any, Any]) -> list[str]:
    return [str(scope) for scope, level in perms.items() if level == "write"]
