"""One finding per problem: the same finding from several renders once, and two rules that
describe one fact about one place as one finding.

`PAIRS` is the one table of such facts: where the kept rule and the folded rule both report
the same place (by `Relation`), the kept finding stands, names the folded rule's consequence
in its message, carries the higher severity of the two, and is suppressed if either was. A
rule turned off reports nothing to fold into, so the other one reports on its own.
`APART` records pairs that look alike but are not folded; both tables feed the rule pages
(`formats/rule_pages.py`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from deploysafe.model import Finding


class Relation(enum.Enum):
    """What makes two findings one fact."""

    VALUE = "the same value"  # same file, object and JSON pointer
    ENTRY = "the same list entry"  # same file, object and pointer up to its last list index
    SECRET = "the same secret"  # same file and secret (Kubernetes object or text line)


@dataclass(frozen=True, slots=True)
class Pair:
    kept: str
    folded: str
    relation: Relation
    consequence: str  # what the folded rule adds, as the kept finding's message says it
    why: str  # the decision, for both rules' pages


PAIRS: tuple[Pair, ...] = (
    Pair(
        "DS205",
        "DS507",
        Relation.VALUE,
        "it is reachable outside any Service or NetworkPolicy",
        "both read one `hostPort`; DS507 reports it on its own where the namespace's Pod "
        "Security level does not include the `hostPorts` check",
    ),
    Pair(
        "DS202",
        "DS509",
        Relation.VALUE,
        "no NetworkPolicy can select a host-network pod, so nothing restricts its traffic",
        "a pod on `hostNetwork: true` is out of every NetworkPolicy's reach: that is a "
        "consequence of the host network, not a missing policy (DS509 still reports pods "
        "that a policy could select but none does)",
    ),
    Pair(
        "DS236",
        "DS204",
        Relation.ENTRY,
        "a hostPath volume",
        "the runtime socket is mounted through a hostPath volume: one volume, one finding",
    ),
    Pair(
        "DS236",
        "DS213",
        Relation.ENTRY,
        "a volume type the restricted level forbids",
        "the runtime socket is mounted through a hostPath volume: one volume, one finding",
    ),
    Pair(
        "DS310",
        "DS301",
        Relation.SECRET,
        "a known secret format",
        "a token or key in a Secret manifest is one committed secret; DS310 names the "
        "Secret and key (its message says which format) and DS301 reports it in any other "
        "file",
    ),
    Pair(
        "DS311",
        "DS302",
        Relation.SECRET,
        "a literal credential",
        "a credential in a ConfigMap is one committed secret; DS302 reports literal "
        "credentials in any other file",
    ),
    *(
        Pair(
            "DS230",
            folded,
            Relation.ENTRY,
            consequence,
            "one `rules[]` entry with `*` is one grant to narrow: the wildcard finding "
            "lists what the entry grants",
        )
        for folded, consequence in (
            ("DS232", "it can read every Secret"),
            ("DS233", "it can create pods and workloads"),
            ("DS234", "it can exec or attach into pods"),
            ("DS235", "it can escalate, bind or impersonate"),
        )
    ),
)

# Pairs that look alike but are not folded, and why: two problems, or never one value.
APART: tuple[tuple[str, str, str], ...] = (
    (
        "DS311",
        "DS510",
        "a default password in a ConfigMap is two problems: moving it into a Secret leaves "
        "a password anyone can guess",
    ),
    (
        "DS302",
        "DS510",
        "never the same value: the detector judges each value once, as a well-known default "
        "(DS510) or as another literal credential (DS302)",
    ),
)


def _key(f: Finding, relation: Relation) -> tuple[object, ...] | None:
    """What two findings of `relation` share; None where the finding has no such place."""
    if relation is Relation.SECRET:
        return None if f.secret_hash is None else (f.file, f.secret_hash)
    res = (f.resource.kind, f.resource.name) if f.resource is not None else None
    if relation is Relation.VALUE:
        return (f.file, res, f.pointer)
    parts = f.pointer.split("/")
    for n in range(len(parts) - 1, 0, -1):
        if parts[n].isdigit():
            return (f.file, res, "/".join(parts[: n + 1]))
    return None


def identity(f: Finding) -> tuple[object, ...]:
    """Findings with one identity are one problem: same rule, place and secret. The
    namespace is not part of it: overlays deploy one base line into several namespaces."""
    res = (f.resource.kind, f.resource.name) if f.resource is not None else None
    return (f.rule_id, f.file, f.line, f.column, f.pointer, f.secret_hash, res)


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per identity: the first in print order (an unsuppressed one first),
    with every render that produced it."""
    order = sorted(
        findings,
        key=lambda f: (f.file, f.line, f.column, f.rule_id, f.suppressed is not None, f.message),
    )
    first: dict[tuple[object, ...], Finding] = {}
    renders: dict[tuple[object, ...], set[str]] = {}
    for f in order:
        k = identity(f)
        if k not in first:
            first[k] = f
            renders[k] = set(f.renders)
        else:
            renders[k].update(f.renders)
    return [
        f if len(renders[k]) == len(f.renders) else replace(f, renders=tuple(sorted(renders[k])))
        for k, f in first.items()
    ]


def number(findings: Sequence[Finding]) -> list[Finding]:
    """Findings (in print order) that would share a fingerprint, numbered apart."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        fp = f.fingerprint
        n = seen.get(fp, 0)
        seen[fp] = n + 1
        out.append(replace(f, occurrence=n) if n else f)
    return out


def fold(findings: Sequence[Finding], pairs: Sequence[Pair] = PAIRS) -> list[Finding]:
    """Fold each pair's findings on one fact into the kept one; the rest as they are."""
    rules = {p.kept for p in pairs} | {p.folded for p in pairs}
    if not any(f.rule_id in rules for f in findings):
        return list(findings)
    kept: dict[tuple[str, Relation, tuple[object, ...]], int] = {}
    for i, f in enumerate(findings):
        for p in pairs:
            k = _key(f, p.relation) if p.kept == f.rule_id else None
            if k is not None:
                kept.setdefault((f.rule_id, p.relation, k), i)
    into: dict[int, list[tuple[Pair, Finding]]] = {}
    gone: set[int] = set()
    for i, f in enumerate(findings):
        for p in pairs:
            k = _key(f, p.relation) if p.folded == f.rule_id else None
            j = kept.get((p.kept, p.relation, k)) if k is not None else None
            if j is not None:
                into.setdefault(j, []).append((p, f))
                gone.add(i)
                break
    return [_merge(f, into[i]) if i in into else f for i, f in enumerate(findings) if i not in gone]


def _merge(kept: Finding, folded: Sequence[tuple[Pair, Finding]]) -> Finding:
    # One consequence per folded rule, in rule order.
    parts = sorted({f.rule_id: (p, f) for p, f in folded}.values(), key=lambda pf: pf[1].rule_id)
    # Sentences, not a list: front ends join several findings with "; " (the webhook).
    also = "".join(f". Also {f.rule_id}: {p.consequence}" for p, f in parts)
    return replace(
        kept,
        severity=max(kept.severity, *(f.severity for _, f in parts)),
        message=kept.message + also,
        suppressed=kept.suppressed or next((f.suppressed for _, f in parts if f.suppressed), None),
        renders=tuple(sorted({*kept.renders, *(r for _, f in parts for r in f.renders)})),
        also=tuple(f.rule_id for _, f in parts),
    )
