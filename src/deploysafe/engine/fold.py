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
from collections.abc import Iterable, Sequence
from dataclasses import replace

from deploysafe.model import Finding
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


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per identity: the first in print order (an unsuppressed one first),
    with every render that produced it."""
    order = sorted(
        findings,
        key=lambda f: (f.file, f.line, f.column, f.rule_id, f.suppressed is not None, f.message),
    )
    out: list[Finding] = []
    # An identity starts with the rule and place the order starts with, so findings of one
    # identity are neighbours: the table is kept for one place at a time, not the tree.
    place: tuple[object, ...] = ()
    first: dict[tuple[object, ...], Finding] = {}
    # The renders of identities found more than once only (most are found once).
    renders: dict[tuple[object, ...], set[str]] = {}
    for f in order:
        k = identity(f)
        if k[:4] != place:
            _firsts(first, renders, out)
            place = k[:4]
        if k not in first:
            first[k] = f
        else:
            renders.setdefault(k, set(first[k].renders)).update(f.renders)
    _firsts(first, renders, out)
    return _per_line(out)


def _firsts(
    first: dict[tuple[object, ...], Finding],
    renders: dict[tuple[object, ...], set[str]],
    out: list[Finding],
) -> None:
    """Add to `out` the first finding of each identity, with every render that produced
    it, and empty the tables."""
    for k, f in first.items():
        merged = renders.get(k) or set(f.renders)
        same = len(merged) == len(f.renders)
        out.append(f if same else replace(f, renders=tuple(sorted(merged))))
    first.clear()
    renders.clear()


_NAMED = 5  # objects a merged finding names; more are counted


def _per_line(findings: Sequence[Finding]) -> list[Finding]:
    """Rendered findings of one rule at one line and column, on several objects, as one:
    the line wrote the problem once (a kustomization's `images: newTag: latest`, a template
    line a loop repeats), so it is fixed once. Suppressed findings stay apart: a suppression
    names one object. `findings` are in print order, so such findings are neighbours."""
    out: list[Finding] = []
    place = operator.attrgetter("file", "line", "column", "rule_id")
    for _, group in itertools.groupby(findings, key=place):
        same = list(group)
        alike = [f for f in same if _alike(f)]
        for f in same:
            if not _alike(f):
                out.append(f)
            elif f is alike[0]:
                out.append(_merged(alike))
    return out


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


def number(findings: Sequence[Finding]) -> list[Finding]:
    """Findings (in print order) that would share a fingerprint, numbered apart."""
    seen: dict[str, int] = {}
    out = []
    file = None
    for f in findings:
        # A fingerprint holds the file, which print order starts with: one file's at a time.
        if f.file != file:
            seen.clear()
            file = f.file
        # The text, not its hash: the same findings share it, and it costs no digest.
        fp = f.fingerprint_text
        n = seen.get(fp, 0)
        seen[fp] = n + 1
        out.append(replace(f, occurrence=n) if n else f)
    return out


def fold(findings: Sequence[Finding], pairs: Sequence[Pair] = PAIRS) -> list[Finding]:
    """Fold each pair's findings on one fact into the kept one; the rest as they are."""
    by_kept, by_folded = _PAIRS if pairs is PAIRS else _by_rule(pairs)
    if not any(f.rule_id in by_kept or f.rule_id in by_folded for f in findings):
        return list(findings)
    kept: dict[tuple[str, Relation, tuple[object, ...]], int] = {}
    for i, f in enumerate(findings):
        for p in by_kept.get(f.rule_id, ()):
            k = _key(f, p.relation)
            # A finding on several secrets (one Secret object) stands for each of them.
            more = [(f.file, h) for h in f.other_hashes] if p.relation is Relation.SECRET else []
            for key in [k, *more] if k is not None else []:
                kept.setdefault((f.rule_id, p.relation, key), i)
    into: dict[int, list[tuple[Pair, Finding]]] = {}
    gone: set[int] = set()
    for i, f in enumerate(findings):
        for p in by_folded.get(f.rule_id, ()):
            k = _key(f, p.relation)
            j = kept.get((p.kept, p.relation, k)) if k is not None else None
            if j is not None:
                into.setdefault(j, []).append((p, f))
                gone.add(i)
                break
    return [_merge(f, into[i]) if i in into else f for i, f in enumerate(findings) if i not in gone]


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
