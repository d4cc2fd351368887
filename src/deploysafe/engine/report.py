"""What a scan reports: its findings (config exceptions and the baseline applied), the
inputs it could not read and what it did with each file, in the order every format prints
them."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import groupby
from operator import itemgetter
from typing import TYPE_CHECKING

from deploysafe.config import Config
from deploysafe.engine import fold, suppress
from deploysafe.engine.check import Partial, RuleFacts, decide_sets
from deploysafe.engine.settings import Settings
from deploysafe.engine.spool import ByFile, Collector, Decided, Spool, tally_of
from deploysafe.engine.tally import Tally
from deploysafe.frozen import record
from deploysafe.inputs.discover import Coverage
from deploysafe.model import Finding, ScanError, Severity, Suppression

if TYPE_CHECKING:  # its type only: the module is not among a scan's imports
    from deploysafe.config.rules import Exception_


@record
class Report:
    """What a scan found, and what it checked."""

    # In print order; on disk past engine/spool.SPILL (iterating reads it back).
    findings: Sequence[Finding]
    errors: tuple[ScanError, ...]
    notes: tuple[str, ...]
    fail_on: Severity
    files: int
    documents: int
    skipped: int
    # One record per file under the scanned paths, by path (empty for in-memory input).
    coverage: Sequence[Coverage] = ()
    # For a scan of a tree: the absolute folder `file` paths are relative to (the scan
    # root), and the top level of its repository (the scan root outside a work tree).
    root: str = ""
    top: str = ""
    # The rules this scan ran (policy and scope applied), in registry order: what a
    # posture counts as checks that passed (empty when the caller did not say).
    rules: tuple[str, ...] = ()

    @property
    def failing(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if self.fails(f))

    def fails(self, f: Finding) -> bool:
        return f.suppressed is None and f.severity >= self.fail_on

    def failing_count(self) -> int:
        """How many findings fail (added up as a report on disk was written)."""
        return self.tally().failing(self.fail_on)

    def tally(self) -> Tally:
        """What the findings add up to: added up as they were written when they are on
        disk, else by a pass over them."""
        return tally_of(self.findings)

    @classmethod
    def of(
        cls,
        findings: Iterable[Finding],
        errors: Iterable[ScanError],
        *,
        notes: Sequence[str],
        fail_on: Severity,
        files: int,
        documents: int = 0,
        skipped: int = 0,
        coverage: Sequence[Coverage] = (),
        rules: Sequence[str] = (),
    ) -> Report:
        """A report in print order: findings by place, errors by place and once each."""
        return cls(
            findings=tuple(sorted(findings, key=fold.print_order)),
            errors=tuple(sorted(set(errors), key=lambda e: (e.file, e.line or 0, e.message))),
            notes=tuple(notes),
            fail_on=fail_on,
            files=files,
            documents=documents,
            skipped=skipped,
            coverage=tuple(coverage),
            rules=tuple(rules),
        )


def _facts(partial: Partial, spool: Spool | None) -> Iterator[tuple[str, RuleFacts]]:
    """Each rule's facts, in the order the rules came: those in the spool first (they came
    first), then those in memory; each taken from `partial` as it is asked for."""
    for rid in [*partial.fact_blocks, *(r for r in partial.facts if r not in partial.fact_blocks)]:
        blocks = partial.fact_blocks.pop(rid, ())
        got = RuleFacts()
        if blocks:
            assert spool is not None, "facts in a spool that was not given"
            spool.facts(blocks, got)
        got.extend(partial.facts.pop(rid, []))
        yield rid, got


def finish(
    partial: Partial,
    s: Settings,
    config: Config,
    baseline: frozenset[str] | None,
    notes: Sequence[str],
    coverage: Sequence[Coverage] = (),
    *,
    hide: Callable[[Finding], bool] | None = None,
    spool: Spool | None = None,
) -> Report:
    """Decide the cross-resource rules, apply config exceptions, report each problem once
    (engine/fold.py), apply the baseline: `partial`'s facts are used up. Findings `hide`
    names (on objects checked only for context) are not reported. `spool` holds the
    findings `partial` says it does, and the report's beyond what it keeps in memory.

    Every step is local to a file (each identity, fold and fingerprint holds the file),
    so the report is put together a few whole files at a time, in print order."""
    exceptions = suppress.for_rule(config.exceptions)
    loose: dict[str, list[Finding]] = {}
    for f in partial.findings:
        loose.setdefault(f.file, []).append(f)
    # The cross-resource rules' findings, on disk as they are decided (a large tree has
    # hundreds of thousands), or with the others in memory.
    decided = Decided(spool) if spool is not None else None
    for f in decide_sets(_facts(partial, spool), s):
        if decided is None:
            loose.setdefault(f.file, []).append(f)
        else:
            decided.add(f)
    # The files in print order: those with findings of their own (with the spool blocks
    # that hold them), merged with those the cross-resource rules found.
    made = decided.by_file() if decided is not None else ()
    spooled = ByFile(spool) if spool is not None else None
    out = Collector(spool)
    # Most files hold a few findings: each step takes a batch of whole files (and keeps
    # them apart), not a call per file.
    batch: list[Finding] = []
    for file, blocks, found in _by_file(partial.blocks.by_file(), sorted(loose), made):
        # The files' own findings first, then those of renders and cross-resource rules:
        # among findings of one identity, the first is kept.
        if spooled is not None:
            for block in blocks:
                batch += spooled.findings(block, file)
        batch += loose.pop(file, [])
        batch += found
        if len(batch) >= _BATCH:
            out.extend(_reported(batch, s, config, exceptions, baseline, hide))
            batch = []
    out.extend(_reported(batch, s, config, exceptions, baseline, hide))
    report = Report.of(
        (),
        partial.errors,
        notes=notes,
        fail_on=config.fail_on,
        files=partial.files,
        documents=partial.documents,
        skipped=partial.skipped,
        coverage=coverage,
        rules=s.rule_ids,
    )
    return replace(report, findings=out.done())


# Findings put together at a time (the files that hold them whole).
_BATCH = 256


def _reported(
    group: list[Finding],
    s: Settings,
    config: Config,
    exceptions: Callable[[str], Sequence[Exception_]],
    baseline: frozenset[str] | None,
    hide: Callable[[Finding], bool] | None,
) -> list[Finding]:
    """The findings of whole files, in print order, as the report holds them."""
    if hide is not None:
        group = [f for f in group if not hide(f)]
    if config.exceptions:
        group = [suppress.by_config(f, exceptions(f.rule_id), s.today, config.base) for f in group]
    final = fold.number(fold.dedupe(group))
    # In print order unless a merge made a message anew (dedupe sorted `group`).
    ordered = final is group
    if baseline is not None:
        final = [
            replace(f, suppressed=Suppression("baseline", "in the baseline"))
            if f.suppressed is None and f.fingerprint in baseline
            else f
            for f in final
        ]
    folded = fold.fold(final)
    if folded is not final or not ordered:
        folded.sort(key=fold.print_order)
    return folded


def _by_file(
    spooled: Iterable[tuple[str, tuple[int, ...]]],
    loose: Iterable[str],
    decided: Iterable[tuple[str, list[Finding]]],
) -> Iterator[tuple[str, tuple[int, ...], list[Finding]]]:
    """Each file with findings, in order, once: with the spool blocks of its own findings
    and the findings the cross-resource rules made on it. Each stream is in file order."""
    merged = heapq.merge(
        ((file, blocks, []) for file, blocks in spooled),
        ((file, (), []) for file in loose),
        ((file, (), found) for file, found in decided),
        key=itemgetter(0),
    )
    for file, group in groupby(merged, key=itemgetter(0)):
        blocks: tuple[int, ...] = ()
        found: list[Finding] = []
        for _, more, made in group:
            blocks += more
            found += made
        yield file, blocks, found
