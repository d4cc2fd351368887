"""Checkout credentials persisted in a workspace that is uploaded as an artifact."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.ci.github import Step, checkout_major, upload_reaches, workflow_of
from deploysafe.ci.yamlci import CiDocument
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for job in workflow_of(doc).jobs:
        for i, step in enumerate(job.steps):
            if not step.is_checkout:
                continue
            if not isinstance(step.data.get("with", {}), dict):
                continue  # `with:` computed by an expression: cannot tell
            persist = step.with_.get("persist-credentials", True)
            if persist in (False, "false"):
                continue
            if isinstance(persist, str) and "${{" in persist:
                continue
            major = checkout_major(doc, step)
            if major is not None and major >= 6:
                continue  # v6 keeps credentials under $RUNNER_TEMP, out of the workspace
            where = step.with_.get("path")
            target = f"{str(where).strip('/')}/.git/config" if where else ".git/config"
            upload = next(
                (
                    s
                    for s in job.steps[i + 1 :]
                    if s.uploads_artifact and upload_reaches(doc, s, target)
                ),
                None,
            )
            if upload is None:
                continue
            yield Violation(
                step.path,
                f"{job.label} {step.label} leaves the token in {target} and "
                f"{upload.label} uploads an artifact that can include it",
            )


# git commands that reach the remote, and actions that push with the checkout's credentials:
# after `persist-credentials: false` they need credentials of their own.
_remote_git = on_first_use(
    r"\bgit\s+(?:-[Cc]\s+\S+\s+)*(push|fetch|pull|ls-remote|submodule|clone|remote\s+update)\b"
)


_PUSHING_ACTIONS = (
    "stefanzweifel/git-auto-commit-action",
    "ad-m/github-push-action",
    "endbug/add-and-commit",
    "peter-evans/create-pull-request",
    "github-actions-x/commit",
)


def _remote_use(later: tuple[Step, ...]) -> str | None:
    """What a later step of the job does with the checkout's credentials, if anything."""
    for step in later:
        m = _remote_git().search(step.run or "")
        if m is not None:
            return f"{step.label} runs `git {m.group(1)}`"
        u = step.uses
        if u is not None and u.startswith(_PUSHING_ACTIONS):
            return f"{step.label} uses {u.owner}/{u.repo}"
    return None


def fix(doc: Document, path: KeyPath) -> Fix | None:
    if not isinstance(doc, CiDocument):
        return None
    for job in workflow_of(doc).jobs:
        for i, step in enumerate(job.steps):
            if step.path != path:
                continue
            what = "set persist-credentials: false on the checkout"
            edit = Edit(EditOp.SET, (*path, "with", "persist-credentials"), False)
            used = _remote_use(job.steps[i + 1 :])
            if used is None:
                return Fix((edit,), True, what)
            return Fix((edit,), False, f"{what}; {used}, which then needs its own credentials")
    return None


RULE = Rule(
    id="DS111",
    title="Checkout must not persist credentials in a workspace that is uploaded",
    practice=Practice.TRIGGERS,
    severity=Severity.HIGH,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "actions/checkout (before v6) writes the job's token into `.git/config` unless "
        "`persist-credentials: false`. An artifact that includes the checkout's `.git` folder "
        "(the workspace uploaded with its hidden files: upload-artifact before v4.4, or "
        "`include-hidden-files: true`) then carries the token, and anyone who can download "
        "the artifact (for public repositories: anyone) can use it while the run lasts "
        '("ArtiPACKED", Unit 42, 2024).'
    ),
    fix="Set `persist-credentials: false` on the checkout step (or upload only the build "
    "output folder).",
    bad="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: ., include-hidden-files: true}
""",
    good="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: ., include-hidden-files: true}
""",
    not_reported=(
        "A checkout that keeps its credentials where no upload can reach them: uploads of "
        "named files or folders that are not the checkout or above it (`dist/`, "
        "`coverage.xml`, `**/*.xml`, `${{ runner.temp }}/out`), actions/upload-pages-artifact "
        "(it archives without `.git`), and actions/upload-artifact v4.4 or later (the moving "
        "`v4` tag included), which leaves hidden files such as `.git` out unless "
        "`include-hidden-files: true`. Paths computed by expressions count as reaching it. "
        "Checkouts without an upload are zizmor's artipacked finding, not this one: the "
        "credential must leave the runner to be stolen."
    ),
    references=("zizmor artipacked", "Unit 42: ArtiPACKED (2024)"),
    check=check,
    autofix=AutoFix(
        fix,
        safe=True,
        summary="Sets `persist-credentials: false` in the checkout's `with:` (added to it, "
        "or made). Safe unless a later step of the job runs git against the remote "
        "(`git push`, `fetch`, `pull`, `submodule`, ...) or uses an action that pushes "
        "(git-auto-commit, create-pull-request, ...): those then need a token of their own, "
        "so the fix is unsafe there.",
        after="""\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: false
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: ., include-hidden-files: true}
""",
    ),
)
