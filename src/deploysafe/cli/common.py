"""What several commands share: the policy file, and writing reports."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from deploysafe import config as configmod
from deploysafe.errors import UsageError
from deploysafe.globs import any_match
from deploysafe.rules import BY_ID


def load_config(config_path: Path | None, root: Path, *, scan: bool = False) -> configmod.Config:
    """The policy: `--config` if given, else the nearest deploysafe.yaml from `root` up to
    its repository's top level, else the defaults. For a `scan` rooted at `root`, its globs
    keep naming files from its own folder; a policy found above a scan root it excludes is
    not applied. A wrong file raises ConfigError (exit 2)."""
    from deploysafe.inputs.discover import repo_top

    folder = root if root.is_dir() else root.parent
    path = config_path or configmod.find(root, repo_top(folder) if folder.is_dir() else None)
    if path is None:
        return configmod.Config()
    cfg = configmod.load(path, rule_ids=frozenset(BY_ID))
    if not scan:
        return cfg
    cfg = configmod.for_root(cfg, path, root)
    if config_path is None and cfg.base and any_match(cfg.base, cfg.exclude):
        # A folder the policy leaves out (examples, fixtures) is scanned by name as a
        # project of its own, not as an empty part of this one.
        return configmod.Config()
    return cfg


def emit(report: Any, fmt: str, output: Path | None, show_suppressed: bool) -> None:
    from deploysafe.formats import gitlab, jsonfmt, junit, sarif, summary, text

    parts: Iterable[str]
    if fmt == "gitlab-sast":
        # The report holds no times: the scan is over when its report is written.
        now = datetime.now(UTC)
        parts = gitlab.chunks(report, started=now, ended=now)
    elif fmt == "github-summary":
        parts = [summary.render(report)]
    elif fmt == "json":
        parts = jsonfmt.chunks(report)
    elif fmt == "sarif":
        parts = sarif.chunks(report)
    elif fmt == "junit":
        parts = [junit.render(report)]
    else:
        color = output is None and sys.stdout.isatty()
        parts = [text.render(report, color=color, show_suppressed=show_suppressed)]
    if output is None:
        for part in parts:
            click.echo(part, nl=False)
    else:
        write_out(output, parts)


def write_out(output: Path, parts: Iterable[str]) -> None:
    """Write a file the user named; one that cannot be written is a usage error (exit 2),
    not a traceback."""
    try:
        with output.open("w", encoding="utf-8") as fh:
            fh.writelines(parts)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
