"""Secret values are never shown: which objects carry them, and how a value is masked.

Every place that prints or diffs Kubernetes objects (release plans, drift reports) asks
here. A Secret of any API group counts: masking a look-alike costs a readable diff line,
showing a real one leaks it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

MASK = "<masked>"
SECRET_FIELDS = ("data", "stringData")


def is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret"


def masked_value(value: Any) -> str:
    """The mask plus a short hash: a diff still shows that the value changed."""
    return f"{MASK} sha256:{hashlib.sha256(str(value).encode()).hexdigest()[:12]}"


def masked(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object with a Secret's values masked (other objects as they are)."""
    if not is_secret(obj):
        return obj
    out = dict(obj)
    for name in SECRET_FIELDS:
        values = out.get(name)
        if isinstance(values, dict):
            out[name] = {k: masked_value(v) for k, v in values.items()}
    return out
