"""The one registry: every rule deploysafe runs, in the order reports list them.

Rules are filed by practice (triggers, environment, secrets, gitops, defaults, testing);
each package names its rules in a tuple, and this table puts them in one order.
"""

from __future__ import annotations

from deploysafe.rules.base import Rule
from deploysafe.rules.defaults import DEFAULT_RULES
from deploysafe.rules.environment import ENVIRONMENT_RULES
from deploysafe.rules.gitops import TENANCY_RULES
from deploysafe.rules.secrets import SECRET_RULES
from deploysafe.rules.testing import TEST_RULES
from deploysafe.rules.triggers import TRIGGER_RULES

REGISTRY: tuple[Rule, ...] = (
    *ENVIRONMENT_RULES,
    *DEFAULT_RULES,
    *SECRET_RULES,
    *TRIGGER_RULES,
    *TEST_RULES,
    *TENANCY_RULES,
)

BY_ID: dict[str, Rule] = {r.id: r for r in REGISTRY}
