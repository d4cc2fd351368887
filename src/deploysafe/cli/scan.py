"""`deploysafe scan`: files and folders, or (`--git-history`) every commit, against the rules."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from deploysafe import config as configmod
from deploysafe.cli.common import batch_gc, emit, load_config, scan_root, with_flags, write_out
from deploysafe.cli.exits import Command, ExitCode, for_report, soft_fail_notes
from deploysafe.cli.options import (
    NEVER,
    REPORT_FORMATS,
    all_findings_option,
    changed_since_option,
    config_option,
    fail_on_option,
    format_option,
    ignore_input_errors_option,
    output_option,
    pss_options,
    show_suppressed_option,
)
from deploysafe.errors import UsageError

if TYPE_CHECKING:
    from deploysafe.engine import Changes, RenderOptions


@click.command(cls=Command)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, exists=True))
@format_option(REPORT_FORMATS)
@output_option()
@fail_on_option()
@ignore_input_errors_option()
@pss_options
@config_option("nearest the scan root, up to the repository's top level")
@click.option("--no-render", is_flag=True, help="Scan every file as it is: no Helm, no kustomize.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Render every chart and kustomization anew, and keep nothing [default: reuse"
    " renders whose inputs are unchanged, kept in $DEPLOYSAFE_CACHE_DIR, else"
    " $XDG_CACHE_HOME/deploysafe/renders; DEPLOYSAFE_CACHE_DIR= turns it off].",
)
@click.option(
    "--values",
    "-f",
    "values",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Helm values file (repeatable).",
)
@click.option("--set", "set_values", multiple=True, help="Helm --set value (repeatable).")
@click.option(
    "--namespace",
    "-n",
    help="The namespace the scanned objects are installed in: Helm's .Release.Namespace, and "
    "where objects that name none land (plain manifests, charts, kustomizations). Without it "
    "their namespace is decided at install time and not judged (DS511).",
)
@click.option(
    "--release-name",
    help="Helm release name [default: the policy file's `render.charts`, else release].",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Only findings not in this baseline fail.",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Record current findings as the baseline.",
)
@click.option(
    "--no-inline-suppressions",
    is_flag=True,
    help="Ignore inline comments and annotations that suppress findings (operators).",
)
@show_suppressed_option()
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Worker processes [default: CPU count]."
)
@click.option(
    "--git-history",
    is_flag=True,
    help="Scan every commit reachable from HEAD for secrets (first commit that added each).",
)
@click.option(
    "--secrets-rules",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Extra secret rules in gitleaks' TOML format.",
)
@click.option(
    "--list-files",
    is_flag=True,
    help="Print what the scan would do with each file (scan, render, skip and why); scan nothing.",
)
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Exit 0 when the paths hold nothing to check (for hooks that pass changed files).",
)
@changed_since_option()
@all_findings_option()
@click.option("--tenant", help="Report objects that leave this tenant (DS401-DS403).")
@click.option(
    "--fix",
    "apply_fixes",
    is_flag=True,
    help="First apply the safe fixes of the findings at or above --fail-on "
    "(`deploysafe fix`), then report what remains.",
)
@click.option(
    "--unsafe-fixes", is_flag=True, help="With --fix: the fixes that need a human look too."
)
@click.option(
    "--edit-base",
    is_flag=True,
    help="With --fix: fix an object a kustomization builds in the file that writes it, "
    "not with a patch in the kustomization.",
)
@click.option(
    "--env",
    "environment",
    metavar="ENV",
    help="Scan as ENV releases: its tenant's rules, namespace, Helm values and policy.",
)
def scan(
    paths: tuple[Path, ...],
    fmt: str,
    output: Path | None,
    fail_on: str | None,
    ignore_input_errors: bool,
    policy: str | None,
    pss_version: str | None,
    config_path: Path | None,
    no_render: bool,
    no_cache: bool,
    values: tuple[Path, ...],
    set_values: tuple[str, ...],
    namespace: str | None,
    release_name: str | None,
    baseline: Path | None,
    write_baseline: Path | None,
    no_inline_suppressions: bool,
    show_suppressed: bool,
    jobs: int | None,
    git_history: bool,
    secrets_rules: Path | None,
    list_files: bool,
    allow_empty: bool,
    changed_since: str | None,
    all_findings: bool,
    tenant: str | None,
    apply_fixes: bool,
    unsafe_fixes: bool,
    edit_base: bool,
    environment: str | None,
) -> ExitCode:
    """Scan files and folders (default: the current folder)."""
    from deploysafe.inputs.discover import list_ahead, stop_listings

    if changed_since is None and not git_history:
        list_ahead(paths or [Path(".")])  # git lists the tree while the engine is imported
        click.get_current_context().call_on_close(stop_listings)
    from deploysafe.host.memory import lasting

    with lasting():
        from deploysafe.engine import RenderOptions
        from deploysafe.engine import baseline as baselinemod
        from deploysafe.engine import scan as run_scan
        from deploysafe.inputs.rendercache import default_folder

    batch_gc()

    targets = list(paths) or [Path(".")]
    root = scan_root(targets)
    cfg = load_config(config_path, root, scan=True)
    if tenant is not None or environment is not None:
        cfg, namespace, values = scoped(cfg, tenant, environment, namespace, values)
    cfg = with_flags(cfg, fail_on, policy, pss_version)
    if no_inline_suppressions:
        cfg = replace(cfg, inline_suppressions=False, annotation_suppressions=False)
    if secrets_rules is not None:
        cfg = with_secrets_rules(cfg, secrets_rules)
    known = None
    if baseline is not None:
        try:
            known = baselinemod.load(baseline)
        except ValueError as exc:
            raise UsageError(f"{baseline}: {exc}") from None
    render = RenderOptions(
        enabled=not no_render,
        values=values,
        set_values=set_values,
        namespace=namespace,
        release_name=release_name,
        cache=None if no_cache else default_folder(),
    )
    changes = None
    if changed_since is not None:
        targets, changes, why = changed_targets(
            targets, root, cfg, changed_since, git_history, write_baseline
        )
        if why:
            click.echo(f"note: {why}", err=True)
        allow_empty = True  # a change that touches no file deploysafe reads is clean
        if all_findings:
            changes = None
    elif all_findings:
        raise UsageError("--all-findings goes with --changed-since REF")
    if list_files:
        return print_plan(targets, cfg, root, render, fmt, output, git_history)
    if unsafe_fixes and not apply_fixes:
        raise UsageError("--unsafe-fixes goes with --fix")
    if edit_base and not apply_fixes:
        raise UsageError("--edit-base goes with --fix")
    if apply_fixes:
        if git_history:
            raise UsageError("--fix fixes files as they are, not --git-history")
        from deploysafe.cli.fix import run as run_fix
        from deploysafe.fix import Selection

        selection = Selection(threshold=cfg.fail_on, unsafe=unsafe_fixes, edit_base=edit_base)
        run_fix(targets, cfg, root, render, selection, summary_to=sys.stderr)
    report: Any
    if git_history:
        from deploysafe.engine import scan_history

        report = scan_history(root, cfg, baseline=known)
    else:
        from deploysafe.cli import terminal

        line = terminal.progress_line(sys.stderr)
        try:
            report = run_scan(
                targets,
                cfg,
                root=root,
                render=render,
                baseline=known,
                jobs=jobs,
                changes=changes,
                progress=line,
            )
        finally:
            if line is not None:
                line.close()
    if write_baseline is not None:
        write_out(write_baseline, [baselinemod.dump(report.findings)])
    empty = not git_history and report.files == 0
    if empty:
        why = nothing_to_check(targets, allow_empty)
        if changed_since is not None:
            why = f"no file deploysafe reads changed since {changed_since}"
        report = replace(report, notes=(*report.notes, why))
    soft = {"findings_fail": fail_on != NEVER, "input_errors_fail": not ignore_input_errors}
    report = replace(report, notes=(*report.notes, *soft_fail_notes(report, **soft)))
    emit(report, fmt, output, show_suppressed)
    code = for_report(
        report, baseline_written=write_baseline is not None, empty_fails=not allow_empty, **soft
    )
    if code is ExitCode.EMPTY:
        click.echo(f"error: {nothing_to_check(targets, allow_empty)}", err=True)
    return code


def changed_targets(
    targets: list[Path],
    root: Path,
    cfg: configmod.Config,
    ref: str,
    git_history: bool,
    write_baseline: Path | None,
) -> tuple[list[Path], Changes | None, str]:
    """`scan --changed-since REF`: the changed files under `targets`, the changes that
    decide which findings are reported, and a note for the user. A change to the policy
    file in use can change any finding: the paths are then scanned whole."""
    from deploysafe.engine import changed_since

    if git_history:
        raise UsageError("--changed-since scans a work tree's changes, not --git-history")
    if write_baseline is not None:
        raise UsageError("--write-baseline records every finding: run it without --changed-since")
    changes = changed_since(root, ref)
    policy = Path(cfg.path).resolve() if cfg.path else None
    if policy is not None and policy in changes.files:
        top = changes.top.resolve()
        shown = policy.relative_to(top).as_posix() if policy.is_relative_to(top) else str(policy)
        why = f"{shown} changed since {ref}: every finding under the paths is reported"
        return targets, None, why
    return changes.paths(targets, cfg.render.charts), changes, ""


def nothing_to_check(targets: list[Path], allowed: bool) -> str:
    where = ", ".join(t.as_posix() for t in targets)
    return (
        f"nothing to check in {where}: no file deploysafe reads is there (or every one is "
        "excluded or skipped)"
        + ("" if allowed else "; check the path, or pass --allow-empty if that is expected")
    )


def print_plan(
    targets: list[Path],
    cfg: configmod.Config,
    root: Path,
    render: RenderOptions,
    fmt: str,
    output: Path | None,
    git_history: bool,
) -> ExitCode:
    """`scan --list-files`: the plan, in text or JSON; nothing is rendered or checked."""
    from deploysafe.engine import plan
    from deploysafe.formats import jsonfmt, text

    if git_history:
        raise UsageError("--list-files lists the files of a tree, not of --git-history")
    if fmt not in ("text", "json"):
        raise UsageError(f"--list-files prints text or json, not {fmt}")
    records = plan(targets, cfg, root=root, render=render)
    out = jsonfmt.render_plan(records) if fmt == "json" else text.render_plan(records)
    if output is None:
        click.echo(out, nl=False)
    else:
        write_out(output, [out])
    return ExitCode.CLEAN


def scoped(
    cfg: configmod.Config,
    tenant: str | None,
    environment: str | None,
    namespace: str | None,
    values: tuple[Path, ...],
) -> tuple[configmod.Config, str | None, tuple[Path, ...]]:
    """`scan --tenant NAME` / `--env ENV`: the tenant rules on, and for an environment its
    policy, namespace and Helm values (options given on the command line win)."""
    from deploysafe.gitops.environments import load_environment
    from deploysafe.k8s.tenancy import get_tenant, select

    if environment is None:
        assert tenant is not None
        return select(cfg, get_tenant(cfg, tenant)), namespace, values
    env = load_environment(cfg, environment)
    if tenant is not None and tenant != env.tenant.name:
        raise UsageError(
            f"--tenant {tenant}: environment {environment} is tenant {env.tenant.name}'s"
        )
    if not values and env.render.kind == "helm":
        values = env.render.values
    return (
        select(configmod.for_environment(cfg, env), env.tenant),
        namespace or env.namespace,
        values,
    )


def with_secrets_rules(cfg: configmod.Config, rules: Path) -> configmod.Config:
    """The config with `--secrets-rules FILE` in place of its secrets.rules (read now: a bad
    file raises ConfigError)."""
    from deploysafe.config.secrets import with_rules_file

    return replace(cfg, secrets=with_rules_file(cfg.secrets, rules.resolve()))
