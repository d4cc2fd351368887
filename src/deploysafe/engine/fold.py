"""One finding per problem: the same finding from several renders once, and two rules that
describe one fact about one place as one finding.

`rules.overlaps.PAIRS` is the one table of such facts: where the kept rule and the folded
rule both report the same place (by `Relation`), the kept finding stands, names the folded
rule's consequence in its message, carries the higher severity of the two, and is
suppressed if either was. A rule turned off reports nothing to fold into, so the other one
reports on its own.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from deploysafe.model import SEPARATOR, Finding
from deploysafe.rules.overlaps import PAIRS, Pair, Relation


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
    namespace is not part of it: overlays deploy one base line into several namespaces.
    Nor, for rendered objects, are list indices: an overlay that inserts a sidecar moves the
    base's container from index 0 to 1, still written at the same line and column."""
    res = (f.resource.kind, f.resource.name) if f.resource is not None else None
    where = _INDEX.sub("/#", f.pointer) if f.renders else f.pointer
    return (f.rule_id, f.file, f.line, f.column, where, f.secret_hash, res)


_INDEX = re.compile(r"/[0-9]+(?=/|$)")


def dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per identity: the first in print order (an unsuppressed one first),
    with every render that produced it. `findings` is sorted in print order, and is the
    answer where nothing is merged (most reports)."""
    findings.sort(key=print_order)
    # An identity starts with the rule and place, so findings of one identity are
    # neighbours in place order; most places hold one finding, passed on as it is. Where
    # every place does, and none was found by several renders, nothing is merged.
    places = list(map(_PLACE, findings))
    if len(set(places)) == len(places) and max(map(len, map(_RENDERS, findings)), default=0) < 2:
        return findings
    out: list[Finding] = []
    for _, group in itertools.groupby(findings, key=_PLACE):
        same = list(group)
        if len(same) == 1 and len(same[0].renders) < 2:
            out += same
        else:
            out += _per_line(_firsts(same))
    return out


# A finding's place, then rule and message: the order a report prints (in C: a report
# sorts each of its findings). Which of a place's findings comes first, an unsuppressed
# one, is decided at the place.
print_order: Callable[[Finding], tuple[str, int, int, str, str]] = operator.attrgetter(
    "file", "line", "column", "rule_id", "message"
)
_PLACE = operator.attrgetter("file", "line", "column", "rule_id")
_RENDERS = operator.attrgetter("renders")
_FILE_RULE = operator.attrgetter("file", "rule_id")


def _firsts(same: list[Finding]) -> list[Finding]:
    """The first finding of each identity among findings of one place, with every render
    that produced it."""
    # Stable: findings of one message keep the order they came in.
    same.sort(key=_unsuppressed_first)
    first: dict[tuple[object, ...], Finding] = {}
    # The renders of identities found more than once only (most are found once).
    renders: dict[tuple[object, ...], set[str]] = {}
    for f in same:
        k = identity(f)
        if k not in first:
            first[k] = f
        else:
            renders.setdefault(k, set(first[k].renders)).update(f.renders)
    out = []
    for k, f in first.items():
        merged = renders.get(k) or set(f.renders)
        kept = len(merged) == len(f.renders)
        out.append(f if kept else replace(f, renders=tuple(sorted(merged))))
    return out


def _unsuppressed_first(f: Finding) -> tuple[bool, str]:
    return (f.suppressed is not None, f.message)


_NAMED = 5  # objects a merged finding names; more are counted


def _per_line(same: list[Finding]) -> list[Finding]:
    """Rendered findings of one rule at one line and column (`same`, in print order), on
    several objects, as one: the line wrote the problem once (a kustomization's `images:
    newTag: latest`, a template line a loop repeats), so it is fixed once. Suppressed
    findings stay apart: a suppression names one object."""
    alike = [f for f in same if _alike(f)]
    if len(alike) < 2:
        return same
    return [_merged(alike) if f is alike[0] else f for f in same if f is alike[0] or not _alike(f)]


def _alike(f: Finding) -> bool:
    return bool(f.renders) and f.resource is not None and f.suppressed is None


def _merged(alike: Sequence[Finding]) -> Finding:
    kept, *others = alike
    if not others:
        return kept
    names = sorted({f"{f.resource.kind} {f.resource.name}" for f in others if f.resource})
    more = len(names) - _NAMED
    shown = ", ".join(names[:_NAMED]) + (f" and {more} more" if more > 0 else "")
    return replace(
        kept,
        message=f"{kept.message}; this line does the same for {len(names)} more "
        f"object{'s' if len(names) != 1 else ''}: {shown}",
        renders=tuple(sorted({r for f in alike for r in f.renders})),
        severity=max(f.severity for f in alike),
    )


def number(findings: list[Finding]) -> list[Finding]:
    """Findings (in print order) that would share a fingerprint, numbered apart; `findings`
    itself where none would (most reports)."""
    # A text starts with its rule's id, the separator and the file: a finding of a rule
    # found once in its file shares it with none. The text, not its hash: the same
    # findings share it, and it costs no digest.
    places = list(map(_FILE_RULE, findings))
    counts = Counter(places)
    if SEPARATOR in "".join({rule for _, rule in counts}):
        texts = [f.fingerprint_text for f in findings]
    elif len(counts) == len(places):
        return findings
    else:
        texts = [
            f.fingerprint_text for f, at in zip(findings, places, strict=True) if counts[at] > 1
        ]
    if len(set(texts)) == len(texts):
        return findings
    seen: dict[str, int] = {}
    out = []
    file = None
    for f in findings:
        fp = f.fingerprint_text
        # A fingerprint holds the file, which print order starts with: one file's at a time.
        if f.file != file:
            seen.clear()
            file = f.file
        n = seen.get(fp, 0)
        seen[fp] = n + 1
        out.append(replace(f, occurrence=n) if n else f)
    return out


def fold(findings: list[Finding], pairs: Sequence[Pair] = PAIRS) -> list[Finding]:
    """Fold each pair's findings on one fact into the kept one, the rest as they are;
    `findings` itself where nothing folds."""
    by_kept, by_folded = _PAIRS if pairs is PAIRS else _by_rule(pairs)
    rules = list(map(_RULE_ID, findings))
    # A pair folds only where findings of both its rules are.
    present = set(rules)
    if present.isdisjoint(by_folded) or not any(
        p.kept in present for r in present.intersection(by_folded) for p in by_folded[r]
    ):
        return findings
    # Only the findings of the pairs' rules are looked at.
    keeping = itertools.compress(range(len(rules)), map(by_kept.__contains__, rules))
    folding = itertools.compress(range(len(rules)), map(by_folded.__contains__, rules))
    kept: dict[tuple[str, Relation, tuple[object, ...]], int] = {}
    for i in keeping:
        f = findings[i]
        for p in by_kept[f.rule_id]:
            k = _key(f, p.relation)
            # A finding on several secrets (one Secret object) stands for each of them.
            more = [(f.file, h) for h in f.other_hashes] if p.relation is Relation.SECRET else []
            for key in [k, *more] if k is not None else []:
                kept.setdefault((f.rule_id, p.relation, key), i)
    into: dict[int, list[tuple[Pair, Finding]]] = {}
    gone: set[int] = set()
    for i in folding:
        f = findings[i]
        for p in by_folded[f.rule_id]:
            k = _key(f, p.relation)
            j = kept.get((p.kept, p.relation, k)) if k is not None else None
            if j is not None:
                into.setdefault(j, []).append((p, f))
                gone.add(i)
                break
    if not into:
        return findings
    return [_merge(f, into[i]) if i in into else f for i, f in enumerate(findings) if i not in gone]


_RULE_ID = operator.attrgetter("rule_id")


def _by_rule(pairs: Sequence[Pair]) -> tuple[dict[str, list[Pair]], dict[str, list[Pair]]]:
    """Each rule's pairs, as the kept rule and as the folded one: each finding meets only
    the pairs of its own rule, not the whole table."""
    by_kept: dict[str, list[Pair]] = {}
    by_folded: dict[str, list[Pair]] = {}
    for p in pairs:
        by_kept.setdefault(p.kept, []).append(p)
        by_folded.setdefault(p.folded, []).append(p)
    return by_kept, by_folded


# Folding is per file: the table's index is made once, not for each file.
_PAIRS = _by_rule(PAIRS)


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
