"""GitOps commands: `deploy`, `history`, `diff`, `rollback`, `promote` and `platform`.
A thin layer over deploysafe.gitops: its errors (a refusal, an unreadable environment
repository, a wrong policy) reach deploysafe.cli.exits as they are raised."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from deploysafe.cli.common import load_config, say
from deploysafe.cli.exits import Command, ExitCode
from deploysafe.cli.options import config_option, format_option, source_option
from deploysafe.errors import UsageError
from deploysafe.host.urls import public_url

_config_option = config_option("in the source folder or the nearest above it in the repository")
_tofu_option = click.option(
    "--trust-on-first-use",
    "tofu",
    is_flag=True,
    help="With no policy file on the CD host and no anchors recorded by an earlier release, "
    "verify against the checkout's own source policy (and record it for later releases).",
)


def _progress(fmt: str) -> Callable[[str], None]:
    err = fmt == "json"  # stdout carries the JSON document

    def progress(line: str) -> None:
        say(line, err=err)

    return progress


def _release_arg(environment: str, value: str | None) -> None:
    from deploysafe.gitops.record import parse_release_ref

    if value is not None:
        try:
            parse_release_ref(environment, value)
        except ValueError as exc:
            raise UsageError(str(exc)) from None


def _report(outcome: Any, fmt: str) -> ExitCode:
    from deploysafe.gitops.manifests import render_changes

    if fmt == "json":
        click.echo(json.dumps(outcome.to_json(), indent=2, ensure_ascii=False))
    else:
        if outcome.status == "planned" or outcome.status == "released":
            lines = render_changes(outcome.changes, full=outcome.status == "planned")
            if outcome.status == "planned" or lines:
                say(f"changes against the environment ({_counts(outcome.changes)}):")
                for line in lines or ["  (none: the environment already runs this set)"]:
                    say(f"  {line}")
        for note in outcome.notes:
            say(f"note: {note}")
        say(_verdict(outcome))
    return ExitCode.CLEAN if outcome.ok else ExitCode.FINDINGS


def _counts(changes: Any) -> str:
    n = {a: sum(1 for c in changes if c.action == a) for a in ("changed", "added", "removed")}
    return f"{n['changed']} changed, {n['added']} added, {n['removed']} removed"


def _verdict(outcome: Any) -> str:
    if outcome.status == "released":
        rec = outcome.record
        target = rec["target"]
        source = str((rec.get("source") or {}).get("commit") or "")[:12]
        return (
            f"released {rec['release']} to {target['repo']} {target['branch']}:"
            f"{target['path']} (commit {str(outcome.commit)[:12]}, source {source})"
        )
    if outcome.status == "planned":
        return (
            f"plan for {outcome.environment}: every stage passed; {_counts(outcome.changes)}; "
            "nothing was written"
        )
    return f"refused: {outcome.reason}; nothing was committed or pushed"


@click.command(cls=Command)
@click.argument("environment")
@click.option("--plan", is_flag=True, help="Run the stages and show the diff; write nothing.")
@source_option()
@_config_option
@_tofu_option
@format_option()
def deploy(
    environment: str, plan: bool, source: Path, config_path: Path | None, tofu: bool, fmt: str
) -> ExitCode:
    """Release the checkout to ENVIRONMENT: verify, render, scan, tenant check, tests,
    then one commit to the environment repository (signed when configured) and a push."""
    from deploysafe.gitops.pipeline import deploy as run_deploy

    cfg = load_config(config_path, source)
    outcome = run_deploy(
        cfg, environment, source, plan=plan, progress=_progress(fmt), trust_on_first_use=tofu
    )
    return _report(outcome, fmt)


@click.command(cls=Command)
@click.argument("from_env", metavar="FROM")
@click.argument("to_env", metavar="TO")
@click.option("--plan", is_flag=True, help="Run the stages and show the diff; write nothing.")
@source_option()
@_config_option
@_tofu_option
@format_option()
def promote(
    from_env: str,
    to_env: str,
    plan: bool,
    source: Path,
    config_path: Path | None,
    tofu: bool,
    fmt: str,
) -> ExitCode:
    """Release to TO exactly the rendered set FROM runs, after TO's own gate (trigger check
    on the checkout at FROM's commit, scan, tenant check and tests)."""
    from deploysafe.gitops.pipeline import promote as run_promote

    cfg = load_config(config_path, source)
    outcome = run_promote(
        cfg, from_env, to_env, source, plan=plan, progress=_progress(fmt), trust_on_first_use=tofu
    )
    return _report(outcome, fmt)


@click.command(cls=Command)
@click.argument("environment")
@click.option("--to", "to", metavar="RELEASE", help="Release to restore (N or ENV-N).")
@click.option("--reason", default="", help="Why: kept with the release marked bad.")
@click.option("--plan", is_flag=True, help="Show what would be restored; write nothing.")
@source_option()
@_config_option
@format_option()
def rollback(
    environment: str,
    to: str | None,
    reason: str,
    plan: bool,
    source: Path,
    config_path: Path | None,
    fmt: str,
) -> ExitCode:
    """Restore an earlier release's manifests (the previous good one by default) in a new
    release that points back to it; the release rolled back from is marked bad."""
    from deploysafe.gitops.pipeline import rollback as run_rollback

    _release_arg(environment, to)
    cfg = load_config(config_path, source)
    outcome = run_rollback(
        cfg, environment, source, to=to, reason=reason, plan=plan, progress=_progress(fmt)
    )
    return _report(outcome, fmt)


@click.command(cls=Command)
@click.argument("environment")
@source_option()
@_config_option
@format_option()
def history(environment: str, source: Path, config_path: Path | None, fmt: str) -> None:
    """ENVIRONMENT's releases, newest first, from its environment repository."""
    import datetime as dt

    from deploysafe.gitops.pipeline import history as read_history
    from deploysafe.secrets.redact import redacted

    cfg = load_config(config_path, source)
    env, entries, bad = read_history(cfg, environment)
    rows: list[dict[str, Any]] = []
    numbers = {e.commit.sha: e.record.number for e in entries if e.record is not None}
    for e in entries:
        when = dt.datetime.fromtimestamp(e.commit.time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if e.record is None:
            rows.append(
                {
                    "release": None,
                    "env_commit": e.commit.sha,
                    "time": when,
                    "signed": e.commit.signed,
                    "note": f"changed {env.target.path} outside deploysafe: "
                    + redacted(e.commit.subject),
                }
            )
            continue
        rec = e.record
        rows.append(
            {
                "release": rec.release,
                "action": rec.action,
                "time": rec.time,
                "actor": rec.data.get("actor"),
                "source_commit": rec.source_commit,
                "manifests_from": rec.manifests_from,
                "digest": rec.digest,
                "env_commit": e.commit.sha,
                "signed": e.commit.signed,
                "bad": _redacted(bad.get(rec.release)),
                "marked_bad": {k: redacted(v) for k, v in rec.marks_bad.items()},
            }
        )
    # A record whose number is not above the one before it was rewritten by hand.
    older: int | None = None
    for r in reversed(rows):
        if r["release"] is None:
            continue
        number = numbers[r["env_commit"]]
        r["renumbered"] = older is not None and number <= older
        older = number if older is None else max(older, number)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    n = sum(1 for r in rows if r["release"])
    say(
        f"{environment}: {n} release(s) in {public_url(env.target.repo)} "
        f"{env.target.branch}:{env.target.path}"
    )
    for r in rows:
        if r["release"] is None:
            say(f"  {r['env_commit'][:12]}  {r['time']}  {r['note']}")
            continue
        what = r["action"]
        if r["manifests_from"] != r["release"]:
            what += f" to {r['manifests_from']}"
        commit = str(r["source_commit"] or "")[:12] or "-"
        line = (
            f"  {r['release']:<10} {r['time']}  {what:<20} source {commit}  "
            f"by {r['actor']}  {'signed' if r['signed'] else 'unsigned'}  "
            f"env {r['env_commit'][:12]}"
        )
        if r["bad"] is not None:
            line += f"  BAD: {r['bad'] or 'rolled back'}"
        if r["renumbered"]:
            line += "  RENUMBERED: not above the release before it (rewritten outside deploysafe)"
        say(line)


def _redacted(text: str | None) -> str | None:
    """Free text a person wrote (a rollback's reason), as safe to print as a finding."""
    from deploysafe.secrets.redact import redacted

    return None if text is None else redacted(text)


@click.command("diff", cls=Command)
@click.argument("environment")
@click.argument("release", required=False)
@source_option()
@_config_option
@format_option()
def diff_cmd(
    environment: str, release: str | None, source: Path, config_path: Path | None, fmt: str
) -> None:
    """What a release of ENVIRONMENT (the newest by default) changed, resource by resource;
    Secret values are masked."""
    from deploysafe.gitops.manifests import render_changes
    from deploysafe.gitops.pipeline import release_changes

    _release_arg(environment, release)
    cfg = load_config(config_path, source)
    rec, changes = release_changes(cfg, environment, release)
    if fmt == "json":
        doc = {
            "release": rec.release,
            "action": rec.action,
            "changes": [c.to_json() for c in changes],
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    source_commit = (rec.source_commit or "")[:12] or "-"
    say(f"{rec.release} ({rec.action}, source {source_commit}): {_counts(changes)}")
    for line in render_changes(changes):
        say(f"  {line}")


@click.command(cls=Command)
@click.option(
    "--engine",
    type=click.Choice(["argocd", "flux"]),
    default="argocd",
    show_default=True,
    help="The GitOps engine that applies the environment repositories.",
)
@click.option(
    "--env", "envs", multiple=True, metavar="ENV", help="Only this environment (repeatable)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one folder per environment here [default: print to stdout].",
)
@click.option("--argocd-namespace", default="argocd", show_default=True)
@click.option(
    "--cluster", default="https://kubernetes.default.svc", show_default=True, help="Argo CD server."
)
@source_option()
@_config_option
def platform(
    engine: str,
    envs: tuple[str, ...],
    out: Path | None,
    argocd_namespace: str,
    cluster: str,
    source: Path,
    config_path: Path | None,
) -> ExitCode:
    """Generate the cluster side for each environment's tenant: Namespaces with Pod Security
    labels, default-deny NetworkPolicies with DNS egress, ResourceQuota and LimitRange, and an
    Argo CD AppProject + Application or (--engine flux) a GitRepository + Kustomization."""
    from deploysafe.gitops.environments import load_environment, load_environments
    from deploysafe.gitops.platform import PlatformOptions, generate

    cfg = load_config(config_path, source)
    if envs:
        chosen = [load_environment(cfg, name) for name in envs]
    else:
        chosen = list(load_environments(cfg).values())
    if not chosen:
        raise UsageError("deploysafe.yaml configures no environments")
    files, notes = generate(cfg, chosen, PlatformOptions(engine, argocd_namespace, cluster))
    if out is None:
        click.echo("---\n".join(f.text() for f in files), nl=False)
    else:
        for f in files:
            path = out / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f.text(), encoding="utf-8")
            say(f"wrote {path}", err=True)
    for note in notes:
        say(f"note: {note}", err=True)
    return ExitCode.CLEAN
