"""The fix for undeclared or broad token permissions (DS104, DS105).

- No `permissions:` anywhere: `permissions: {}` before `jobs:`, and each job that needs a
  scope gets it at job level (`contents: read` for a checkout, the documented scopes of
  known actions). A job with a step whose needs cannot be told (an unknown action, a step
  that names the token) gets `contents: read` and the fix is unsafe.
- `write-all` / `read-all` (workflow or job): the same scopes in their place; unsafe, since
  a step may have relied on any of them.
- The named scopes of a one-job workflow move to that job: the token is unchanged (safe).
- Named write scopes shared by several jobs: which job needs them is a human's call.
"""

from __future__ import annotations

from deploysafe.ci.github import Job, Workflow, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, KeyPath
from deploysafe.rules.base import Edit, EditOp, Fix, FlowMap

_BROAD = ("write-all", "read-all")


# The fix as DS104's and DS105's pages describe it.
SUMMARY = (
    "With no `permissions:` anywhere: `permissions: {}` before `jobs:`, and at job level the "
    "scopes each job's steps need (`contents: read` for a checkout, the documented scopes of "
    "known actions such as deploy-pages, codeql-action, action-gh-release; `contents: write` "
    "for a script that runs `git push`). Safe when every step's needs are known; a job with a "
    "step whose needs are not (another action, a step that passes the token) gets "
    "`contents: read` and the fix is unsafe. `write-all` / `read-all` are replaced the same "
    "way (unsafe). A one-job workflow's named scopes move to the job (safe: the token is "
    "unchanged; unsafe when comments on the scopes would be lost). Named write scopes a "
    "workflow shares among several jobs need a manual fix."
)


def fix_permissions(doc: Document, path: KeyPath) -> Fix | None:
    if not isinstance(doc, CiDocument):
        return None
    wf = workflow_of(doc)
    perms = wf.data.get("permissions")
    for job in wf.jobs:
        if path == (*job.path, "permissions") and job.data.get("permissions") in _BROAD:
            edit, _ = _grant(job)
            what = f"replace `{job.data['permissions']}` of {job.label} with {_shown(edit)}"
            return Fix((edit,), False, what)
    if not wf.has_permissions and (path == () or any(path == j.path for j in wf.jobs)):
        return _top_and_jobs(wf, "add `permissions: {}` to the workflow")
    if path == ("permissions",) and perms in _BROAD:
        return _top_and_jobs(
            wf, f"replace the workflow's `{perms}` with `permissions: {{}}`", broad=True
        )
    if path[:1] == ("permissions",) and isinstance(perms, dict):
        own = [j for j in wf.jobs if "permissions" not in j.data]
        if len(own) != 1 or len(wf.jobs) != 1:
            return None
        job = own[0]
        moved = FlowMap(tuple((str(k), v) for k, v in perms.items()))
        # The scopes move as one `{...}` line: comments on them would be lost, so a block
        # that has some needs a human look.
        commented = _has_comments(doc, [("permissions",), *(("permissions", k) for k in perms)])
        what = f"move the workflow's permissions to {job.label}, the workflow's to `{{}}`"
        return Fix(
            (
                Edit(EditOp.SET, ("permissions",), FlowMap(())),
                Edit(EditOp.SET, (*job.path, "permissions"), moved, before="steps"),
            ),
            not commented,
            what + (" (the comments on the scopes are not carried over)" if commented else ""),
        )
    return None


def _has_comments(doc: CiDocument, paths: list[tuple[str, ...]]) -> bool:
    lines = [doc.positions[p][0] for p in paths if p in doc.positions]
    if not lines:
        return False
    return any("#" in doc.lines[n - 1] for n in range(min(lines), max(lines) + 1))


def _grant(job: Job) -> tuple[Edit, tuple[str, ...]]:
    """The job's `permissions:` as its steps need them, and the steps whose needs are not
    known (then `contents: read` at least)."""
    from deploysafe.ci.scopes import job_needs  # fixes only: a scan need not import it

    needs = job_needs(job)
    scopes = dict(needs.scopes)
    if needs.unknown:
        scopes.setdefault("contents", "read")
    pairs = tuple(sorted(scopes.items()))
    edit = Edit(EditOp.SET, (*job.path, "permissions"), FlowMap(pairs), before="steps")
    return edit, needs.unknown


def _shown(edit: Edit) -> str:
    pairs = edit.value.pairs if isinstance(edit.value, FlowMap) else ()
    return "`{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}`"


def _top_and_jobs(wf: Workflow, what: str, *, broad: bool = False) -> Fix:
    edits = [Edit(EditOp.SET, ("permissions",), FlowMap(()), before="jobs")]
    notes: list[str] = []
    unsafe = broad  # a step may have relied on any scope
    for job in wf.jobs:
        if "permissions" in job.data:
            continue
        edit, unknown = _grant(job)
        if _shown(edit) == "`{}`":
            continue  # the workflow's `{}` is all it needs
        edits.append(edit)
        note = f"{job.label} {_shown(edit)}"
        if unknown:
            unsafe = True
            note += f" ({', '.join(unknown)}: needs not known)"
        notes.append(note)
    if notes:
        what += "; " + "; ".join(notes)
    return Fix(tuple(edits), not unsafe, what)
