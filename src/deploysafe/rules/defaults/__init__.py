"""Insecure defaults (practice 5)."""

from __future__ import annotations

from deploysafe.model import Rule

DEFAULT_RULES: tuple[Rule, ...] = ()
