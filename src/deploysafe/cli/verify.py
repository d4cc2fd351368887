"""`deploysafe verify`: may this checkout be deployed to ENV? (a thin layer over
deploysafe.gitops.verify)"""

from __future__ import annotations

import json
from pathlib import Path

import click

from deploysafe import config as configmod
from deploysafe.cli.common import load_config, say
from deploysafe.cli.exits import Command, ExitCode
from deploysafe.cli.options import config_option, format_option
from deploysafe.errors import UsageError


@click.command("verify", cls=Command)
@click.argument(
    "checkout", required=False, type=click.Path(path_type=Path, file_okay=False), default=Path(".")
)
@click.option("--env", "env_name", required=True, help="Environment in deploysafe.yaml.")
@config_option("in the checkout", note="Keep it on the CD host for the strongest setup.")
@click.option("--ref", help="The ref being deployed [default: from CI variables or git].")
@click.option(
    "--require-signed-range",
    "since",
    metavar="BASE",
    help="Also require every commit in BASE..HEAD to be signed by a listed key.",
)
@click.option(
    "--trust-on-first-use",
    "tofu",
    is_flag=True,
    help="With no policy file on the CD host and no anchors recorded by a release, verify "
    "against the checkout's own source policy.",
)
@format_option()
def verify_cmd(
    checkout: Path,
    env_name: str,
    config_path: Path | None,
    ref: str | None,
    since: str | None,
    tofu: bool,
    fmt: str,
) -> ExitCode:
    """Check the deploy source: origin, ref, signatures, CI context.

    \b
    Exit codes:
      0  every check passed (or is not configured)
      1  a check failed; each failure has a one-line reason
      2  usage or configuration error
    """
    from deploysafe.gitops.pipeline import verify_anchored

    path = config_path or configmod.find(checkout)
    if path is None:
        raise UsageError(f"no deploysafe.yaml in {checkout}; pass --config")
    cfg = load_config(path, checkout)
    env = cfg.environments.get(env_name)
    if env is None:
        known = ", ".join(sorted(cfg.environments)) or "none"
        raise UsageError(f"{path}: no environment {env_name!r} (known: {known})")
    if env.source is None:
        raise UsageError(f"{path}: environments.{env_name} has no `source:` to verify against")
    anchors, problem, result = verify_anchored(
        cfg, env_name, checkout, ref=ref, signed_range=since, trust_on_first_use=tofu
    )
    if anchors is None or result is None:
        if fmt == "json":
            doc = {"environment": env_name, "ok": False, "trust": {"problem": problem}}
            click.echo(json.dumps(doc, indent=2))
        else:
            say(f"FAIL trust: {problem}")
            say(f"{checkout} must not be deployed to {env_name}")
        return ExitCode.FINDINGS
    if fmt == "json":
        click.echo(json.dumps({**result.as_dict(), "trust": anchors.as_dict()}, indent=2))
    else:
        say(f"trust: {anchors.label}")
        if anchors.note:
            say(f"note: {anchors.note}")
        for c in result.checks:
            mark = "skip" if c.skipped else ("ok  " if c.ok else "FAIL")
            say(f"{mark} {c.name}: {c.reason}")
        verdict = "may be deployed" if result.ok else "must not be deployed"
        say(f"{result.head[:12] if result.head else checkout} {verdict} to {env_name}")
    return ExitCode.CLEAN if result.ok else ExitCode.FINDINGS
