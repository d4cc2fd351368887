"""Fixes of objects a Helm chart renders."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from deploysafe.fix.rendered import Planned, Target, manual_at

PREFIX = "helm "


def plan(found: Sequence[Target], root: Path) -> Planned:
    return Planned(
        left=tuple(
            manual_at(t.finding, [f"{t.finding.file}:{t.finding.line}"], "a chart") for t in found
        )
    )
