"""RBAC rules beyond the Pod Security Standards (practice 2, DS230-DS235, DS298, DS299)."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.environment.rbac import (
    cluster_admin,
    create_pods,
    escalate,
    exec_attach,
    node_proxy,
    secrets,
    wildcard,
    workload_network,
)

RBAC_RULES: tuple[Rule, ...] = (
    wildcard.RULE,
    cluster_admin.RULE,
    secrets.RULE,
    create_pods.RULE,
    exec_attach.RULE,
    escalate.RULE,
    workload_network.RULE,
    node_proxy.RULE,
)
