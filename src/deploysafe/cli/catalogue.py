"""The rule catalogue: `rules` (the list), `explain` (one rule's page), `docs` (every page)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from deploysafe.cli.exits import Command, ExitCode
from deploysafe.cli.options import format_option
from deploysafe.errors import UsageError


@click.command("rules", cls=Command)
@format_option()
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
                "enabled_by_default": r.default_enabled,
            }
            for r in REGISTRY
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for r in REGISTRY:
        off = "" if r.default_enabled else "  (off by default)"
        click.echo(f"{r.id}  {r.severity.label:<8}  p{int(r.practice)}  {r.title}{off}")


@click.command(cls=Command)
@click.argument("rule_id")
def explain(rule_id: str) -> None:
    """Print a rule's page: what, why, how to fix, examples, references."""
    from deploysafe.formats.rule_pages import rule_page
    from deploysafe.rules import BY_ID

    rule = BY_ID.get(rule_id.upper())
    if rule is None:
        raise UsageError(f"unknown rule {rule_id!r}; `deploysafe rules` lists them")
    click.echo(rule_page(rule))


@click.command("docs", cls=Command)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("docs/rules"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Fail if the files on disk are not current.")
def docs_cmd(out: Path, check: bool) -> ExitCode:
    """Generate docs/rules/ from the rule metadata."""
    from deploysafe.formats.rule_pages import write_docs

    stale = write_docs(out, check=check)
    if check and stale:
        click.echo("out of date: " + ", ".join(stale) + " (run `deploysafe docs`)", err=True)
        return ExitCode.FINDINGS
    return ExitCode.CLEAN
