"""The command line: a thin layer over the library. Exit codes are decided here, once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from deploysafe import __version__
from deploysafe.cli.cluster import audit, serve, webhook
from deploysafe.cli.common import (
    EXIT_FINDINGS,
    FORMATS,
    UsageError,
    emit,
    exit_code,
    load_config,
    write_out,
)
from deploysafe.cli.gitops import deploy, diff_cmd, history, platform, promote, rollback
from deploysafe.cli.verify import verify_cmd
from deploysafe.model import Level, Severity


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="deploysafe")
def main() -> None:
    """deploysafe: secure Kubernetes deployments, six practices, one policy file.

    \b
    Exit codes:
      0  clean: no finding at or above --fail-on, every input read
      1  findings at or above --fail-on
      2  usage or configuration error
      3  some inputs could not be read or parsed (the rest was scanned)
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path, dir_okay=False), help="Write the report here."
)
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in Severity]),
    help="Lowest severity that fails [default: high].",
)
@click.option(
    "--policy",
    type=click.Choice([lv.value for lv in Level]),
    help="Pod Security level [default: restricted].",
)
@click.option(
    "--pss-version", help="Pod Security policy version, v1.N or latest [default: latest]."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Policy file [default: deploysafe.yaml at the scan root].",
)
@click.option("--no-render", is_flag=True, help="Scan every file as it is: no Helm, no kustomize.")
@click.option(
    "--values",
    "-f",
    "values",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Helm values file (repeatable).",
)
@click.option("--set", "set_values", multiple=True, help="Helm --set value (repeatable).")
@click.option("--namespace", "-n", help="Namespace for Helm releases (and objects without one).")
@click.option("--release-name", default="release", show_default=True, help="Helm release name.")
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
@click.option("--show-suppressed", is_flag=True, help="Show suppressed findings in text output.")
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
@click.option("--tenant", help="Report objects that leave this tenant (DS401-DS403).")
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
    policy: str | None,
    pss_version: str | None,
    config_path: Path | None,
    no_render: bool,
    values: tuple[Path, ...],
    set_values: tuple[str, ...],
    namespace: str | None,
    release_name: str,
    baseline: Path | None,
    write_baseline: Path | None,
    no_inline_suppressions: bool,
    show_suppressed: bool,
    jobs: int | None,
    git_history: bool,
    secrets_rules: Path | None,
    tenant: str | None,
    environment: str | None,
) -> None:
    """Scan files and folders (default: the current folder)."""
    from dataclasses import replace

    from deploysafe.engine import RenderOptions
    from deploysafe.engine import baseline as baselinemod
    from deploysafe.engine import scan as run_scan
    from deploysafe.model import parse_version

    targets = list(paths) or [Path(".")]
    root = targets[0] if targets[0].is_dir() else targets[0].parent
    cfg = load_config(config_path, root)
    if tenant is not None or environment is not None:
        from deploysafe.cli.gitops import scoped

        cfg, namespace, values = scoped(cfg, tenant, environment, namespace, values)
    try:
        if fail_on:
            cfg = replace(cfg, fail_on=Severity.parse(fail_on))
        if policy:
            cfg = replace(cfg, policy=Level(policy))
        if pss_version:
            cfg = replace(cfg, pss_version=parse_version(pss_version))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if no_inline_suppressions:
        cfg = replace(cfg, inline_suppressions=False, annotation_suppressions=False)
    if secrets_rules is not None:
        from deploysafe.cli.secrets import with_rules

        cfg = with_rules(cfg, secrets_rules)
    known = None
    if baseline is not None:
        try:
            known = baselinemod.load(baseline)
        except ValueError as exc:
            raise UsageError(f"{baseline}: {exc}") from None
    if git_history:
        from deploysafe.cli.secrets import history_report

        report = history_report(root, cfg, known)
    else:
        report = run_scan(
            targets,
            cfg,
            root=root,
            render=RenderOptions(
                enabled=not no_render,
                values=values,
                set_values=set_values,
                namespace=namespace,
                release_name=release_name,
            ),
            baseline=known,
            jobs=jobs,
        )
    if write_baseline is not None:
        write_out(write_baseline, [baselinemod.dump(report.findings)])
    emit(report, fmt, output, show_suppressed)
    sys.exit(exit_code(report, baseline_written=write_baseline is not None))


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rules_cmd(fmt: str) -> None:
    """List every rule."""
    from deploysafe.rules import REGISTRY

    if fmt == "json":
        rows = [
            {
                "id": r.id,
                "title": r.title,
                "practice": int(r.practice),
                "severity": r.severity.label,
                "pss": {"level": r.pss.level.value, "check": r.pss.check} if r.pss else None,
                "references": list(r.references),
            }
            for r in REGISTRY
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for r in REGISTRY:
        click.echo(f"{r.id}  {r.severity.label:<8}  p{int(r.practice)}  {r.title}")


@main.command()
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's page: what, why, how to fix, examples, references."""
    from deploysafe.formats.rule_pages import rule_page
    from deploysafe.rules import BY_ID

    rule = BY_ID.get(rule_id.upper())
    if rule is None:
        raise UsageError(f"unknown rule {rule_id!r}; `deploysafe rules` lists them")
    click.echo(rule_page(rule))


@main.command("docs")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs/rules"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Fail if the files on disk are not current.")
def docs_cmd(out: Path, check: bool) -> None:
    """Generate docs/rules/ from the rule metadata."""
    from deploysafe.formats.rule_pages import write_docs

    stale = write_docs(out, check=check)
    if check and stale:
        click.echo("out of date: " + ", ".join(stale) + " (run `deploysafe docs`)", err=True)
        sys.exit(EXIT_FINDINGS)


main.add_command(verify_cmd)
main.add_command(deploy)
main.add_command(history)
main.add_command(diff_cmd)
main.add_command(rollback)
main.add_command(promote)
main.add_command(platform)
main.add_command(serve)
main.add_command(webhook)
main.add_command(audit)
