"""Helpers for rule tests: run rules on YAML text without the whole engine."""

from __future__ import annotations

from deploysafe.documents import Document, load_kubernetes
from deploysafe.model import Context, Level, Rule, Version, Violation
from deploysafe.pss import LATEST


def docs(text: str, file: str = "test.yaml") -> list[Document]:
    result = load_kubernetes(text, file)
    assert not result.errors, result.errors
    return result.documents


def run_rule(
    rule: Rule,
    text: str,
    level: Level = Level.RESTRICTED,
    version: Version = LATEST,
) -> list[tuple[int, Violation]]:
    """(line, violation) for every violation of a per-document rule in `text`."""
    assert rule.check is not None
    out = []
    for doc in docs(text):
        ctx = Context(pss_level=level, pss_version=version, namespace=doc.namespace)
        out.extend((doc.locate(v.path)[0], v) for v in rule.check(doc, ctx))
    return out
