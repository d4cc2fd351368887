"""GitHub App tokens minted with every permission, for every repository, or left valid."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

TOKEN_ACTIONS = ("actions/create-github-app-token",)


def _org_level(permission: str) -> bool:
    """A permission on the organisation itself, which no repository list narrows."""
    return permission in ("members", "team-discussions") or permission.startswith("organization-")


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for job in workflow_of(doc).jobs:
        for step in job.steps:
            u = step.uses
            if u is None or not u.is_(*TOKEN_ACTIONS):
                continue
            w = step.with_
            what = f"{job.label} {step.label}"
            skip = w.get("skip-token-revoke")
            if skip is True or (isinstance(skip, str) and skip.strip() not in ("", "false")):
                yield Violation(
                    (*step.path, "with", "skip-token-revoke"),
                    f"{what} keeps the app token valid after the job (`skip-token-revoke`): "
                    "anything that copied it can use it for up to an hour",
                )
            perms = [
                str(k).removeprefix("permission-") for k in w if str(k).startswith("permission-")
            ]
            if not perms:
                yield Violation(
                    (*step.path, "uses"),
                    f"{what} asks for no `permission-*`: the token gets every permission the "
                    "app has",
                    offset=0,
                )
            if (
                "owner" in w
                and "repositories" not in w
                and not all(_org_level(p) for p in perms or ["all"])
            ):
                yield Violation(
                    (*step.path, "with", "owner"),
                    f"{what} sets `owner:` without `repositories:`: the token reaches every "
                    f"repository of {w['owner']!r} the app is installed on",
                )


RULE = Rule(
    id="DS118",
    title="GitHub App tokens must be scoped to the permissions and repositories a job needs",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "actions/create-github-app-token mints an installation token. Without `permission-*` "
        "inputs it carries every permission the app was granted; with `owner:` and no "
        "`repositories:` it reaches every repository the app is installed on; with "
        "`skip-token-revoke` it stays valid after the job. A leaked or misused token then "
        "does far more than the job needed, across repositories the workflow never touches."
    ),
    fix="Name the permissions and repositories: `permission-contents: write`, "
    "`repositories: web`; leave token revocation on.",
    bad="""\
on: push
permissions: {}
jobs:
  bump:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          owner: acme
""",
    good="""\
on: push
permissions: {}
jobs:
  bump:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          owner: acme
          repositories: web
          permission-contents: write
""",
    not_reported=(
        "`owner:` without `repositories:` when every permission asked for is on the "
        "organisation itself (`permission-members`, `permission-organization-*`): no "
        "repository list narrows those. Other token-minting actions."
    ),
    references=("zizmor github-app",),
    check=check,
)
