"""Tenant boundaries (practice 4): active when a tenant is chosen (`scan --tenant/--env`)."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.gitops import cluster_kind, namespace_escape, platform_kinds

TENANCY_RULES: tuple[Rule, ...] = (namespace_escape.RULE, cluster_kind.RULE, platform_kinds.RULE)
