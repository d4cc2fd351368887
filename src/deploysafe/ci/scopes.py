"""The GITHUB_TOKEN scopes a job needs, where its steps tell: the actions whose needs are
documented, and scripts that push with the checkout's credentials. A step that names the
token (or an action not listed here) may need any scope: the job's needs are then unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from deploysafe.ci.github import Job, Step
from deploysafe.frozen import record
from deploysafe.lazy import on_first_use

Scopes = Mapping[str, str]  # scope -> "read" / "write"

# From each action's README ("Permissions"), by owner/repo or owner/repo/path, lower-case.
_ACTIONS: Mapping[str, Scopes] = {
    "actions/checkout": {"contents": "read"},
    "actions/cache": {},
    "actions/cache/restore": {},
    "actions/cache/save": {},
    "actions/upload-artifact": {},
    "actions/download-artifact": {},
    "actions/upload-pages-artifact": {},
    "actions/deploy-pages": {"pages": "write", "id-token": "write"},
    "actions/setup-node": {},
    "actions/setup-python": {},
    "actions/setup-go": {},
    "actions/setup-java": {},
    "actions/setup-dotnet": {},
    "azure/setup-kubectl": {},
    "azure/setup-helm": {},
    "docker/setup-buildx-action": {},
    "docker/setup-qemu-action": {},
    "docker/metadata-action": {},
    "docker/build-push-action": {},
    "github/codeql-action/init": {},
    "github/codeql-action/autobuild": {},
    "github/codeql-action/analyze": {"security-events": "write"},
    "github/codeql-action/upload-sarif": {"security-events": "write"},
    "softprops/action-gh-release": {"contents": "write"},
    "peter-evans/create-pull-request": {"contents": "write", "pull-requests": "write"},
    "actions/stale": {"issues": "write", "pull-requests": "write"},
}
# Inputs that, when set, need more than the action's own scopes.
_INPUTS: Mapping[tuple[str, str], Scopes] = {
    ("actions/stale", "delete-branch"): {"contents": "write"},
}


_token = on_first_use(r"github\.token|secrets\.github_token|\bGITHUB_TOKEN\b|\bGH_TOKEN\b", re.I)


_push = on_first_use(r"\bgit\s+(?:-[Cc]\s+\S+\s+)*push\b")


@record
class Needs:
    scopes: dict[str, str]
    unknown: tuple[str, ...]  # labels of the steps whose needs cannot be told


def _mentions_token(step: Step) -> bool:
    values = [step.run or "", *map(str, step.env.values()), *map(str, step.with_.values())]
    return any(_token().search(v) for v in values)


def step_needs(step: Step) -> Scopes | None:
    """The scopes a step needs, None when that cannot be told."""
    u = step.uses
    if u is not None:
        if u.kind != "repository":
            return None  # a local or Docker action: its code is not read here
        known = _ACTIONS.get(u.name.lower())
        if known is None or (_mentions_token(step) and not u.is_("actions/checkout")):
            return None
        more = [_INPUTS.get((u.name.lower(), str(k)), {}) for k, v in step.with_.items() if v]
        return {**known, **{k: v for m in more for k, v in m.items()}}
    if step.run is None or _mentions_token(step):
        return None
    return {"contents": "write"} if _push().search(step.run) else {}


def job_needs(job: Job) -> Needs:
    scopes: dict[str, str] = {}
    unknown: list[str] = []
    if job.uses is not None:
        return Needs({}, ("its reusable workflow",))
    for step in job.steps:
        needs = step_needs(step)
        if needs is None:
            unknown.append(step.label)
            continue
        for scope, level in needs.items():
            if scopes.get(scope) != "write":
                scopes[scope] = level
    return Needs(scopes, tuple(unknown))
