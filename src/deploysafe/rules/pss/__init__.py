"""Pod Security Standards checks, one module each, as pod-security-admission decides them."""

from __future__ import annotations

from deploysafe.model import Rule
from deploysafe.rules.pss import privileged

PSS_RULES: tuple[Rule, ...] = (privileged.RULE,)
