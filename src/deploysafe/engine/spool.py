"""Findings kept on disk while a scan runs and after it, so that the parent's memory does not
grow with them: a large tree has hundreds of thousands of findings, each about a kilobyte in
memory, and a report streams them out in print order. The cross-resource rules' facts are
kept there too until they are decided, a rule at a time (a large tree gives each rule tens of
thousands).

The workers' findings are written as they arrive, a block per chunk of files, with which
files each block holds; the report is put together one file at a time (every step of it
is local to a file: engine/report.py), reading back the blocks that hold that file's
findings. Its findings are kept in memory up to `SPILL` and on disk beyond it, where
iterating reads one block at a time.

A small tree's blocks are held in memory instead (`HOLD`): writing them and reading them
back would be work the parent does alone at the end of the scan; held, the workers'
findings and facts are built as they come, while the workers still check.
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import tempfile
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from deploysafe.engine.check import RuleFacts
from deploysafe.engine.held import Held
from deploysafe.engine.interned import Interned, Row, fact_row, finding_row, findings_of
from deploysafe.engine.suppress import Waiver
from deploysafe.engine.tally import Tally
from deploysafe.model import Fact, Finding

# Findings a report holds in memory; more go to disk in blocks of this many. A block is
# read whole while a format prints it: about 1 KB a finding, so this is the report's bound.
SPILL = 1024

# A scan of at most HOLD_FILES files holds its blocks in memory, up to HOLD findings and
# facts in all (the benchmark's 1x corpus: 3,428 files; 5,500 findings from the workers,
# 3,850 facts, 1,100 cross-resource findings and a report of 6,400). Past HOLD, the held
# blocks are written and so is every later one: the parent's memory is bounded as it is on
# disk, and a larger tree's scan is as it was.
HOLD_FILES = 8192
HOLD = 24576


class Spool:
    """Blocks of finding rows in a temporary file (gone when the spool is), or held in
    memory while `hold` more findings and facts fit."""

    __slots__ = ("__weakref__", "_blocks", "_facts", "_file", "_held", "_lock", "_room")

    def __init__(self, hold: int = 0) -> None:
        # Open for the report's life; closed (and so deleted) when the spool is collected.
        self._file = tempfile.TemporaryFile(prefix="deploysafe-findings-")  # noqa: SIM115
        weakref.finalize(self, self._file.close)
        # Each block's offset and size in the file, two numbers a block (a large tree's
        # blocks are tens of thousands: a tuple each would be MBs).
        self._blocks = array("q")
        self._lock = threading.Lock()
        # Blocks held, by number: each value as it is read, and how to make it the rows
        # it is written as. `_room`: how many more findings and facts may be held (None:
        # every block is written).
        self._held: dict[int, tuple[Any, Callable[[Any], Any]]] = {}
        self._room: int | None = hold if hold > 0 else None
        self._facts = FactBlocks(self)

    @classmethod
    def for_files(cls, files: int) -> Spool:
        """The spool of a scan of `files` files."""
        return cls(HOLD if files <= HOLD_FILES else 0)

    @property
    def holding(self) -> bool:
        return self._room is not None

    def holds(self, count: int) -> bool:
        """Whether `count` more findings or facts are held: once they would not fit, every
        held block is written, and so is each block after."""
        if self._room is None:
            return False
        if count <= self._room:
            self._room -= count
            return True
        self._room = None
        self._facts.unbuilt()
        for block, (value, rows_of) in sorted(self._held.items()):
            data = pickle.dumps(rows_of(value), protocol=pickle.HIGHEST_PROTOCOL)
            with self._lock:
                self._blocks[2 * block], self._blocks[2 * block + 1] = self._written(data)
        self._held.clear()
        return False

    def keep(self, value: Any, rows_of: Callable[[Any], Any]) -> int:
        """Hold `value` (counted by `holds` already) as a block; its number."""
        with self._lock:
            self._blocks.extend((-1, 0))
            block = len(self._blocks) // 2 - 1
            self._held[block] = (value, rows_of)
        return block

    def add_findings(self, findings: list[Finding]) -> int:
        """Keep `findings` (held as they are, or written as rows); their block."""
        if self.holds(len(findings)):
            return self.keep(findings, _rows_of_findings)
        return self.add([finding_row(f) for f in findings])

    def add_sent(self, data: bytes, count: int, seen: Interned) -> int:
        """Keep `count` findings a worker sent pickled as rows: held, they are built now
        (sharing the values `seen` holds), while the workers still check; else written as
        they came."""
        if self.holds(count):
            return self.keep(findings_of(pickle.loads(data), seen), _rows_of_findings)
        return self.add_pickled(data)

    def add(self, rows: Sequence[Row]) -> int:
        """Keep `rows`; the number of their block."""
        return self.put(list(rows))

    def rows(self, block: int) -> list[Row]:
        held = self._held.get(block)
        rows: list[Row] = held[1](held[0]) if held is not None else self.get(block)
        return rows

    def put(self, value: object) -> int:
        """Keep `value` (picklable); the number of its block."""
        return self.add_pickled(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def add_pickled(self, data: bytes) -> int:
        """Keep a value pickled already (a list of rows from a worker); its block."""
        with self._lock:
            self._blocks.extend(self._written(data))
            return len(self._blocks) // 2 - 1

    def _written(self, data: bytes) -> tuple[int, int]:
        """Where `data` is, appended to the file (under the lock)."""
        offset = self._file.seek(0, 2)
        self._file.write(data)
        return offset, len(data)

    def get(self, block: int) -> Any:
        offset, size = self._blocks[2 * block], self._blocks[2 * block + 1]
        with self._lock:
            self._file.seek(offset)
            data = self._file.read(size)
        return pickle.loads(data)

    def findings(self, block: int) -> list[Finding]:
        """The block's findings as they were written, values repeated within it one object
        each (its rows were pickled together). A held block's are those it holds."""
        held = self._held.get(block)
        if held is not None:
            found: list[Finding] = held[0]
            return found
        return [Finding(*row) for row in self.rows(block)]

    def add_facts(self, facts: Mapping[str, list[tuple[Row, Waiver | None]]]) -> None:
        """Keep one result's facts (each a fact's row and its waiver), by rule."""
        self._facts.add(facts)

    def fact_blocks(self) -> dict[str, tuple[int, ...]]:
        """Every fact added is written: by rule, in the order the rules came, its blocks."""
        return self._facts.done()

    def facts(
        self,
        blocks: Iterable[int],
        into: RuleFacts,
    ) -> None:
        """Add a rule's facts, from its blocks in order, to `into`. Values repeated within
        one result are held once, as they were when the result arrived
        (engine/interned.unpack); a file's path is not kept in a table."""
        seen = Interned(files_kept=False)
        for block in blocks:
            held = self._held.get(block)
            if held is not None:  # built as they came
                for built in held[0]:
                    into.extend(built)
                continue
            results: list[list[tuple[Row, Waiver | None]]] = self.get(block)
            for result in results:
                for row, waiver in result:
                    into.add(seen.fact(row), waiver)
                seen.values.clear()


class FactBlocks:
    """The facts of each rule, written a batch of results at a time: a tree's facts are
    never in memory together, and a rule's come back in the order they arrived. While the
    spool holds its blocks, the facts are built as they come (as `Spool.facts` builds
    them), not when they are decided."""

    __slots__ = ("_blocks", "_held", "_sizes", "_spool")
    _BATCH = 512  # facts of one rule in a block

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        # Each result's facts apart, as rows, or built while the spool holds its blocks.
        self._held: dict[str, list[list[Any]]] = {}
        self._sizes: dict[str, int] = {}
        self._blocks: dict[str, list[int]] = {}

    def add(self, facts: Mapping[str, list[tuple[Row, Waiver | None]]]) -> None:
        built = self._spool.holds(sum(len(got) for got in facts.values()))
        for rid, got in facts.items():
            self._blocks.setdefault(rid, [])
            self._held.setdefault(rid, []).append(self._built(got) if built else got)
            self._sizes[rid] = self._sizes.get(rid, 0) + len(got)
            if self._sizes[rid] >= self._BATCH:
                self._write(rid)

    @staticmethod
    def _built(got: list[tuple[Row, Waiver | None]]) -> list[tuple[Fact, Waiver | None]]:
        # Equal facts of one result are one object, as `Spool.facts` reads them back
        # (decide_sets finds each fact's waiver by identity). Held, a tree's facts are
        # few: their parts are not shared further.
        kept: dict[Fact, Fact] = {}
        out = []
        for row, w in got:
            f = Fact(*row)
            try:  # a try costs nothing where a context manager is an object a fact
                shared = kept.setdefault(f, f)
            except TypeError:  # a part not hashable: apart, as there
                shared = f
            out.append((shared, w))
        return out

    def unbuilt(self) -> None:
        """The facts not yet in a block as rows: the spool writes every block from now on."""
        for results in self._held.values():
            results[:] = _fact_rows(results)

    def _write(self, rid: str) -> None:
        # A block holds each result's facts apart: a result's repeated values are shared
        # when they are read back, as they were when it arrived.
        results = self._held.pop(rid)
        spool = self._spool
        block = spool.keep(results, _fact_rows) if spool.holding else spool.put(results)
        self._blocks[rid].append(block)
        self._sizes[rid] = 0

    def done(self) -> dict[str, tuple[int, ...]]:
        for rid in list(self._held):
            self._write(rid)
        return {rid: tuple(blocks) for rid, blocks in self._blocks.items()}


def _rows_of_findings(findings: list[Finding]) -> list[Row]:
    return [finding_row(f) for f in findings]


def _fact_rows(results: list[list[tuple[Fact, Waiver | None]]]) -> list[list[tuple[Row, Any]]]:
    return [[(fact_row(f), w) for f, w in result] for result in results]


class ByFile:
    """The findings a spool holds for one file at a time, the few blocks read last kept
    (files come in print order, which is close to the order they were checked in). A
    block's repeated values are one object each as it is read (its rows were pickled
    together); they are not shared between blocks: a table of them would hold a large
    tree's messages and paths long after their findings are written."""

    __slots__ = ("_kept", "_spool")
    _KEEP = 8

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._kept: OrderedDict[int, dict[str, list[Finding]]] = OrderedDict()

    def findings(self, block: int, file: str) -> list[Finding]:
        grouped = self._kept.get(block)
        if grouped is None:
            grouped = {}
            for f in self._spool.findings(block):
                grouped.setdefault(f.file, []).append(f)
            self._kept[block] = grouped
            if len(self._kept) > self._KEEP:
                self._kept.popitem(last=False)
        else:
            self._kept.move_to_end(block)
        return grouped.get(file, [])


class Decided:
    """The findings of the cross-resource rules, written to a spool as they are decided,
    a batch at a time, each batch sorted by file (stably: a file's findings keep their
    order). Read back merged, one file at a time in print order: a batch is read when the
    merge reaches its first file and let go past its last, so a tree's decisions are never
    in memory at once when they come roughly in file order, as the facts they are decided
    on were collected."""

    __slots__ = ("_batch", "_blocks", "_spool")
    _BATCH = 256

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._batch: list[Finding] = []
        self._blocks: list[tuple[str, int]] = []  # first file, block

    def add(self, found: Finding) -> None:
        self._batch.append(found)
        if len(self._batch) == self._BATCH:
            self._write()

    def _write(self) -> None:
        batch = sorted(self._batch, key=_file_of)
        self._batch = []
        self._blocks.append((batch[0].file, self._spool.add_findings(batch)))

    def by_file(self) -> Iterator[tuple[str, list[Finding]]]:
        """Each file's findings, files in order, a file's in the order they were decided."""
        if self._batch:
            self._write()
        blocks = self._blocks
        waiting = sorted(range(len(blocks)), key=lambda i: blocks[i][0])
        # The batches read: each at its next file, with that file's findings. By file, then
        # by batch: a file's findings come in the order their batches were written.
        merge: list[tuple[str, int, list[Finding], Iterator[tuple[str, list[Finding]]]]] = []
        n = 0
        while True:
            # Every batch that starts at or before the least file read is read first.
            if n < len(waiting) and (not merge or blocks[waiting[n]][0] <= merge[0][0]):
                i = waiting[n]
                n += 1
                groups = _groups(self._spool.findings(blocks[i][1]))
                file, found = next(groups)
                heapq.heappush(merge, (file, i, found, groups))
                continue
            if not merge:
                return
            file = merge[0][0]
            out: list[Finding] = []
            while merge and merge[0][0] == file:
                _, i, found, groups = heapq.heappop(merge)
                out += found
                following = next(groups, None)
                if following is not None:
                    heapq.heappush(merge, (following[0], i, following[1], groups))
            yield file, out


def _groups(findings: list[Finding]) -> Iterator[tuple[str, list[Finding]]]:
    """Findings sorted by file, a file's at a time."""
    for file, group in itertools.groupby(findings, key=_file_of):
        yield file, list(group)


def _file_of(f: Finding) -> str:
    return f.file


class Spooled(Held[Finding]):
    """Findings in print order, on disk: iterating reads one block at a time. `tally`
    adds them up, as they were written."""

    __slots__ = ("_blocks", "_count", "_size", "_spool", "tally")

    def __init__(
        self, spool: Spool, blocks: Sequence[int], count: int, size: int, tally: Tally
    ) -> None:
        self._spool = spool
        self._blocks = tuple(blocks)  # every one of `size` findings, but the last
        self._count = count
        self._size = size
        self.tally = tally

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Finding]:
        for block in self._blocks:
            yield from self._spool.findings(block)

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Finding]: ...
    def __getitem__(self, index: int | slice) -> Finding | Sequence[Finding]:
        if isinstance(index, slice):
            return tuple(self)[index]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        block, at = divmod(index, self._size)
        return self._spool.findings(self._blocks[block])[at]

    def __repr__(self) -> str:
        return f"<{self._count} findings on disk>"


class Collector:
    """Findings in print order, appended one file's at a time: in memory up to SPILL, then
    on disk in blocks of SPILL, added up as they are written there."""

    __slots__ = ("_blocks", "_count", "_held", "_size", "_spool", "_tally")

    def __init__(self, spool: Spool | None) -> None:
        self._spool = spool
        self._held: list[Finding] = []
        self._blocks: list[int] = []
        self._count = 0
        self._size = SPILL
        self._tally = Tally()

    def extend(self, findings: Iterable[Finding]) -> None:
        held = self._held
        before = len(held)
        held += findings
        self._count += len(held) - before
        while self._spool is not None and len(self._held) >= self._size:
            self._write(self._spool)

    def _write(self, spool: Spool) -> None:
        # Added up as they go to the spool (a report held here is added up by a pass).
        block, self._held = self._held[: self._size], self._held[self._size :]
        self._tally.extend(block)
        self._blocks.append(spool.add_findings(block))

    def done(self) -> Sequence[Finding]:
        if self._spool is None or not self._blocks:
            return tuple(self._held)
        if self._held:
            self._write(self._spool)
        return Spooled(self._spool, self._blocks, self._count, self._size, self._tally)


def tally_of(findings: Iterable[Finding]) -> Tally:
    """What `findings` add up to: added up as they were written when they are on disk,
    else by a pass over them (in memory, a pass costs little)."""
    if isinstance(findings, Spooled):
        return findings.tally
    return Tally.of(findings)
