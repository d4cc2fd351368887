"""`deploysafe init`: a starting policy file (and, on request, the CI wiring) written from
what the repository holds."""

from __future__ import annotations

from pathlib import Path

import click

from deploysafe.cli.exits import Command
from deploysafe.errors import UsageError


@click.command("init", cls=Command)
@click.argument(
    "folder",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=Path("."),
)
@click.option("--force", is_flag=True, help="Overwrite files init would write that exist.")
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab"]),
    help="Also write the CI wiring: a GitHub workflow using the deploysafe Action, or a"
    " GitLab pipeline including the deploysafe template.",
)
@click.option(
    "--action",
    "action",
    metavar="OWNER/deploysafe@SHA",
    help="The Action reference the GitHub workflow uses (default: a placeholder to pin).",
)
def init_cmd(folder: Path, force: bool, ci: str | None, action: str | None) -> None:
    """Write a starting deploysafe.yaml for the repository in FOLDER (default: here).

    \b
    It looks for Helm charts, kustomize roots, plain manifests and the CI system, and
    takes each chart's values files, namespace and release name from the repository's
    own `helm upgrade --install` / `kubectl apply -k` commands where it finds them.
    """
    from deploysafe import config as configmod
    from deploysafe.formats import starter
    from deploysafe.inputs.survey import survey
    from deploysafe.rules import BY_ID

    if action is not None and (action.count("@") != 1 or "/" not in action.partition("@")[0]):
        raise UsageError(f"--action {action!r}: give it as OWNER/REPOSITORY@COMMIT_SHA")
    existing = [folder / n for n in configmod.CONFIG_NAMES if (folder / n).exists()]
    # Under --force the policy file keeps its name: another name would lose to it.
    target = existing[0] if existing else folder / "deploysafe.yaml"
    if existing and not force:
        raise UsageError(
            f"{existing[0]} already exists: edit it, or run `deploysafe init --force` to"
            " replace it with a new starting policy"
        )
    writes: dict[Path, str] = {}
    found = survey(folder)
    writes[target] = starter.policy(found)
    include_hint = None
    if ci == "github":
        writes[folder / starter.GITHUB_WORKFLOW] = starter.github_workflow(
            action or starter.ACTION_PLACEHOLDER
        )
    elif ci == "gitlab":
        pipeline = folder / ".gitlab-ci.yml"
        if pipeline.exists():
            include_hint = starter.gitlab_include()  # its own file: never rewritten
        else:
            writes[pipeline] = starter.gitlab_pipeline()
    clash = [p for p in writes if p != target and p.exists()]
    if clash and not force:
        raise UsageError(f"{clash[0]} already exists: rerun with --force to replace it")
    for path, text in writes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    # Fail closed: a file this command wrote must load as a policy.
    configmod.load(target, rule_ids=frozenset(BY_ID))
    for path in writes:
        click.echo(f"wrote {path}")
    click.echo(
        f"found {len(found.charts)} Helm chart(s), {len(found.overlays)} kustomize root(s),"
        f" plain manifests in {len(found.manifest_folders)} folder(s)"
    )
    if include_hint is not None:
        click.echo(
            f"{folder / '.gitlab-ci.yml'} exists and was left as it is; add to it:\n"
            + include_hint.rstrip("\n")
        )
    if ci == "github" and action is None:
        click.echo(
            f"next: pin the Action in {starter.GITHUB_WORKFLOW} ({starter.ACTION_PLACEHOLDER})"
        )
    click.echo(f"next: deploysafe scan {folder}")
