"""Files are checked in worker processes (both cores), in chunks of roughly equal work;
only small results come back, so memory stays flat however large the tree is. Each file is
parsed once: the namespaces the files define are found first, by the workers too, by a
search of their bytes (only a file with a top-level `kind: Namespace` is parsed for them),
so that no object is judged before its namespace's labels are known. The workers search
the files as discovery finds them, and size them for the chunks as they go."""

from __future__ import annotations

import functools
import gc
import itertools
import os
import pickle
import stat
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from deploysafe.engine.check import Partial, check_file
from deploysafe.engine.interned import Interned, Packed, pack, unpack
from deploysafe.engine.namespaces import NamespacePolicy, defines_namespaces, namespaces_of_file
from deploysafe.engine.read import Job, read_bytes
from deploysafe.engine.settings import Settings, rules_of
from deploysafe.engine.spool import Spool
from deploysafe.host.memory import large_tree, map_large_blocks, release_after
from deploysafe.inputs.discover import YAML_SUFFIXES, Inventory
from deploysafe.model import ScanError
from deploysafe.pathnames import Texts, packed, unpacked

if TYPE_CHECKING:  # imported where the workers start: a small tree's scan never needs them
    from concurrent.futures import Future, ProcessPoolExecutor

_CHUNK_FILES = 48
# Each file's size is held in an array of this type (a large tree's are hundreds of
# thousands, held while its files are checked); a file larger than it holds counts as
# the largest, far past any chunk's bytes and any file a scan reads.
SIZE = "I"
_LARGEST = 2 ** (8 * array(SIZE).itemsize) - 1
T = TypeVar("T")


def _chunk_worker(s: Settings, files: Sequence[Job]) -> Packed:
    out = Partial()
    rules = rules_of(s)
    for path, display, mode, place in files:
        try:
            check_file(path, display, s, rules, out, mode=mode, place=place)
        except Exception as exc:  # a bug must cost one file, not the scan
            deep = isinstance(exc, RecursionError | MemoryError)
            why = "nested too deeply or too large to check" if deep else "internal error"
            message = f"{why} ({type(exc).__name__}); not checked"
            out.errors.append(ScanError(display, None, message))
    return pack(out)


class Workers:
    """Worker processes forked when a scan starts, before the parent holds the tree's
    records: forked later, each would share the parent's pages and copy every one it
    writes to (at 10x the corpus, 10 MB more a worker). Started where processes are forked
    (not on Windows: `spawn` starts them afresh anyway), only when a scan may need them."""

    __slots__ = ("count", "pool")

    def __init__(self, pool: ProcessPoolExecutor, count: int) -> None:
        self.pool = pool
        self.count = count

    @classmethod
    def start(cls, jobs: int | None) -> Workers | None:
        count = jobs if jobs is not None else (os.cpu_count() or 1)
        if count <= 1 or os.name != "posix":
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=count, mp_context=multiprocessing.get_context("fork")
        )
        pool.submit(_nothing)  # the processes are forked now, not at the first chunk
        return cls(pool, count)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def search(self, root: Path, max_size: int) -> Search:
        """A search of the files discovered under the scan root `root`, given to it as
        they are found."""
        return Search(self.pool, root, max_size)


class Search:
    """The workers' search of the discovered files, in parts of `SEARCH_FILES` or more as
    discovery finds them (it runs while this process discovers, plans and renders): the
    Namespaces they define, and each file's size (chunks are cut by bytes). Each part
    holds its paths packed in one object (past a small tree's first `SEARCH_LOOSE`)."""

    __slots__ = ("_max_size", "_parts", "_pool", "_root", "_sent")

    def __init__(self, pool: ProcessPoolExecutor, root: Path, max_size: int) -> None:
        self._pool = pool
        self._root = root
        self._max_size = max_size
        self._parts: list[Future[Searched]] = []
        self._sent = 0

    def more(self, files: Sequence[str], *, last: bool = False) -> None:
        """Search the files after those given before: whole parts of them, or, `last`,
        every one. Parts grow with the tree (up to `SEARCH_MOST`): each waits here, packed,
        until a worker takes it, with its result after (a large tree's 2,500 parts of 128
        were 8 MB)."""
        n = len(files)
        while self._sent < n:
            size = max(SEARCH_FILES, min(SEARCH_MOST, self._sent // 16))
            if not last and n - self._sent < size:
                break
            end = min(self._sent + size, n)
            paths = list(files[self._sent : end])
            part = packed(paths) if end > SEARCH_LOOSE else paths
            large = large_tree(end)
            self._parts.append(self._pool.submit(_search, part, self._root, self._max_size, large))
            self._sent = end

    def __call__(self) -> Searched:
        """What every part found, once each is searched (asked once: the parts go)."""
        found: dict[str, NamespacePolicy] = {}
        sizes = array(SIZE)
        parts, self._parts = self._parts, []
        for part in parts:  # in file order: a later definition wins, as in one process
            more, sized = part.result()
            found.update(more)
            sizes += sized
        release_after(self._sent)  # the parts' paths, let go as they were searched
        return found, sizes


def _search(part: bytes | list[str], root: Path, max_size: int, large: bool) -> Searched:
    if large:  # past a large tree's first files: as the check of its files does
        map_large_blocks()
    sizes = array(SIZE)
    paths = unpacked(part) if isinstance(part, bytes) else part
    found = _defined_namespaces(paths, functools.partial(_shown, root), max_size, sizes)
    return found, sizes


def _shown(root: Path, path: str) -> str:
    """A file's path as the scan shows it (a file's folder decides its install namespace):
    made only for the few files parsed for their Namespaces."""
    return Inventory(root).display(path)


# The Namespaces the files define, and each file's size, in file order.
Searched = tuple[dict[str, NamespacePolicy], "array[int]"]
SEARCH_FILES = 128
SEARCH_MOST = 4096
# The parts of a tree's first files are sent as they are: a small tree's few hundred KB of
# paths are not worth compressing (`Texts.LOOSE` blocks of them).
SEARCH_LOOSE = Texts.LOOSE * Texts.BLOCK


def _nothing() -> None:
    """A first task, so that the pool forks its processes."""


# A worker's settings: each chunk carries them pickled, with a key; a worker unpickles
# them once per scan (0.5 ms and the detector's 88 token types a chunk otherwise).
_received: list[tuple[int, Settings]] = []


def _check_chunk(key: int, settings: bytes, large: bool, files: Sequence[Job]) -> Packed:
    if not _received or _received[0][0] != key:
        _received[:] = [(key, pickle.loads(settings))]  # from the parent
        if large:
            map_large_blocks()
    return _chunk_worker(_received[0][1], files)


def _sizes(files: Iterable[Job]) -> array[int]:
    sizes = array(SIZE)
    for job in files:
        try:
            sizes.append(min(os.stat(job[0]).st_size, _LARGEST))
        except OSError:
            sizes.append(0)
    return sizes


def _chunks(files: Iterable[Job], sizes: Sequence[int], n: int) -> Iterator[list[Job]]:
    """Chunks of roughly equal bytes, many more than workers, so both stay busy."""
    total = sum(sizes) or 1
    # Bytes are a poor measure of work (CRD bytes are skipped, small manifests are parsed
    # and checked), so chunks are also capped by file count.
    target = max(total // (n * 32), 64 * 1024)
    chunk: list[Job] = []
    acc = 0
    for size, job in zip(sizes, files, strict=True):
        chunk.append(job)
        acc += size
        if acc >= target or len(chunk) >= _CHUNK_FILES:
            yield chunk
            chunk, acc = [], 0
    if chunk:
        yield chunk


def check_files(
    files: Sequence[Job],
    s: Settings,
    jobs: int | None,
    done: Callable[[Partial], None] | None = None,
    spool: Spool | None = None,
    workers: Workers | None = None,
    defined: Callable[[], Searched] | None = None,
    meanwhile: Callable[[Settings], Iterator[None]] | None = None,
) -> tuple[Partial, Settings]:
    """Check `files`, each parsed once; `done` is told of each part as it arrives (a chunk
    of files). `s` knows the namespaces found before (in renders); the ones the files define
    are found first. Returned: the result, and `s` with every namespace. With `spool`, the
    findings go there as they arrive (the result says where), not into memory. `workers`
    were started for this scan (else processes are started here, if the tree needs them);
    `defined`, the namespaces the files define and their sizes, from a search of them
    started before;
    `meanwhile`, work of this process that needs the settings with every namespace, done in
    steps while the workers check (in this process: after the files)."""
    out, s = _check_files(files, s, jobs, done, spool, workers, defined, meanwhile)
    if spool is not None:
        out.fact_blocks = spool.fact_blocks()
    return out, s


def _check_files(
    files: Sequence[Job],
    s: Settings,
    jobs: int | None,
    done: Callable[[Partial], None] | None,
    spool: Spool | None,
    workers: Workers | None,
    defined: Callable[[], Searched] | None,
    meanwhile: Callable[[Settings], Iterator[None]] | None,
) -> tuple[Partial, Settings]:
    count = workers.count if workers is not None else jobs
    count = count if count is not None else (os.cpu_count() or 1)
    found, sizes = defined() if defined is not None else (None, array(SIZE))
    if count > 1 and len(sizes) != len(files):
        sizes = _sizes(files)  # unsized by a search: one stat per file, for both decisions
    out = Partial()
    seen = Interned()
    # Processes pay off only for real trees; small scans stay in-process.
    if count <= 1 or sum(sizes) < 2 * 1024 * 1024:
        if found is None:
            found = _namespaces_of_jobs(files, s.max_file_size)
        s = _with_namespaces(s, found)
        # In chunks, so that each tells how far the scan has got.
        for at in range(0, len(files), _CHUNK_FILES):
            chunk = files[at : at + _CHUNK_FILES]
            _take(out, _chunk_worker(s, chunk), seen, done, spool)
        for _ in meanwhile(s) if meanwhile is not None else ():
            pass
        return out, s
    chunks = functools.partial(_chunks, files, sizes, count)
    # A large tree's workers read many large files: each block of them is given back as it
    # is freed (a small tree's few would only pay the page faults of fresh mappings).
    large = large_tree(len(files))
    if large:
        map_large_blocks()  # here too, for workers forked from now on
    if workers is not None:
        return _in_workers(
            workers.pool, count, chunks, s, out, seen, done, spool, found, meanwhile, large
        )
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    # Forked now, a worker shares the parent's pages until it writes to one, and a
    # collection there writes to every object it traverses: frozen, the parent's objects
    # are not traversed. A command that froze its imports unfreezes everything when it
    # ends; a caller that did not gets its objects back here.
    thawed = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=count, mp_context=ctx) as pool:
            return _in_workers(
                pool, count, chunks, s, out, seen, done, spool, None, meanwhile, large
            )
    finally:
        if thawed:
            gc.unfreeze()


def _in_workers(
    pool: ProcessPoolExecutor,
    count: int,
    chunks: Callable[[], Iterator[list[Job]]],
    s: Settings,
    out: Partial,
    seen: Interned,
    done: Callable[[Partial], None] | None,
    spool: Spool | None,
    found: dict[str, NamespacePolicy] | None = None,
    meanwhile: Callable[[Settings], Iterator[None]] | None = None,
    large: bool = False,
) -> tuple[Partial, Settings]:
    # The workers search the files for Namespaces first (in file order, so a later
    # definition wins as it does in one process), then check them knowing all of them.
    if found is None:
        found = {}
        find = functools.partial(_namespaces_of_jobs, max_size=s.max_file_size)
        for more in _ordered(pool, count, find, chunks()):
            found.update(more)
    s = _with_namespaces(s, found)
    settings = pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL)
    check = functools.partial(_check_chunk, next(_keys), settings, large)
    steps = meanwhile(s) if meanwhile is not None else None
    for part in _ordered(pool, count, check, chunks(), steps):
        _take(out, part, seen, done, spool)
    for _ in steps or ():  # what the workers' pace left
        pass
    return out, s


def _ordered(
    pool: ProcessPoolExecutor,
    workers: int,
    fn: Callable[[list[Job]], T],
    chunks: Iterator[list[Job]],
    idle: Iterator[None] | None = None,
) -> Iterator[T]:
    """`fn` of each chunk in the workers, in order. A few chunks per worker are sent ahead,
    not all (as `pool.map` does): a chunk's jobs are built when it is sent, so the parent
    never holds the tree's. While a result is not there yet, this process takes steps of
    `idle`."""
    ahead = 4 * workers
    pending: deque[Future[T]] = deque()

    def first() -> T:
        nonlocal idle
        fut = pending.popleft()
        while idle is not None and not fut.done():
            if next(idle, _DONE) is _DONE:
                idle = None
        return fut.result()

    for chunk in chunks:
        pending.append(pool.submit(fn, chunk))
        if len(pending) >= ahead:
            yield first()
    while pending:
        yield first()


_DONE = object()


_keys = itertools.count(1)


def _with_namespaces(s: Settings, defined: dict[str, NamespacePolicy]) -> Settings:
    """`s` knowing the namespaces the files define; those known from renders win."""
    if any(k not in s.namespaces for k in defined):
        return replace(s, namespaces={**defined, **s.namespaces})
    return s


def _take(
    out: Partial,
    packed: Packed,
    seen: Interned,
    done: Callable[[Partial], None] | None,
    spool: Spool | None,
) -> None:
    """Add a chunk's result to `out`."""
    if spool is not None and packed.facts:
        spool.add_facts(packed.fact_rows())
        packed = replace(packed, facts=b"")
    spooled = spool is not None and packed.count > 0
    part = unpack(packed, seen, findings=not spooled)
    if spool is not None and spooled:
        block = spool.add_sent(packed.findings, packed.count, seen)
        part.spooled = packed.count
        part.blocks.add(packed.files, block)
    out.merge(part)
    if done is not None:
        done(part)


def _namespaces_of_jobs(files: Sequence[Job], max_size: int) -> dict[str, NamespacePolicy]:
    shown = {job[0]: job[1] for job in files}
    return _defined_namespaces([job[0] for job in files], shown.__getitem__, max_size)


def _defined_namespaces(
    paths: Iterable[str],
    shown: Callable[[str], str],
    max_size: int,
    sizes: array[int] | None = None,
) -> dict[str, NamespacePolicy]:
    """The namespaces (with Pod Security labels) the files define, before any object is
    judged: a byte search of each file (from the page cache), and a parse of the few that
    hold a top-level `kind: Namespace` (`shown` names them as the scan shows them).
    `sizes` is given each file's size, as `_sizes` finds them."""
    found: dict[str, NamespacePolicy] = {}
    for path in paths:
        defines = path.endswith(YAML_SUFFIXES)  # only YAML and JSON files define objects
        if not defines and sizes is None:
            continue
        try:
            st = os.stat(path)
        except OSError:
            if sizes is not None:
                sizes.append(0)
            continue  # the check reports it
        if sizes is not None:
            sizes.append(min(st.st_size, _LARGEST))
        # Only regular files: opening a named pipe would wait for a writer forever.
        if not defines or not stat.S_ISREG(st.st_mode) or st.st_size > max_size:
            continue
        try:
            raw = read_bytes(path, st.st_size)
        except OSError:
            continue  # the check reports it
        if defines_namespaces(raw, path, max_size):
            found.update(namespaces_of_file(raw, shown(path)))
    return found
