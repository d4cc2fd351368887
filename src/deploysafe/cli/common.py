"""What several commands share: the policy file, and writing reports."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from deploysafe import config as configmod
from deploysafe.errors import UsageError
from deploysafe.globs import any_match
from deploysafe.printable import printable
from deploysafe.rules import BY_ID


def load_config(config_path: Path | None, root: Path, *, scan: bool = False) -> configmod.Config:
    """The policy: `--config` if given, else the nearest deploysafe.yaml from `root` up to
    its repository's top level, else the defaults. For a `scan` rooted at `root`, its globs
    keep naming files from its own folder; a policy found above a scan root it excludes is
    not applied. A policy kept outside `root`'s repository (a CD host's) reads its render
    inputs from that repository and holds them inside it. A wrong file raises ConfigError
    (exit 2)."""
    from deploysafe.inputs.discover import repo_top

    folder = root if root.is_dir() else root.parent
    top = repo_top(folder) if folder.is_dir() else None
    path = config_path or configmod.find(root, top)
    if path is None:
        return configmod.Config()
    checkout = (top or folder).resolve()
    outside = not path.resolve().is_relative_to(checkout)
    cfg = configmod.load(path, rule_ids=frozenset(BY_ID), inputs_root=checkout if outside else None)
    if not scan:
        return cfg
    cfg = configmod.for_root(cfg, path, root)
    if config_path is None and cfg.base and any_match(cfg.base, cfg.exclude):
        # A folder the policy leaves out (examples, fixtures) is scanned by name as a
        # project of its own, not as an empty part of this one.
        return configmod.Config()
    return cfg


def with_flags(
    cfg: configmod.Config, fail_on: str | None, policy: str | None, pss_version: str | None
) -> configmod.Config:
    """The policy with `--fail-on`, `--policy` and `--pss-version` in place of its own
    (`--fail-on never` changes only the exit code, decided in cli/exits)."""
    from deploysafe.cli.options import NEVER
    from deploysafe.model import Level, Severity, parse_version

    try:
        if fail_on and fail_on != NEVER:
            cfg = replace(cfg, fail_on=Severity.parse(fail_on))
        if policy:
            cfg = replace(cfg, policy=Level(policy))
        if pss_version:
            cfg = replace(cfg, pss_version=parse_version(pss_version))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return cfg


def batch_gc() -> None:
    """Collector settings for one batch command, undone when the command ends: the objects
    the imports made live to the end and are frozen, and the command's own allocations are
    mostly acyclic, so the young generation is collected less often. A scan spends about a
    tenth less CPU (bench/README.md)."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)

    def restore() -> None:
        # Every object goes to the oldest generation (frozen, then unfrozen): back at the
        # old thresholds, the next allocation would collect the command's young objects all
        # at once (27,000 as a 1x scan ends: 10 ms).
        gc.freeze()
        gc.unfreeze()
        gc.set_threshold(*old)

    click.get_current_context().call_on_close(restore)


def emit(report: Any, fmt: str, output: Path | None, show_suppressed: bool) -> None:
    # Each format is imported when it is the one asked for: a scan starts and ends sooner.
    parts: Iterable[str]
    colored = False
    if fmt == "compact":
        from deploysafe.formats import compact

        parts = compact.chunks(report, show_suppressed=show_suppressed)
    elif fmt == "gitlab-sast":
        from deploysafe.formats import gitlab

        # The report holds no times: the scan is over when its report is written.
        now = datetime.now(UTC)
        parts = gitlab.chunks(report, started=now, ended=now)
    elif fmt == "github-summary":
        from deploysafe.formats import jobsummary

        parts = [jobsummary.render(report)]
    elif fmt == "json":
        from deploysafe.formats import jsonfmt

        parts = jsonfmt.chunks(report)
    elif fmt == "sarif":
        from deploysafe.formats import sarif

        parts = sarif.chunks(report)
    elif fmt == "junit":
        from deploysafe.formats import junit

        parts = [junit.render(report)]
    elif fmt == "html":
        from deploysafe.formats import html

        parts = html.chunks(report, show_suppressed=show_suppressed)
    else:
        from deploysafe.cli import terminal
        from deploysafe.formats import text

        colored = output is None and terminal.color(sys.stdout)
        columns = terminal.width(sys.stdout) if output is None else None
        parts = [text.render(report, color=colored, show_suppressed=show_suppressed, width=columns)]
    if output is None:
        for part in parts:
            # click strips colour on a pipe; FORCE_COLOR asked for it there.
            click.echo(part, nl=False, color=colored or None)
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


def scan_root(targets: list[Path]) -> Path:
    """The folder the scan starts from, which findings are named from and the policy file
    is looked up in: the deepest folder that holds every path (a file's own folder when it
    is the only one), so a hook that passes changed files from several folders of a
    repository gets them named from the folder that holds them all."""
    folders = [(t if t.is_dir() else t.parent).resolve() for t in targets]
    try:
        return Path(os.path.commonpath(folders))
    except ValueError:  # paths on different drives share no folder
        return folders[0]


def say(line: str, *, err: bool = False) -> None:
    """One line of a command's text output. Its parts may come from the repository (file
    and object names, commit messages): a newline, an escape sequence or a bidi control in
    them is shown escaped, so it can neither drive the terminal nor forge another line."""
    click.echo(printable(line), err=err)


def say_lines(text: str, *, err: bool = False) -> None:
    """Text of several lines, newline-separated (each as `say` prints it)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for line in lines:
        say(line, err=err)
