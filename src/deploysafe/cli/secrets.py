"""The secrets options of `deploysafe scan` (`--secrets-rules`, `--git-history`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from deploysafe.config import Config, ConfigError


class _UsageError(click.UsageError):
    exit_code = 2


def with_rules(cfg: Config, rules: Path) -> Config:
    """The config with `--secrets-rules FILE` in place of its secrets.rules (read now)."""
    from deploysafe.config.secrets import with_rules_file

    try:
        return replace(cfg, secrets=with_rules_file(cfg.secrets, rules.resolve()))
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None


def history_report(root: Path, cfg: Config, baseline: frozenset[str] | None) -> Any:
    from deploysafe.engine.history import HistoryError, scan_history

    try:
        return scan_history(root, cfg, baseline=baseline)
    except HistoryError as exc:
        raise _UsageError(str(exc)) from None
