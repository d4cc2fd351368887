"""The `rules:`, `exceptions:` and `suppressions:` sections: which rules run at which
severity, and which findings are accepted (with a reason, until a date).

The known rule ids are passed in: the policy file sits below the rule registry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from deploysafe.config.reader import Reader, did_you_mean, quoted, type_name
from deploysafe.frozen import record
from deploysafe.model import KeyPath, Severity

EXCEPTION_KEYS = frozenset({"rule", "reason", "file", "resource", "expires"})
SUPPRESSION_KEYS = frozenset({"inline", "annotations"})


@record
class Exception_:
    """A config-file suppression: rule (or *) for files/resources matching globs."""

    rule: str
    reason: str
    file: str = "*"
    resource: str = "*"  # glob over "Kind/namespace/name"
    expires: dt.date | None = None


@record
class RuleSetting:
    enabled: bool | None = None  # None: the rule's own default (most rules are on)
    severity: Severity | None = None


@record
class Suppressions:
    inline: bool = True  # `# deploysafe: ignore[...]` comments
    annotations: bool = True  # `deploysafe.io/ignore` annotations


def parse_rules(r: Reader, raw: Any, rule_ids: frozenset[str]) -> dict[str, RuleSetting]:
    rules: dict[str, RuleSetting] = {}
    for rid, setting in r.mapping(raw, ("rules",)).items():
        p: KeyPath = ("rules", str(rid))
        with r.item():
            if str(rid) not in rule_ids:
                hint = did_you_mean(str(rid), rule_ids)
                raise r.fail(p, f"unknown rule id (see `deploysafe rules`){hint}")
            s = r.mapping(setting, p, {"enabled", "severity"})
            rules[str(rid)] = RuleSetting(
                enabled=r.boolean(s["enabled"], (*p, "enabled")) if "enabled" in s else None,
                severity=(
                    r.convert(Severity.parse, r.string(s["severity"], (*p, "severity")), p)
                    if "severity" in s
                    else None
                ),
            )
    return rules


def parse_exceptions(r: Reader, raw: Any, rule_ids: frozenset[str]) -> tuple[Exception_, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise r.fail(("exceptions",), f"expected a list, got {type_name(raw)}")
    out = []
    for i, item in enumerate(raw):
        p: KeyPath = ("exceptions", i)
        with r.item():
            e = r.mapping(item, p, EXCEPTION_KEYS)
            if "reason" not in e:
                raise r.fail(p, "an exception needs a `reason`")
            out.append(
                Exception_(
                    rule=_exception_rule(r, e.get("rule", "*"), (*p, "rule"), rule_ids),
                    reason=r.string(e["reason"], (*p, "reason")),
                    file=r.string(e.get("file", "*"), (*p, "file")),
                    resource=r.string(e.get("resource", "*"), (*p, "resource")),
                    expires=r.date(e["expires"], (*p, "expires")) if "expires" in e else None,
                )
            )
    return tuple(out)


def _exception_rule(r: Reader, value: Any, path: KeyPath, rule_ids: frozenset[str]) -> str:
    rule = r.string(value, path).strip().upper()
    if rule != "*" and rule not in rule_ids:
        raise r.fail(
            path,
            f"unknown rule id {quoted(value)} (see `deploysafe rules`)"
            f"{did_you_mean(rule, rule_ids)}",
        )
    return rule


def parse_suppressions(r: Reader, raw: Any) -> Suppressions:
    p: KeyPath = ("suppressions",)
    sup: Mapping[str, Any] = r.mapping(raw, p, SUPPRESSION_KEYS)
    out = Suppressions()
    if "inline" in sup:
        with r.item():
            out = Suppressions(r.boolean(sup["inline"], (*p, "inline")), out.annotations)
    if "annotations" in sup:
        with r.item():
            out = Suppressions(out.inline, r.boolean(sup["annotations"], (*p, "annotations")))
    return out
