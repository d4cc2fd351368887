"""GitHub Actions workflows and actions as the rules see them: triggers, jobs, steps, the
`needs:` graph, and what each step does (checkout, test, deploy, upload).

Built once per file by the loader (`sources.BUILDERS`); every rule reads the same model.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from pathlib import PurePosixPath
from typing import Any

from deploysafe.ci import commands, expressions
from deploysafe.ci.expressions import Context
from deploysafe.ci.yamlci import CiDocument
from deploysafe.frozen import record
from deploysafe.lazy import on_first_use
from deploysafe.model import KeyPath

# Events an outsider (no write access to the repository) can cause.
OUTSIDER_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_target",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "issues",
        "discussion",
        "discussion_comment",
        "workflow_run",
        "fork",
        "watch",
    }
)
# Events that run with the base repository's secrets and a write token while handling
# something an outsider made (zizmor dangerous-triggers; GitHub Security Lab "pwn request").
PRIVILEGED_EVENTS = frozenset({"pull_request_target", "workflow_run", "issue_comment"})

_SHA = re.compile(r"[0-9a-fA-F]{40}\Z")
# Owners whose actions GitHub itself publishes and whose tags GitHub moves (zizmor's
# unpinned-uses `ref-pin` owners before its default became a SHA for every action).
GITHUB_OWNERS = frozenset({"actions", "github", "dependabot"})
# Reusable workflows that must be called by a release tag, never a SHA: they verify the
# ref they were called at (slsa-github-generator: "referencing by SHA is not supported").
TAG_ONLY = ("slsa-framework/slsa-github-generator",)
_VERSION_COMMENT = re.compile(r"#\s*(?:tag=|version=)?v?(\d+(?:\.\d+)*)")
_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)")


@record
class Uses:
    """A `uses:` reference, parsed."""

    raw: str
    kind: str  # "local", "docker", "repository"
    owner: str = ""
    repo: str = ""
    subpath: str = ""
    ref: str | None = None

    @property
    def name(self) -> str:
        """owner/repo[/path], lower-case."""
        base = f"{self.owner}/{self.repo}".lower()
        return f"{base}/{self.subpath.lower()}" if self.subpath else base

    @property
    def pinned(self) -> bool:
        if self.kind == "local":
            return True
        if self.kind == "docker":
            return "@sha256:" in self.raw
        return self.ref is not None and bool(_SHA.match(self.ref))

    @property
    def first_party(self) -> bool:
        """Published by GitHub (`actions/*`, `github/*`, `dependabot/*`)."""
        return self.kind == "repository" and self.owner.lower() in GITHUB_OWNERS

    @property
    def pin(self) -> str | None:
        """What this reference lacks, by the one pinning policy for workflows and actions:
        "sha" (a third-party action by tag or branch: whoever controls it controls the
        run), "sha-advised" (GitHub's own action by tag), or None (pinned, local, or a
        documented tag-only workflow called by a tag)."""
        if self.kind != "repository" or self.pinned:
            return None
        if self.ref and self.startswith(TAG_ONLY) and re.match(r"v\d", self.ref):
            return None
        return "sha-advised" if self.first_party and self.ref else "sha"

    def is_(self, *names: str) -> bool:
        """This is one of the named actions (owner/repo[/path], case-insensitive)."""
        return self.kind == "repository" and self.name in names

    def startswith(self, prefixes: tuple[str, ...]) -> bool:
        if self.kind != "repository":
            return False
        name = self.name
        return any(name == p or name.startswith(p + "/") for p in prefixes)


# Asked of each step by most workflow rules, several times each: a reference is parsed once.
@functools.lru_cache(maxsize=1024)
def parse_uses(raw: str) -> Uses:
    text = raw.strip()
    if text.startswith(("./", "$/", ".\\")) or text in (".", "$"):
        return Uses(text, "local")
    if text.startswith("docker://"):
        return Uses(text, "docker")
    ref = None
    if "@" in text:
        text, ref = text.rsplit("@", 1)
    parts = text.split("/")
    owner = parts[0]
    repo = parts[1] if len(parts) > 1 else ""
    return Uses(raw.strip(), "repository", owner, repo, "/".join(parts[2:]), ref)


# Asked of the repository a workflow is in: whether the local action a step runs
# (`uses: ./dir`) makes a throwaway cluster, called with the step's inputs (`with:`).
LocalCluster = Callable[[str, Mapping[str, Any]], bool]


@record
class Step:
    """A step of a workflow job."""

    job: str
    index: int
    path: KeyPath
    data: Mapping[str, Any]
    # The step runs a local action that makes a throwaway cluster with its inputs.
    local_cluster: bool = False

    def get(self, key: str) -> Any:
        return self.data.get(key)

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.data.get("id") or self.uses_raw or "")

    @property
    def label(self) -> str:
        name = self.data.get("name") or self.data.get("id")
        return f"step {name!r}" if name else f"step {self.index + 1}"

    @property
    def uses_raw(self) -> str | None:
        u = self.data.get("uses")
        return u.strip() if isinstance(u, str) else None

    @property
    def uses(self) -> Uses | None:
        raw = self.uses_raw
        return parse_uses(raw) if raw else None

    @property
    def run(self) -> str | None:
        r = self.data.get("run")
        return r if isinstance(r, str) else None

    @property
    def with_(self) -> Mapping[str, Any]:
        w = self.data.get("with")
        return w if isinstance(w, dict) else {}

    @property
    def env(self) -> Mapping[str, Any]:
        e = self.data.get("env")
        return e if isinstance(e, dict) else {}

    @property
    def condition(self) -> str | None:
        c = self.data.get("if")
        return str(c) if c is not None and not isinstance(c, dict | list) else None

    # what the step does

    @property
    def is_checkout(self) -> bool:
        u = self.uses
        return u is not None and u.is_("actions/checkout")

    @property
    def runs_tests(self) -> bool:
        if self.run is not None:
            return commands.runs_tests(self.run)
        u = self.uses
        return u is not None and u.startswith(commands.TEST_ACTIONS)

    @property
    def deploys(self) -> bool:
        return self.deploys_in(own_cluster=False)

    def deploys_in(self, own_cluster: bool) -> bool:
        """The step deploys; `own_cluster`: its job made a throwaway cluster, so applying
        to a cluster is a test."""
        if self.run is not None:
            return commands.deploys(self.run, own_cluster)
        u = self.uses
        return u is not None and u.startswith(commands.DEPLOY_ACTIONS)

    @property
    def makes_cluster(self) -> bool:
        if self.local_cluster:
            return True
        if self.run is not None:
            return commands.makes_cluster(self.run)
        u = self.uses
        return u is not None and u.startswith(commands.CLUSTER_ACTIONS)

    @property
    def says_deploy(self) -> bool:
        """The step's name or script says it deploys something other than docs
        (`name: Deploy to production`, `./scripts/deploy.sh`)."""
        u = self.uses
        if u is not None and u.startswith(commands.PAGES_ACTIONS):
            return False
        name = f"{self.data.get('name') or ''} {u.name if u else ''}"
        return commands.says_deploy(name, self.run)

    @property
    def uploads_artifact(self) -> bool:
        u = self.uses
        return u is not None and u.is_("actions/upload-artifact", "actions/upload-pages-artifact")


@record
class Job:
    """A job of a workflow, with its steps."""

    id: str
    path: KeyPath
    data: Mapping[str, Any]
    steps: tuple[Step, ...]

    def get(self, key: str) -> Any:
        return self.data.get(key)

    @property
    def name(self) -> str:
        n = self.data.get("name")
        return str(n) if isinstance(n, str) else self.id

    @property
    def label(self) -> str:
        return f"job {self.id!r}"

    @property
    def needs(self) -> tuple[str, ...]:
        n = self.data.get("needs")
        if isinstance(n, str):
            return (n,)
        if isinstance(n, list):
            return tuple(str(x) for x in n if isinstance(x, str))
        return ()

    @property
    def uses(self) -> Uses | None:
        u = self.data.get("uses")
        return parse_uses(u) if isinstance(u, str) else None

    @property
    def condition(self) -> str | None:
        c = self.data.get("if")
        return str(c) if c is not None and not isinstance(c, dict | list) else None

    @property
    def env(self) -> Mapping[str, Any]:
        e = self.data.get("env")
        return e if isinstance(e, dict) else {}

    @property
    def environment(self) -> Any:
        return self.data.get("environment")

    @property
    def runs_tests(self) -> bool:
        if any(s.runs_tests for s in self.steps):
            return True
        u = self.uses
        if u is not None:
            return commands.is_test_name(PurePosixPath(u.raw.split("@")[0]).stem)
        return commands.is_test_name(self.id) or commands.is_test_name(self.name)

    @property
    def environment_name(self) -> str | None:
        env = self.environment
        if isinstance(env, dict):
            env = env.get("name")
        return str(env) if env not in (None, "") else None

    @property
    def deploy_steps(self) -> tuple[Step, ...]:
        own = any(s.makes_cluster for s in self.steps)
        return tuple(s for s in self.steps if s.deploys_in(own))

    @property
    def is_deploy(self) -> bool:
        """The job changes something that serves users and outlives the run: a deploy
        command or action (not against a cluster the job made), a reusable workflow named
        for deploying, or a GitHub environment (not Pages) with a step that says it
        deploys. Publishing docs, packages, charts, images or reports is not a deploy."""
        if self.deploy_steps:
            return True
        u = self.uses
        if u is not None:
            return commands.is_deploy_name(PurePosixPath(u.raw.split("@")[0]).stem)
        env = self.environment_name
        if env is None or env.lower() in commands.PAGES_ENVIRONMENTS:
            return False
        return any(s.says_deploy for s in self.steps)


@record
class Workflow:
    """A GitHub Actions workflow: its triggers and jobs."""

    triggers: Mapping[str, Any]  # event name -> its configuration (None when bare)
    jobs: tuple[Job, ...]
    data: Mapping[str, Any]
    by_id: Mapping[str, Job] = field(default_factory=dict)

    @property
    def has_permissions(self) -> bool:
        return "permissions" in self.data

    @property
    def env(self) -> Mapping[str, Any]:
        e = self.data.get("env")
        return e if isinstance(e, dict) else {}

    @property
    def events(self) -> frozenset[str]:
        return frozenset(self.triggers)

    @property
    def outsider_events(self) -> frozenset[str]:
        return self.events & OUTSIDER_EVENTS

    def ancestors(self, job: Job) -> list[Job]:
        """Every job `job` waits for, directly or through `needs:`."""
        out: list[Job] = []
        seen = {job.id}
        todo = list(job.needs)
        while todo:
            jid = todo.pop()
            if jid in seen:
                continue
            seen.add(jid)
            dep = self.by_id.get(jid)
            if dep is not None:
                out.append(dep)
                todo.extend(dep.needs)
        return out


@record
class Action:
    """A composite, Docker or JavaScript action (action.yml)."""

    using: str
    steps: tuple[Step, ...]
    data: Mapping[str, Any]

    @property
    def inputs(self) -> Mapping[str, Any]:
        i = self.data.get("inputs")
        return i if isinstance(i, dict) else {}


def _triggers(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return {str(e): None for e in raw if isinstance(e, str)}
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    return {}


def _steps(
    raw: Any, prefix: KeyPath, job: str, local: LocalCluster | None = None
) -> tuple[Step, ...]:
    """Steps in order; the steps of a `parallel:` group take its place."""
    if not isinstance(raw, list):
        return ()
    out: list[Step] = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            continue
        group = s.get("parallel")
        if isinstance(group, list) and "run" not in s and "uses" not in s:
            out.extend(
                Step(job, len(out) + k, (*prefix, i, "parallel", k), sub)
                for k, sub in enumerate(group)
                if isinstance(sub, dict)
            )
            continue
        step = Step(job, i, (*prefix, i), s)
        raw_uses = step.uses_raw
        if local is not None and raw_uses is not None and raw_uses.startswith("./"):
            step = Step(job, i, (*prefix, i), s, local_cluster=local(raw_uses, step.with_))
        out.append(step)
    return tuple(out)


def workflow(data: Mapping[str, Any], local: LocalCluster | None = None) -> Workflow:
    jobs_raw = data.get("jobs")
    jobs = []
    if isinstance(jobs_raw, dict):
        for jid, jdata in jobs_raw.items():
            if not isinstance(jdata, dict):
                continue
            path: KeyPath = ("jobs", str(jid))
            jobs.append(
                Job(
                    str(jid),
                    path,
                    jdata,
                    _steps(jdata.get("steps"), (*path, "steps"), str(jid), local),
                )
            )
    return Workflow(_triggers(data.get("on")), tuple(jobs), data, {j.id: j for j in jobs})


def action(data: Mapping[str, Any]) -> Action:
    runs = data.get("runs")
    runs = runs if isinstance(runs, dict) else {}
    using = str(runs.get("using", ""))
    return Action(using, _steps(runs.get("steps"), ("runs", "steps"), ""), data)


def makes_cluster_with(act: Action, given: Mapping[str, Any]) -> bool:
    """Whether a composite action makes a throwaway cluster when called with the inputs
    `given`: a step of it that makes one runs always, or on an input the call (or the
    input's default) sets to true. Any other condition counts as not running, so a deploy
    after it is still judged as one."""
    for step in act.steps:
        if not step.makes_cluster:
            continue
        cond = step.condition
        if cond is None:
            return True
        m = _input_is_true().match(cond)
        if m is None:
            continue
        declared = act.inputs.get(m.group(1))
        default = declared.get("default") if isinstance(declared, dict) else None
        value = given.get(m.group(1), default)
        if value is True or (isinstance(value, str) and value.strip().lower() == "true"):
            return True
    return False


# `inputs.NAME == 'true'` (in `${{ }}` or not): the one condition on an input read here.
_input_is_true = on_first_use(
    r"\s*(?:\$\{\{\s*)?inputs\.([A-Za-z_][\w-]*)\s*==\s*(?:'true'|\"true\"|true)\s*(?:\}\}\s*)?\Z"
)


def workflow_of(doc: CiDocument) -> Workflow:
    model = doc.model
    if isinstance(model, Workflow):
        return model
    return workflow(doc.data)


def action_of(doc: CiDocument) -> Action:
    model = doc.model
    if isinstance(model, Action):
        return model
    return action(doc.data)


def action_version(doc: CiDocument, step: Step) -> tuple[int, ...] | None:
    """The version of the action a step uses: from the tag (`v4` -> (4,)), or from a
    `# v4.2.2` comment after a SHA pin."""
    u = step.uses
    if u is None or u.ref is None:
        return None
    if not _SHA.match(u.ref):
        m = _VERSION.match(u.ref)
        return tuple(int(x) for x in m.group(1).split(".")) if m else None
    line = doc.locate((*step.path, "uses"))[0]
    if 0 < line <= len(doc.lines):
        c = _VERSION_COMMENT.search(doc.lines[line - 1])
        if c:
            return tuple(int(x) for x in c.group(1).split("."))
    return None


def checkout_major(doc: CiDocument, step: Step) -> int | None:
    version = action_version(doc, step)
    return version[0] if version else None


_workspace = on_first_use(
    r"^(?:\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\}?)(?:/|\Z)"
)


_outside = on_first_use(
    r"^(?:\$\{\{\s*runner\.(?:temp|tool_cache)\s*\}\}|\$\{?(?:RUNNER_TEMP|HOME)\}?)(?:/|\Z)"
)


def upload_reaches(doc: CiDocument, upload: Step, target: str) -> bool:
    """Whether an upload step can include the workspace file `target` (a `/` path
    relative to the workspace, such as `.git/config`).

    actions/upload-pages-artifact archives its folder without `.git`; upload-artifact
    leaves hidden files (and so `.git`) out from v4.4 on, unless `include-hidden-files`.
    A path reaches `target` when it is `target`, a folder above it, or a glob matching
    it; a path with another expression, `..` or an absolute path outside the workspace
    counts when it may (expressions) and not when it cannot (`/tmp/out`)."""
    u = upload.uses
    if u is None:
        return False
    hidden = any(part.startswith(".") for part in target.split("/"))
    if u.is_("actions/upload-pages-artifact"):
        return not target.startswith((".git/", ".github/")) and _reaches(
            str(upload.with_.get("path", "_site/")), target
        )
    include_hidden = upload.with_.get("include-hidden-files") in (True, "true")
    version = action_version(doc, upload)
    if hidden and not include_hidden and version is not None and version >= (4, 4):
        return False
    if hidden and not include_hidden and u.ref == "v4":
        return False  # the moving v4 tag is v4.4 or later
    paths = upload.with_.get("path")
    if not isinstance(paths, str):
        return True  # computed: cannot tell
    return any(_reaches(line, target) for line in paths.splitlines())


def _reaches(path: str, target: str) -> bool:
    p = path.strip().strip("'\"")
    if not p or p.startswith("!"):
        return False
    if _outside().match(p):
        return False
    p = _workspace().sub("", p)
    if "${{" in p or "$" in p or ".." in p.split("/"):
        return True
    if p.startswith(("/", "~")):
        return False  # outside the workspace (runner.temp, home)
    p = p.removeprefix("./").strip("/")
    if p in ("", "."):
        return True
    return _prefix_match([s for s in p.split("/") if s not in ("", ".")], target.split("/"))


def _prefix_match(pattern: list[str], path: list[str]) -> bool:
    """The glob segments name `path` or a folder above it (`**`: any number of folders)."""
    if not pattern:
        return True
    if pattern[0] == "**":
        return any(_prefix_match(pattern[1:], path[i:]) for i in range(len(path) + 1))
    return (
        bool(path)
        and fnmatch.fnmatchcase(path[0], pattern[0])
        and _prefix_match(pattern[1:], path[1:])
    )


# ---------------------------------------------------------------- conditions

# Contexts that name the ref a run is for.
_REF_CONTEXTS = frozenset(
    {
        ("github", "ref"),
        ("github", "ref_name"),
        ("github", "ref_type"),
        ("github", "event", "ref"),
        ("github", "ref_protected"),
        ("github", "event", "release", "tag_name"),
    }
)


def guards_ref(cond: str | None) -> bool:
    """The condition limits the run to a branch or tag: `github.ref == 'refs/heads/main'`,
    `startsWith(github.ref, 'refs/tags/')`, `github.ref_type == 'tag'` ..."""
    if not cond:
        return False
    tree = expressions.condition(cond)
    if tree is None:
        return False
    return _guards(tree)


def _guards(node: expressions.Node) -> bool:
    if isinstance(node, expressions.Binary):
        if node.op == "&&":
            return _guards(node.left) or _guards(node.right)
        if node.op == "||":
            return _guards(node.left) and _guards(node.right)
        if node.op == "==":
            sides = (node.left, node.right)
            return any(isinstance(s, Context) and s.path in _REF_CONTEXTS for s in sides) and any(
                isinstance(s, expressions.Literal) for s in sides
            )
        return False
    if isinstance(node, expressions.Call) and node.name in ("startswith", "contains"):
        return (
            bool(node.args)
            and any(isinstance(a, Context) and a.path in _REF_CONTEXTS for a in node.args[:1])
            and node.name == "startswith"
        )
    if isinstance(node, Context):
        return node.path == ("github", "ref_protected")
    return False


def status_functions(cond: str | None) -> set[str]:
    """Status functions a condition calls (always, failure, cancelled, success), with
    `!cancelled()` reported as "!cancelled"."""
    if not cond:
        return set()
    tree = expressions.condition(cond)
    if tree is None:
        return set()
    out: set[str] = set()
    _status(tree, out, negated=False)
    return out


def _status(node: expressions.Node, out: set[str], negated: bool) -> None:
    if isinstance(node, expressions.Call):
        if node.name in ("always", "failure", "cancelled", "success"):
            out.add(("!" if negated else "") + node.name)
        for a in node.args:
            _status(a, out, negated)
    elif isinstance(node, expressions.Unary):
        _status(node.operand, out, not negated)
    elif isinstance(node, expressions.Binary):
        _status(node.left, out, negated)
        _status(node.right, out, negated)


def requires_success(cond: str | None, job_ids: set[str]) -> bool:
    """The condition checks `needs.<job>.result == 'success'` for one of `job_ids`
    (or `!contains(needs.*.result, 'failure')`)."""
    if not cond:
        return False
    tree = expressions.condition(cond)
    if tree is None:
        return False
    for node in _walk(tree):
        if isinstance(node, expressions.Binary) and node.op == "==":
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if (
                    isinstance(a, Context)
                    and len(a.path) == 3
                    and a.path[0] == "needs"
                    and a.path[2] == "result"
                    and (a.path[1] in {j.lower() for j in job_ids} or a.path[1] == "*")
                    and isinstance(b, expressions.Literal)
                    and b.value == "success"
                ):
                    return True
        if isinstance(node, expressions.Unary) and isinstance(node.operand, expressions.Call):
            call = node.operand
            if call.name == "contains" and len(call.args) == 2:
                ctx, lit = call.args
                if (
                    isinstance(ctx, Context)
                    and ctx.path[:1] == ("needs",)
                    and isinstance(lit, expressions.Literal)
                    and lit.value == "failure"
                ):
                    return True
    return False


def _walk(node: expressions.Node) -> Iterator[expressions.Node]:
    yield node
    if isinstance(node, expressions.Call):
        for a in node.args:
            yield from _walk(a)
    elif isinstance(node, expressions.Access):
        yield from _walk(node.base)
    elif isinstance(node, expressions.Unary):
        yield from _walk(node.operand)
    elif isinstance(node, expressions.Binary):
        yield from _walk(node.left)
        yield from _walk(node.right)


def only_on(cond: str | None, event: str) -> bool:
    """The condition requires `github.event_name == '<event>'`."""
    if not cond:
        return False
    tree = expressions.condition(cond)
    if tree is None:
        return False
    return _requires_event(tree, event)


def _requires_event(node: expressions.Node, event: str) -> bool:
    if isinstance(node, expressions.Binary):
        if node.op == "&&":
            return _requires_event(node.left, event) or _requires_event(node.right, event)
        if node.op == "||":
            return _requires_event(node.left, event) and _requires_event(node.right, event)
        if node.op == "==":
            sides = (node.left, node.right)
            return any(
                isinstance(s, Context) and s.path == ("github", "event_name") for s in sides
            ) and any(isinstance(s, expressions.Literal) and s.value == event for s in sides)
    return False


# ---------------------------------------------------------------- untrusted checkouts

# Contexts (prefixes) that name the pull request's own code in a privileged workflow.
_PR_HEAD = (
    ("github", "event", "pull_request", "head"),
    ("github", "event", "pull_request", "merge_commit_sha"),
    ("github", "head_ref"),
    ("github", "event", "workflow_run", "head_sha"),
    ("github", "event", "workflow_run", "head_branch"),
    ("github", "event", "workflow_run", "head_repository"),
    ("github", "event", "workflow_run", "head_commit"),
    ("github", "event", "workflow_run", "pull_requests"),
    ("github", "event", "number"),
    ("github", "event", "issue", "number"),
)


_step_output_head = on_first_use(r"head|pr|pull|sha|ref|branch", re.IGNORECASE)


_RUN_CHECKOUT = re.compile(
    r"\bgh\s+pr\s+checkout\b|\bhub\s+pr\s+checkout\b|\bgit\s+fetch\b[^\n]*\bpull/|"
    r"\bgit\s+(?:checkout|switch|merge|pull)\b[^\n]*(?:FETCH_HEAD|github\.head_ref|pull_request\.head)"
)


def untrusted_checkout(step: Step) -> str | None:
    """How a step checks out the pull request's code, or None."""
    if step.is_checkout:
        w = step.with_
        if w.get("allow-unsafe-pr-checkout") in (True, "true"):
            return "`allow-unsafe-pr-checkout: true`"
        for key in ("ref", "repository"):
            value = w.get(key)
            if not isinstance(value, str):
                continue
            if "refs/pull/" in value:
                return f"`{key}: {value.strip()}`"
            for expr in expressions.find(value):
                try:
                    tree = expressions.parse(expr.body)
                except expressions.ExpressionError:
                    continue
                for ctx in expressions.contexts(tree):
                    if any(ctx.path[: len(p)] == p for p in _PR_HEAD) or (
                        ctx.path[:1] == ("steps",)
                        and len(ctx.path) >= 4
                        and _step_output_head().search(ctx.path[-1])
                    ):
                        return f"`{key}: {value.strip()}`"
        return None
    if step.run is not None:
        m = _RUN_CHECKOUT.search(step.run)
        if m:
            return f"`{m.group().strip()}`"
    return None


# Commands that build, install or run what is in the working tree (after poutine's
# "living off the pipeline" list), plus test and deploy commands.
_EXECUTES = re.compile(
    r"(?:^|[;&|(`]|\$\()\s*(?:sudo\s+)?(?:"
    r"(?:npm|pnpm|yarn|bun)\s+(?:install|ci|i|run|test|build|exec|x)?\b|npx\b|node\s+\S|"
    r"make\b|cmake\b|mvn\b|\./mvnw\b|gradle\b|\./gradlew\b|"
    r"pip3?\s+install\b|python[0-9.]*\s+\S|pytest\b|tox\b|nox\b|poetry\s+(?:install|run)\b|"
    r"uv\s+(?:sync|run|pip)\b|go\s+(?:build|test|run|generate|install)\b|cargo\s+\w+|"
    r"bundle\s+(?:install|exec)\b|rake\b|composer\s+install\b|dotnet\s+\w+|"
    r"docker\s+(?:build|compose|buildx)\b|docker-compose\b|terraform\s+\w+|pre-commit\b|"
    r"(?:ba|z)?sh\s+\S+|source\s+\S+|\.\s+\S+|\./\S+|chmod\s+\+x|perl\s+\S|ruby\s+\S|php\s+\S"
    r")",
    re.MULTILINE,
)
_BUILD_ACTIONS = (
    "docker/build-push-action",
    "github/codeql-action/autobuild",
    "gradle/gradle-build-action",
    "gradle/actions",
    "pre-commit/action",
    "goreleaser/goreleaser-action",
    "ruby/setup-ruby",
    "actions/setup-node",
)


def executes_checkout(step: Step) -> bool:
    """The step runs code from the checked-out tree."""
    if step.run is not None:
        return bool(_EXECUTES.search(step.run)) or commands.runs_tests(step.run)
    u = step.uses
    if u is None:
        return False
    if u.kind == "local":
        return True
    return u.startswith(_BUILD_ACTIONS)


# ---------------------------------------------------------------- deploy restrictions

_WIDE = frozenset({"*", "**", "*/**", "**/*"})


def unrestricted_events(wf: Workflow) -> list[str]:
    """Triggers that can start the workflow on any branch (or from outside)."""
    out = []
    for event, conf in wf.triggers.items():
        if event in ("release", "schedule", "workflow_call", "repository_dispatch"):
            continue  # a release tag, the default branch, or the caller's decision
        if event in ("deployment", "deployment_status"):
            continue
        if event == "push":
            if isinstance(conf, dict) and not conf.get("branches-ignore"):
                refs = [*(conf.get("branches") or []), *(conf.get("tags") or [])]
                if refs and not any(str(r) in _WIDE for r in refs):
                    continue
            out.append("push (any branch)")
            continue
        if event == "workflow_run":
            if isinstance(conf, dict) and conf.get("branches"):
                continue
            out.append("workflow_run (any branch)")
            continue
        out.append(event)
    return out
