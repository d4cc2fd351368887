"""RBAC and host-access rules beyond the Pod Security Standards (practice 2)."""

from __future__ import annotations

from deploysafe.model import Rule
from deploysafe.rules.rbac import (
    cluster_admin,
    create_pods,
    escalate,
    exec_attach,
    runtime_socket,
    secrets,
    wildcard,
)

RBAC_RULES: tuple[Rule, ...] = (
    wildcard.RULE,
    cluster_admin.RULE,
    secrets.RULE,
    create_pods.RULE,
    exec_attach.RULE,
    escalate.RULE,
    runtime_socket.RULE,
)
