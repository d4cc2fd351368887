"""Pod Security Standards: which checks apply at a level and version, and the verdict.

Mirrors pod-security-admission: restricted runs every baseline check, except where a
restricted check that exists at that version overrides a baseline one.
"""

from __future__ import annotations

from deploysafe.frozen import record
from deploysafe.model import Document, Level, Version, Violation
from deploysafe.rules.base import Context, Rule


def active_rules(rules: tuple[Rule, ...], level: Level, version: Version) -> tuple[Rule, ...]:
    """The PSS rules that decide a pod at `level` and `version`, after overrides."""
    pss = [r for r in rules if r.pss is not None and r.pss.since <= version]
    if level is Level.BASELINE:
        return tuple(r for r in pss if r.pss is not None and r.pss.level is Level.BASELINE)
    overridden = {r.pss.overrides for r in pss if r.pss is not None and r.pss.overrides}
    return tuple(r for r in pss if r.pss is not None and r.pss.check not in overridden)


@record
class Verdict:
    """Whether a pod passes a Pod Security level, and the checks it fails."""

    allowed: bool
    failures: tuple[tuple[Rule, Violation], ...]

    @property
    def checks(self) -> frozenset[str]:
        return frozenset(r.pss.check for r, _ in self.failures if r.pss is not None)


def evaluate(rules: tuple[Rule, ...], doc: Document, level: Level, version: Version) -> Verdict:
    ctx = Context(pss_level=level, pss_version=version, namespace=doc.namespace)
    failures = tuple(
        (rule, v)
        for rule in active_rules(rules, level, version)
        if rule.check is not None
        for v in rule.check(doc, ctx)
    )
    return Verdict(not failures, failures)
