"""`deploysafe deploy`, `promote` and `rollback`: stages, then one atomic release commit.

Nothing is written until every stage has passed; then the release folder and its record go
into one commit on the environment repository's branch, pushed as a fast-forward. If another
release landed meanwhile, the push is refused; the release is re-applied on the new head
when that cannot undo newer code (the other release's source commit is an ancestor of
ours), and stops with a clear message otherwise. Nothing is ever force-pushed.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from typing import Any

from deploysafe.config import Config, for_environment
from deploysafe.config.environments import Environment
from deploysafe.errors import Cancelled, GateRefused, InputError
from deploysafe.frozen import record
from deploysafe.gitops import manifests
from deploysafe.gitops.anchors import Anchors, TrustError, choose, on_host
from deploysafe.gitops.environments import load_environment
from deploysafe.gitops.envrepo import CommitInfo, EnvRepo, EnvRepoError
from deploysafe.gitops.record import (
    Record,
    RecordError,
    dumps,
    now,
    parse,
    parse_release_ref,
    record_path,
    release_id,
)
from deploysafe.gitops.stages import (
    LoadStage,
    Progress,
    RenderStage,
    Run,
    RunTestsStage,
    ScanStage,
    Stage,
    StageResult,
    TenantStage,
)
from deploysafe.gitops.verify import VerifyResult, verify
from deploysafe.gitops.verifystage import VerifyStage
from deploysafe.host.ci import runner
from deploysafe.host.git import Git
from deploysafe.host.urls import public_url

MAX_ATTEMPTS = 5


class GitOpsError(InputError):
    """The environment repository cannot be read, or is not what deploysafe wrote."""


class Refused(GateRefused):
    """The request cannot be done as asked: no such release, one marked bad, nothing to do."""


@record(frozen=False)
class Outcome:
    environment: str
    status: str  # released, planned, refused
    results: list[StageResult] = field(default_factory=list)
    reason: str = ""
    failed: str | None = None  # the stage that stopped it
    record: dict[str, Any] | None = None
    commit: str | None = None  # the release commit in the environment repository
    changes: list[manifests.Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("released", "planned")

    def to_json(self) -> dict[str, Any]:
        if self.status == "released" and self.record is not None:
            # The record went into the commit; what happened after it is added here.
            pushed = next((r for r in self.results if r.name == "release"), None)
            return {
                **self.record,
                "env_commit": self.commit,
                "release_seconds": round(pushed.seconds, 3) if pushed else None,
            }
        return {
            "status": self.status,
            "environment": self.environment,
            "failed_stage": self.failed,
            "reason": self.reason,
            "stages": [r.to_json() for r in self.results],
            "details": {r.name: r.details for r in self.results if not r.ok},
            "changes": [c.to_json() for c in self.changes],
            "notes": self.notes,
        }


# ---------------------------------------------------------------- environment repository


@record(frozen=False)
class EnvState:
    repo: EnvRepo
    head: str | None
    record: Record | None
    files: dict[str, bytes]
    notes: list[str]
    broken: str | None = None  # why no release may be written on top of this head

    def writable(self) -> None:
        if self.broken is not None:
            raise GitOpsError(self.broken)


def _guard(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except (EnvRepoError, RecordError, manifests.ReleaseSetError) as exc:
        raise GitOpsError(str(exc)) from None


def read_record(repo: EnvRepo, commit: str, environment: str) -> Record | None:
    path = record_path(environment)
    raw = repo.read(commit, path)
    if raw is None:
        return None
    rec = parse(raw, environment, f"{repo.where}: {path} at commit {commit[:12]}")
    return Record(rec.data, commit)


def open_env(env: Environment, workdir: Path) -> EnvState:
    def go() -> EnvState:
        repo = EnvRepo(env.target, workdir)
        head = repo.open()
        record = read_record(repo, head, env.name) if head else None
        files = repo.files_at(head, env.target.path) if head else {}
        notes = []
        broken = _numbering(repo, head, record, env.name) if head and record else None
        if broken is not None:
            notes.append(broken)
        if record is not None and manifests.digest(files) != record.digest:
            notes.append(
                f"{env.target.path} at {head and head[:12]} differs from release "
                f"{record.release}'s record: it was changed outside deploysafe"
            )
        elif record is None and files:
            notes.append(f"{env.target.path} holds files no deploysafe release wrote")
        return EnvState(repo, head, record, files, notes, broken)

    state: EnvState = _guard(go)
    return state


def _numbering(repo: EnvRepo, head: str, record: Record, environment: str) -> str | None:
    """Every release numbers one above the record it replaces; a record rewritten by hand
    with a number at or below its predecessor's would make release ids repeat."""
    path = record_path(environment)
    shas = repo.git("log", "--first-parent", "-2", "--format=%H", head, "--", path).stdout.split()
    if len(shas) < 2:
        return None
    before = read_record(repo, shas[1].decode(), environment)
    if before is None or record.number > before.number:
        return None
    writer = shas[0].decode()[:12]
    return (
        f"{repo.where}: {path} at commit {writer} records release {record.release}, but the "
        f"record before it (commit {shas[1].decode()[:12]}) is already {before.release}: the "
        "record was rewritten outside deploysafe and release numbers would repeat. Revert "
        f"commit {writer} in the environment repository, then deploy again"
    )


@record
class Entry:
    """One line of history: a release, or a change to the folder made outside deploysafe."""

    commit: CommitInfo
    record: Record | None


def entries(state: EnvState, env: Environment) -> list[Entry]:
    """The environment's history, newest first."""

    def go() -> list[Entry]:
        repo = state.repo
        releases = {c.sha: c for c in repo.log(record_path(env.name))}
        changes = repo.log(env.target.path)
        order = {c.sha: c for c in changes} | releases
        # Newest first in the branch's first-parent order.
        shas = repo.git("log", "--first-parent", "--format=%H", state.head or "HEAD").stdout
        ranked = [s for s in shas.decode().split() if s in order]
        out = []
        for sha in ranked:
            rec = read_record(repo, sha, env.name) if sha in releases else None
            out.append(Entry(order[sha], rec))
        return out

    if state.head is None:
        return []
    found: list[Entry] = _guard(go)
    return found


def bad_releases(history: Sequence[Entry]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in reversed(history):
        if e.record is not None:
            out.update(e.record.marks_bad)
    return out


# ---------------------------------------------------------------- running stages


def stage_line(r: StageResult) -> str:
    status = "ok" if r.ok else "FAILED"
    return f"  {r.name:<7} {status:<6} {r.seconds:7.2f}s  {r.summary}"


def run_stages(stages: Sequence[Stage], run: Run, outcome: Outcome) -> bool:
    for stage in stages:
        result = stage.run(run)
        outcome.results.append(result)
        run.progress(stage_line(result))
        if not result.ok:
            for detail in result.details[:60]:
                for line in detail.splitlines():
                    run.progress(f"      {line}")
            outcome.status = "refused"
            outcome.failed = result.name
            outcome.reason = f"stage {result.name} failed: {result.summary}"
            return False
    return True


def _data(results: Sequence[StageResult]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in results:
        out.update(r.data)
    return out


def build_record(
    run: Run,
    results: Sequence[StageResult],
    *,
    action: str,
    number: int,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    env = run.env
    data = _data(results)
    ci = runner(os.environ)
    record: dict[str, Any] = {
        "schema": 1,
        "release": release_id(env.name, number),
        "number": number,
        "environment": env.name,
        "tenant": env.tenant.name,
        "action": action,
        "time": now(),
        "actor": ci.actor,
        "ci": {"system": ci.system, "run": ci.run},
        "source": run.source,
        "trust": run.trust,
        "rendered": {**run.rendered, "files": sorted(run.files)},
        "scan": data.get("scan"),
        "tenant_check": data.get("tenant_check"),
        "tests": data.get("tests", []),
        "stages": [r.to_json() for r in results],
        "target": {
            "repo": public_url(env.target.repo),
            "branch": env.target.branch,
            "path": env.target.path,
            "signed_with": env.sign.describe() if env.sign else None,
        },
    }
    record.update(extra or {})
    return record


def _message(record: Mapping[str, Any]) -> str:
    src = record.get("source") or {}
    commit = str(src.get("commit") or "")[:12] or "unknown"
    return (
        f"deploysafe: release {record['release']} ({record['action']}) of {commit}\n\n"
        f"Environment: {record['environment']}\n"
        f"Tenant: {record['tenant']}\n"
        f"Source: {public_url(str(src.get('repo') or 'unknown'))} {src.get('commit') or ''}\n"
        f"Digest: {record['rendered']['digest']}\n"
        f"Actor: {record['actor']}\n\n"
        f"Deploysafe-Release: {record['release']}\n"
        f"Deploysafe-Environment: {record['environment']}\n"
    )


# Decides whether a release may be re-applied on a head that moved: None = yes, else why not.
Compatible = Callable[[Record | None, Record | None], str | None]


def release(
    run: Run,
    state: EnvState,
    results: Sequence[StageResult],
    *,
    action: str,
    compatible: Compatible,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], str, list[str]]:
    """Commit and push; re-apply on a moved head when `compatible` allows."""
    repo, head, current = state.repo, state.head, state.record
    landed: list[str] = []
    for _ in range(MAX_ATTEMPTS):
        number = current.number + 1 if current else 1
        more = dict(extra or {})
        if landed:
            more["reapplied_after"] = list(landed)
        record = build_record(run, results, action=action, number=number, extra=more)
        commit = _guard(
            repo.commit,
            head,
            run.env.target.path,
            run.files,
            {record_path(run.env.name): dumps(record)},
            _message(record),
            run.env.sign,
            run.scratch,
        )
        if _guard(repo.push, commit, head):
            return record, commit, landed
        new_head = _guard(repo.fetch)
        if new_head is None:
            raise GitOpsError(f"{repo.where}: the branch was deleted while releasing")
        newer = _guard(read_record, repo, new_head, run.env.name)
        why = compatible(newer, current)
        if why is not None:
            raise RaceLost(why)
        if newer is not None and (current is None or newer.release != current.release):
            landed.append(newer.release)
            run.progress(
                f"  release: {newer.release} landed first (environment repository now at "
                f"{new_head[:12]}); re-applying on it"
            )
        else:
            run.progress(
                f"  release: the environment repository moved to {new_head[:12]} "
                "(another environment); re-applying on it"
            )
        head, current = new_head, newer
    raise RaceLost(
        f"the environment repository kept moving: {MAX_ATTEMPTS} attempts failed; "
        "nothing was pushed, run the deploy again"
    )


# Control flow, not a user error: caught in this module, which retries or refuses.
class RaceLost(Exception):
    """Another release landed first and re-applying would undo it."""


def forward_only(run: Run) -> Compatible:
    """A release may go on top of another only if that one's code is in ours."""

    def check(newer: Record | None, current: Record | None) -> str | None:
        if newer is None or (current is not None and newer.release == current.release):
            return None
        theirs, ours = newer.source_commit, run.source.get("commit")
        if theirs is None or ours is None:
            return (
                f"release {newer.release} landed while this deploy ran and its source commit "
                "is unknown; nothing was pushed: run the deploy again"
            )
        if theirs == ours:
            return None
        if Git(run.root).out("merge-base", "--is-ancestor", theirs, ours) is not None:
            return None
        return (
            f"release {newer.release} (source {theirs[:12]}) landed while this deploy ran, and "
            f"{theirs[:12]} is not an ancestor of this deploy's commit {str(ours)[:12]}: "
            "releasing on top would undo it. Nothing was pushed; deploy from a commit that "
            "contains it, or roll back explicitly"
        )

    return check


def unchanged_only(newer: Record | None, current: Record | None) -> str | None:
    if newer is None or (current is not None and newer.release == current.release):
        return None
    return (
        f"release {newer.release} landed while this rollback ran; nothing was pushed: "
        "run the rollback again to choose against the new history"
    )


# ---------------------------------------------------------------- front ends


@contextmanager
def cancellable(what: str) -> Iterator[None]:
    """SIGTERM and SIGHUP (a CI job cancelled, a terminal closed) raise Cancelled, so the
    test stage is stopped and the temp folder removed on the way out, as on any error."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Cancelled(
            f"{what} stopped by {signal.Signals(signum).name}; its test stage and temp folder "
            "were cleaned up. A release is pushed whole or not at all: `deploysafe history` "
            "shows whether it landed"
        )

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _new_run(cfg: Config, env: Environment, root: Path, scratch: Path, progress: Progress) -> Run:
    return Run(for_environment(cfg, env), env, root.resolve(), scratch, progress)


def _header(env: Environment, state: EnvState, progress: Progress, verb: str) -> None:
    current = state.record.release if state.record else "no release yet"
    at = state.head[:12] if state.head else "empty"
    progress(
        f"{verb} {env.name}: tenant {env.tenant.name}, namespace {env.namespace}, target "
        f"{public_url(env.target.repo)} {env.target.branch}:{env.target.path} ({at}, {current})"
    )
    for note in state.notes:
        progress(f"  note: {note}")


def _finish(
    outcome: Outcome,
    run: Run,
    state: EnvState,
    results: list[StageResult],
    *,
    plan: bool,
    action: str,
    compatible: Compatible,
    extra: Mapping[str, Any] | None = None,
) -> Outcome:
    old = _guard(lambda: manifests.objects_in(state.files))
    new = _guard(lambda: manifests.objects_in(run.files))
    outcome.changes = manifests.diff(old, new)
    if plan:
        outcome.status = "planned"
        return outcome
    start = time.monotonic()
    try:
        record, commit, landed = release(
            run, state, results, action=action, compatible=compatible, extra=extra
        )
    except RaceLost as exc:
        result = StageResult("release", False, time.monotonic() - start, str(exc))
        outcome.results.append(result)
        run.progress(stage_line(result))
        outcome.status, outcome.failed, outcome.reason = "refused", "release", str(exc)
        return outcome
    except GitOpsError as exc:  # the repository could not be written: say where, then fail
        failed = StageResult("release", False, time.monotonic() - start, "nothing was pushed")
        run.progress(stage_line(failed))
        raise GitOpsError(str(exc)) from None
    target = run.env.target
    signed = f", signed ({run.env.sign.describe()})" if run.env.sign else ""
    result = StageResult(
        "release",
        True,
        time.monotonic() - start,
        f"{record['release']} pushed to {target.branch}:{target.path} as {commit[:12]}{signed}",
    )
    outcome.results.append(result)
    run.progress(stage_line(result))
    outcome.status, outcome.record, outcome.commit = "released", record, commit
    if landed:
        outcome.notes.append("re-applied after " + ", ".join(landed))
    return outcome


def deploy(
    cfg: Config,
    name: str,
    root: Path,
    *,
    plan: bool = False,
    progress: Progress = print,
    trust_on_first_use: bool = False,
) -> Outcome:
    env = load_environment(cfg, name)
    with cancellable("deploy"), tempfile.TemporaryDirectory(prefix="deploysafe-deploy-") as tmp:
        scratch = Path(tmp)
        state = open_env(env, scratch / "env")
        state.writable()
        _header(env, state, progress, "plan" if plan else "deploy")
        outcome = Outcome(env.name, "refused", notes=list(state.notes))
        run = _new_run(cfg, env, root, scratch, progress)
        since = state.record.source_commit if state.record else None
        stages: list[Stage] = [
            VerifyStage(since=since, previous=state.record, trust_on_first_use=trust_on_first_use),
            RenderStage(),
            ScanStage(),
            TenantStage(),
            RunTestsStage(),
        ]
        if not run_stages(stages, run, outcome):
            return outcome
        return _finish(
            outcome,
            run,
            state,
            outcome.results,
            plan=plan,
            action="deploy",
            compatible=forward_only(run),
        )


def promote(
    cfg: Config,
    source: str,
    target: str,
    root: Path,
    *,
    plan: bool = False,
    progress: Progress = print,
    trust_on_first_use: bool = False,
) -> Outcome:
    """Release to `target` exactly the set `source` runs, after `target`'s own gate."""
    src_env = load_environment(cfg, source)
    env = load_environment(cfg, target)
    if src_env.name == env.name:
        raise Refused("promote needs two different environments")
    with cancellable("promote"), tempfile.TemporaryDirectory(prefix="deploysafe-promote-") as tmp:
        scratch = Path(tmp)
        src_state = open_env(src_env, scratch / "from")
        rec = src_state.record
        if rec is None or src_state.head is None:
            raise Refused(f"{source} has no release to promote")
        if src_state.notes:
            raise GitOpsError(
                f"{source}: {src_state.notes[0]}; only a set that passed can be promoted"
            )
        state = open_env(env, scratch / "to")
        state.writable()
        _header(env, state, progress, "plan promote to" if plan else "promote to")
        progress(f"  from {source} release {rec.release} ({rec.digest[:19]}…)")
        outcome = Outcome(env.name, "refused", notes=list(state.notes))
        run = _new_run(cfg, env, root, scratch, progress)
        label = f"release {rec.release} of {source}"
        stages: list[Stage] = [
            VerifyStage(
                expected_commit=rec.source_commit,
                previous=state.record,
                trust_on_first_use=trust_on_first_use,
            ),
            LoadStage(src_state.files, label),
            ScanStage(),
            TenantStage(),
            RunTestsStage(),
        ]
        if not run_stages(stages, run, outcome):
            return outcome
        extra = {
            "promoted_from": {
                "environment": source,
                "release": rec.release,
                "digest": rec.digest,
                "env_commit": src_state.head,
            }
        }
        return _finish(
            outcome,
            run,
            state,
            outcome.results,
            plan=plan,
            action="promote",
            compatible=forward_only(run),
            extra=extra,
        )


def rollback(
    cfg: Config,
    name: str,
    root: Path,
    *,
    to: str | None = None,
    reason: str = "",
    plan: bool = False,
    progress: Progress = print,
) -> Outcome:
    """A new release with the manifests of an earlier one (the previous good one by default)."""
    env = load_environment(cfg, name)
    with cancellable("rollback"), tempfile.TemporaryDirectory(prefix="deploysafe-rollback-") as tmp:
        scratch = Path(tmp)
        state = open_env(env, scratch / "env")
        state.writable()
        if state.record is None:
            raise Refused(f"{name} has no release to roll back")
        history = entries(state, env)
        releases = [e.record for e in history if e.record is not None]
        bad = bad_releases(history)
        current = state.record
        effective = current.manifests_from
        target = _rollback_target(env.name, releases, bad, current, to)
        files = _guard(lambda: state.repo.files_at(target.commit, env.target.path))
        if manifests.digest(files) != target.digest:
            raise GitOpsError(
                f"{public_url(env.target.repo)}: the files of release {target.release} (commit "
                f"{target.commit[:12]}) do not match its record's digest: the environment "
                "repository was changed outside deploysafe; refusing to restore them"
            )
        _header(env, state, progress, "plan rollback of" if plan else "rollback")
        by_id = {r.release: r for r in releases}
        older = _number(target.manifests_from) < _number(effective)
        progress(f"  to release {target.release} (manifests of {target.manifests_from})")
        outcome = Outcome(env.name, "refused", notes=list(state.notes))
        run = _new_run(cfg, env, root, scratch, progress)
        origin = by_id.get(target.manifests_from, target)
        run.source = dict(origin.data.get("source") or {})
        run.trust = current.data.get("trust")  # a rollback verifies nothing: anchors carry over
        stages: list[Stage] = [
            LoadStage(files, f"release {target.release}"),
            ScanStage(repo=False),
            TenantStage(),
        ]
        if not run_stages(stages, run, outcome):
            return outcome
        marked = [{"release": effective, "reason": reason or "rolled back"}] if older else []
        extra = {
            "manifests_from": target.manifests_from,
            "rollback": {"from": effective, "to": target.release},
            "marked_bad": marked,
        }
        return _finish(
            outcome,
            run,
            state,
            outcome.results,
            plan=plan,
            action="rollback",
            compatible=unchanged_only,
            extra=extra,
        )


def _number(release: str) -> int:
    tail = release.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _rollback_target(
    env: str, releases: Sequence[Record], bad: Mapping[str, str], current: Record, to: str | None
) -> Record:
    effective = current.manifests_from
    if to is not None:
        try:
            number = parse_release_ref(env, to)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        found = [r for r in releases if r.number == number]
        if not found:
            raise Refused(f"{env} has no release {release_id(env, number)}")
        target = found[0]
        for rid in (target.release, target.manifests_from):
            if rid in bad:
                raise Refused(
                    f"release {rid} was marked bad ({bad[rid]}); refusing to roll back to it"
                )
        if target.manifests_from == effective or target.digest == current.digest:
            raise Refused(f"{env} already runs the manifests of {effective}; nothing to roll back")
        return target
    start = next((i for i, r in enumerate(releases) if r.release == effective), len(releases) - 1)
    for r in releases[start + 1 :]:
        if r.action == "rollback" or r.release in bad or r.manifests_from in bad:
            continue
        if r.manifests_from == effective or r.digest == current.digest:
            continue
        return r
    raise Refused(f"{env} has no earlier good release to roll back to")


# ---------------------------------------------------------------- reading history


def verify_anchored(
    cfg: Config,
    name: str,
    checkout: Path,
    *,
    ref: str | None = None,
    signed_range: str | None = None,
    trust_on_first_use: bool = False,
) -> tuple[Anchors | None, str | None, VerifyResult | None]:
    """`deploysafe verify` against the environment's trust anchors (as a deploy chooses
    them): the anchors, or why there are none, and the result."""
    env = cfg.environments[name]
    policy = env.source
    if policy is None:
        raise Refused(f"environments.{name} has no `source:` to verify against")
    with tempfile.TemporaryDirectory(prefix="deploysafe-verify-") as tmp:
        scratch = Path(tmp)
        previous = None
        if env.deploy is not None and not on_host(cfg.path, policy, checkout):
            previous = open_env(env, scratch / "env").record
        try:
            anchors: Anchors = _guard(
                lambda: choose(
                    policy,
                    config_path=cfg.path,
                    checkout=checkout,
                    previous=previous,
                    scratch=scratch,
                    trust_on_first_use=trust_on_first_use,
                )
            )
        except TrustError as exc:
            return None, str(exc), None
        result = verify(
            checkout, anchors.policy, environment=name, ref=ref, signed_range=signed_range
        )
        return anchors, None, result


def history(cfg: Config, name: str) -> tuple[Environment, list[Entry], dict[str, str]]:
    env = load_environment(cfg, name)
    with tempfile.TemporaryDirectory(prefix="deploysafe-history-") as tmp:
        state = open_env(env, Path(tmp) / "env")
        found = entries(state, env)
    return env, found, bad_releases(found)


def release_changes(
    cfg: Config, name: str, release_ref: str | None
) -> tuple[Record, list[manifests.Change]]:
    """What a release (the newest by default) changed, resource by resource."""
    env = load_environment(cfg, name)
    with tempfile.TemporaryDirectory(prefix="deploysafe-diff-") as tmp:
        state = open_env(env, Path(tmp) / "env")
        found = entries(state, env)
        releases = [e.record for e in found if e.record is not None]
        if not releases:
            raise Refused(f"{name} has no release yet")
        if release_ref is None:
            rec = releases[0]
        else:
            try:
                number = parse_release_ref(env.name, release_ref)
            except ValueError as exc:
                raise Refused(str(exc)) from None
            match = [r for r in releases if r.number == number]
            if not match:
                raise Refused(f"{name} has no release {release_id(name, number)}")
            rec = match[0]
        repo = state.repo

        def go() -> list[manifests.Change]:
            parent = repo.git("rev-parse", "--verify", "--quiet", f"{rec.commit}^", check=False)
            before: dict[str, bytes] = {}
            if parent.returncode == 0:
                before = repo.files_at(parent.stdout.decode().strip(), env.target.path)
            after = repo.files_at(rec.commit, env.target.path)
            return manifests.diff(manifests.objects_in(before), manifests.objects_in(after))

        changes: list[manifests.Change] = _guard(go)
        return rec, changes
