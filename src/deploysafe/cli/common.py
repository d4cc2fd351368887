"""What several commands share: the policy file, and writing reports."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from deploysafe import config as configmod
from deploysafe.errors import UsageError
from deploysafe.rules import BY_ID


def load_config(config_path: Path | None, root: Path) -> configmod.Config:
    """The policy: `--config` if given, else deploysafe.yaml found from `root`, else the
    defaults. A wrong file raises ConfigError (exit 2)."""
    path = config_path or configmod.find(root)
    if path is None:
        return configmod.Config()
    return configmod.load(path, rule_ids=frozenset(BY_ID))


def emit(report: Any, fmt: str, output: Path | None, show_suppressed: bool) -> None:
    from deploysafe.formats import jsonfmt, junit, sarif, text

    parts: Iterable[str]
    if fmt == "json":
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
