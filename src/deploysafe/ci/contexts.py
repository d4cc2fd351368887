"""Which GitHub Actions contexts an attacker controls: the one list, with its sources.

Sources (see docs/ci.md; facts as of the commits named):
- [SL] GitHub Security Lab, "Keeping your GitHub Actions and workflows secure Part 2:
  Untrusted input" (securitylab.github.com/research/github-actions-untrusted-input/) - the
  canonical list, reproduced in rhysd/actionlint `expr_insecure.go` (BuiltinUntrustedInputs).
- [AL] rhysd/actionlint@011a6d15 `expr_insecure.go`: adds discussion title and body.
- [SC] ossf/scorecard@40c1e359 `checks/raw/dangerous_workflow.go`: adds blocked_user,
  discussion, and whole-object `toJSON(github)` / `toJSON(github.event)`.
- [PO] boostsecurityio/poutine@c89412a8 `opa/rego/rules/injection.rego`: adds workflow_run
  head fields, `github.event.inputs.*`, `github.event.client_payload.*`.
- [ZZ] zizmorcore/zizmor@11bbf7e6 `crates/zizmor/data/context-capabilities.csv` (arbitrary
  capability) and `support/known-safe-contexts.txt` (fixed); unknown `github.*` contexts are
  treated as attacker-controllable there, and here too.

Where this list departs from [ZZ] (whose capabilities come from the webhook schemas, where
every string field is "arbitrary"), on facts about the values:
- [LG] a login (`*.login`, `github.actor`, `github.triggering_actor`) is alphanumerics and
  single hyphens (GitHub's username rules; apps add a literal `[bot]`): no shell
  metacharacters, so expanding one runs nothing.
- [RF] `github.ref`, `github.ref_name`, `github.base_ref`, `github.event.ref` and
  `github.event.base_ref` name a branch or tag of this repository (or, for pull_request,
  the fixed `refs/pull/N/merge`): only people who can push to it choose them, and they can
  edit the workflow anyway. A fork's branch name is `github.head_ref`, which stays untrusted.
  Ref names may still hold `$(...)`, `;` and backticks (git forbids only spaces, `~^:?*[`,
  backslashes and control characters), so expanding one into a script is reported at low
  severity (Trust.WRITER, DS115) where zizmor reports it high.

A context path is lower-case, "*" standing for any array index or property.
"""

from __future__ import annotations

import enum

from deploysafe.ci.expressions import ContextPath


class Trust(enum.Enum):
    UNTRUSTED = "untrusted"  # an outsider can put arbitrary text there
    SAFE = "safe"  # fixed by GitHub: ids, SHAs, numbers, booleans, the repository's own names
    WRITER = "writer"  # free text, chosen only by people who can push to the repository
    OTHER = "other"  # not a github.* context: env, inputs, matrix, steps, needs ... (taint)


# (pattern, sources). Patterns match a context or any field below it.
UNTRUSTED: tuple[tuple[str, str], ...] = (
    ("github.event.issue.title", "SL AL SC PO ZZ"),
    ("github.event.issue.body", "SL AL SC PO ZZ"),
    ("github.event.pull_request.title", "SL AL SC PO ZZ"),
    ("github.event.pull_request.body", "SL AL SC PO ZZ"),
    ("github.event.comment.body", "SL AL SC PO ZZ"),
    ("github.event.review.body", "SL AL SC PO ZZ"),
    ("github.event.review_comment.body", "SL AL SC PO"),
    ("github.event.pages.*.page_name", "SL AL SC PO ZZ"),
    ("github.event.commits.*.message", "SL AL SC ZZ"),
    ("github.event.head_commit.message", "SL AL SC PO ZZ"),
    ("github.event.head_commit.author.email", "SL AL SC PO ZZ"),
    ("github.event.head_commit.author.name", "SL AL SC PO ZZ"),
    ("github.event.commits.*.author.email", "SL AL SC PO ZZ"),
    ("github.event.commits.*.author.name", "SL AL SC PO ZZ"),
    ("github.event.pull_request.head.ref", "SL AL SC PO ZZ"),
    ("github.event.pull_request.head.label", "SL AL SC PO ZZ"),
    ("github.event.pull_request.head.repo.default_branch", "SL AL SC PO ZZ"),
    ("github.head_ref", "SL AL SC PO ZZ"),
    ("github.event.discussion.title", "AL SC ZZ"),
    ("github.event.discussion.body", "AL SC ZZ"),
    ("github.event.blocked_user.name", "SC"),
    ("github.event.blocked_user.email", "SC"),
    ("github.event.workflow_run.head_branch", "PO ZZ"),
    ("github.event.workflow_run.head_commit.message", "ZZ"),
    ("github.event.workflow_run.head_commit.author.name", "ZZ"),
    ("github.event.workflow_run.head_commit.author.email", "ZZ"),
    ("github.event.workflow_run.display_title", "ZZ"),
    ("github.event.workflow_run.head_repository.description", "PO ZZ"),
    ("github.event.workflow_run.head_repository.owner.email", "PO"),
    ("github.event.workflow_run.head_repository.full_name", "ZZ"),
    ("github.event.workflow_run.pull_requests.*.head.ref", "PO ZZ"),
    ("github.event.workflow_run.pull_requests.*.head.repo.name", "PO"),
    ("github.event.inputs", "PO ZZ"),
    ("github.event.client_payload", "PO ZZ"),
    ("github.event.release.name", "ZZ"),
    ("github.event.release.body", "ZZ"),
    ("github.event.release.tag_name", "ZZ"),
    ("github.event.pull_request.head.repo.full_name", "ZZ"),
    ("github.event.pull_request.head.repo.name", "ZZ"),
    ("github.event.pull_request.head.repo.description", "ZZ"),
    ("github.event.merge_group.head_ref", "ZZ"),
    ("github.event.merge_group.head_commit.message", "ZZ"),
    ("github.event.check_suite.head_branch", "ZZ"),
    ("github.event.check_run.check_suite.head_branch", "ZZ"),
    ("github.event.head_commit.committer.name", "ZZ"),
    ("github.event.head_commit.committer.email", "ZZ"),
    ("github.event.commits.*.committer.name", "ZZ"),
    ("github.event.commits.*.committer.email", "ZZ"),
    ("github.event.forkee.full_name", "ZZ"),
)

# Free-text fields anywhere in an event payload: what users type (titles, bodies,
# messages) and what they name (branches). Catches payloads the list does not spell out.
FREE_TEXT_FIELDS = frozenset(
    {
        "title",
        "body",
        "message",
        "head_ref",
        "head_branch",
        "display_title",
        "page_name",
        "description",
        "summary",
        "text",
        "path",
        "homepage",
    }
)
# Names and emails people choose for themselves (commit authors, users), wherever they are.
PERSON_FIELDS = frozenset({"name", "email", "username"})
PERSON_OBJECTS = frozenset({"author", "committer", "pusher", "user", "sender", "owner", "creator"})

# github.* contexts fixed by GitHub ([ZZ] known-safe-contexts.txt, plus the documented
# ids, flags and runner paths). Every other github.* context counts as untrusted.
SAFE_GITHUB: frozenset[str] = frozenset(
    {
        "github.action_path",
        "github.action_repository",
        "github.action",
        "github.actor",  # [LG]
        "github.actor_id",
        "github.api_url",
        "github.env",
        "github.event_name",
        "github.event_path",
        "github.graphql_url",
        "github.job",
        "github.output",
        "github.path",
        "github.ref_protected",
        "github.ref_type",
        "github.repository",
        "github.repository_id",
        "github.repository_owner",
        "github.repository_owner_id",
        "github.repositoryurl",
        "github.retention_days",
        "github.run_attempt",
        "github.run_id",
        "github.run_number",
        "github.secret_source",
        "github.server_url",
        "github.sha",
        "github.state",
        "github.step_summary",
        "github.token",
        "github.triggering_actor",
        "github.workflow_sha",
        "github.workspace",
        # event fields that are SHAs, numbers or flags
        "github.event.after",
        "github.event.before",
        "github.event.merge_group.base_sha",
        "github.event.merge_group.head_sha",
        "github.event.pull_request.base.sha",
        "github.event.pull_request.head.sha",
        "github.event.pull_request.merge_commit_sha",
        "github.event.workflow_run.head_sha",
    }
)

# Ref names of this repository [RF].
WRITER_CHOSEN: frozenset[str] = frozenset(
    {
        "github.ref",
        "github.ref_name",
        "github.base_ref",
        "github.event.ref",
        "github.event.base_ref",
    }
)

# Event fields that are ids, numbers, SHAs, booleans or timestamps by name.
_SAFE_LEAVES = frozenset(
    {
        "id",
        "node_id",
        "number",
        "sha",
        "before",
        "after",
        "fork",
        "draft",
        "merged",
        "private",
        "locked",
        "site_admin",
        "deleted",
        "forced",
        "created",
        "size",
        "additions",
        "deletions",
        "changed_files",
        "commits",
        "comments",
        "run_number",
        "run_attempt",
        "created_at",
        "updated_at",
        "closed_at",
        "merged_at",
        "pushed_at",
        "state",
        "conclusion",
        "status",
        "action",
        "author_association",
    }
)

_PATTERNS: tuple[ContextPath, ...] = tuple(tuple(p.split(".")) for p, _ in UNTRUSTED)


def _match(context: ContextPath, pattern: ContextPath) -> bool:
    """`context` is the pattern, a field below it, or an object holding it (toJSON)."""
    for a, b in zip(context, pattern, strict=False):
        if a != b and a != "*" and b != "*":
            return False
    return True


def trust(context: ContextPath, whole: bool = False) -> Trust:
    """How far an attacker controls a context's value.

    `whole`: the object is serialised as a whole (`toJSON(github.event)`), so any untrusted
    field below it counts.
    """
    if not context or context[0] != "github":
        return Trust.OTHER
    dotted = ".".join(context)
    if dotted in SAFE_GITHUB:
        return Trust.SAFE
    if dotted in WRITER_CHOSEN:
        return Trust.WRITER
    for pattern in _PATTERNS:
        if len(context) >= len(pattern) and _match(context, pattern):
            return Trust.UNTRUSTED
        if whole and len(context) < len(pattern) and _match(context, pattern):
            return Trust.UNTRUSTED
    if len(context) >= 2 and context[1] == "event":
        if whole:
            return Trust.UNTRUSTED  # a whole payload (or part) always holds some free text
        leaf = context[-1]
        if leaf in FREE_TEXT_FIELDS:
            return Trust.UNTRUSTED
        if leaf in PERSON_FIELDS and len(context) >= 2 and context[-2] in PERSON_OBJECTS:
            return Trust.UNTRUSTED
        if leaf in _SAFE_LEAVES or leaf.endswith(("_id", "_sha", "_at", "_count")):
            return Trust.SAFE
        return Trust.SAFE  # URLs, logins, enum values: not free text
    if len(context) == 1:
        return Trust.UNTRUSTED if whole else Trust.SAFE
    return Trust.UNTRUSTED  # an unknown github.* context


# Action inputs that are evaluated as code (action name -> inputs). Sources: GitHub CodeQL
# `actions` query pack models, as zizmor@11bbf7e6 `crates/zizmor/data/codeql-injection-sinks.json`
# reproduces them [CQ]; and the reference notes (docs/ci.md) for the last four [REF].
CODE_SINKS: dict[str, tuple[str, ...]] = {
    "actions/github-script": ("script",),  # CQ
    "8398a7/action-slack": ("custom_payload",),  # CQ
    "appleboy/ssh-action": ("script",),  # CQ
    "azure/cli": ("inlinescript",),  # CQ
    "azure/powershell": ("inlinescript",),  # CQ
    "devorbitus/yq-action-output": ("cmd",),  # CQ
    "gautamkrishnar/blog-post-workflow": ("item_exec",),  # CQ
    "imjohnbo/issue-bot": (
        "body",
        "linked-comments-previous-issue-text",
        "linked-comments-new-issue-text",
    ),  # CQ
    "lucasbento/auto-close-issues": ("issue-close-message",),  # CQ
    "mikefarah/yq": ("cmd",),  # CQ
    "roots/issue-closer-action": ("issue-close-message", "pr-close-message"),  # CQ
    "sergeysova/jq-action": ("cmd",),  # CQ
    "skitionek/notify-microsoft-teams": ("overwrite",),  # CQ
    "tibdex/backport": ("body_template", "head_template", "labels_template", "title_template"),
    "amadevus/pwsh-script": ("script",),  # REF
    "jannekem/run-python-script-action": ("script",),  # REF
    "cardinalby/js-eval-action": ("expression",),  # REF
    "addnab/docker-run-action": ("run",),  # REF
}
