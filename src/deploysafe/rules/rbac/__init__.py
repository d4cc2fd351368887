"""RBAC and host-access rules beyond the Pod Security Standards (practice 2)."""

from __future__ import annotations

from deploysafe.model import Rule

RBAC_RULES: tuple[Rule, ...] = ()
