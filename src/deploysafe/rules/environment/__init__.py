"""Know the environment (practice 2, DS2xx): Pod Security Standards, RBAC, host access."""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.environment import runtime_socket
from deploysafe.rules.environment.pss import PSS_RULES
from deploysafe.rules.environment.rbac import RBAC_RULES

ENVIRONMENT_RULES: tuple[Rule, ...] = (*PSS_RULES, *RBAC_RULES, runtime_socket.RULE)
