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
    """The config with `--secrets-rules FILE` as its secrets.rules (validated now)."""
    from deploysafe.config.secrets import from_config

    section = cfg.sections.get("secrets")
    merged: dict[str, Any] = dict(section) if isinstance(section, dict) else {}
    merged["rules"] = str(rules.resolve())
    out = replace(cfg, sections={**cfg.sections, "secrets": merged})
    try:
        from_config(out)
    except ConfigError as exc:
        raise _UsageError(str(exc)) from None
    return out


def history_report(root: Path, cfg: Config, baseline: frozenset[str] | None) -> Any:
    from deploysafe.engine.history import HistoryError, scan_history

    try:
        return scan_history(root, cfg, baseline=baseline)
    except HistoryError as exc:
        raise _UsageError(str(exc)) from None
