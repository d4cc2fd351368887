"""The policy file loaded as the CLI loads it: with every registered rule id."""

from __future__ import annotations

from pathlib import Path

from deploysafe import config
from deploysafe.rules import BY_ID

RULE_IDS = frozenset(BY_ID)


def load(path: Path, display: str | None = None) -> config.Config:
    return config.load(path, display, rule_ids=RULE_IDS)
