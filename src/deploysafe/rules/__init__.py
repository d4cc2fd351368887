"""The one registry: every rule deploysafe runs, named explicitly in its package's tuple."""

from __future__ import annotations

from deploysafe.model import Rule
from deploysafe.rules.ci import CI_RULES
from deploysafe.rules.defaults import DEFAULT_RULES
from deploysafe.rules.pss import PSS_RULES
from deploysafe.rules.rbac import RBAC_RULES
from deploysafe.rules.secrets import SECRET_RULES
from deploysafe.rules.tenancy import TENANCY_RULES

REGISTRY: tuple[Rule, ...] = (
    *PSS_RULES,
    *RBAC_RULES,
    *DEFAULT_RULES,
    *SECRET_RULES,
    *CI_RULES,
    *TENANCY_RULES,
)

BY_ID: dict[str, Rule] = {r.id: r for r in REGISTRY}
