"""Files are checked in worker processes (both cores), in chunks of roughly equal work;
only small results come back, so memory stays flat however large the tree is."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from deploysafe.engine.check import Partial, check_file
from deploysafe.engine.read import Job
from deploysafe.engine.settings import Settings, rules_of
from deploysafe.model import ScanError

_CHUNK_FILES = 48


def _chunk_worker(s: Settings, files: Sequence[Job]) -> Partial:
    out = Partial()
    rules = rules_of(s)
    for path, display, mode, place in files:
        try:
            check_file(Path(path), display, s, rules, out, mode=mode, place=place)
        except Exception as exc:  # a bug must cost one file, not the scan
            deep = isinstance(exc, RecursionError | MemoryError)
            why = "nested too deeply or too large to check" if deep else "internal error"
            message = f"{why} ({type(exc).__name__}); not checked"
            out.errors.append(ScanError(display, None, message))
    return out


def _sized(files: Sequence[Job]) -> list[tuple[int, Job]]:
    sized = []
    for job in files:
        try:
            sized.append((os.stat(job[0]).st_size, job))
        except OSError:
            sized.append((0, job))
    return sized


def _chunks(sized: Sequence[tuple[int, Job]], n: int) -> Iterator[list[Job]]:
    """Chunks of roughly equal bytes, many more than workers, so both stay busy."""
    total = sum(size for size, _ in sized) or 1
    # Bytes are a poor measure of work (CRD bytes are skipped, small manifests are parsed
    # and checked), so chunks are also capped by file count.
    target = max(total // (n * 32), 64 * 1024)
    chunk: list[Job] = []
    acc = 0
    for size, job in sized:
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
) -> Partial:
    """Check `files`; `done` is told of each part as it is merged (a chunk of files)."""
    out = Partial()
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    sized = _sized(files) if workers > 1 else []  # one stat per file, for both decisions
    # Processes pay off only for real trees; small scans stay in-process.
    if workers <= 1 or sum(size for size, _ in sized) < 2 * 1024 * 1024:
        # In chunks only for someone watching: each tells how far the scan has got.
        step = _CHUNK_FILES if done is not None else max(len(files), 1)
        for at in range(0, len(files), step):
            part = _chunk_worker(s, files[at : at + step])
            out.merge(part)
            if done is not None:
                done(part)
        return out
    import multiprocessing

    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for part in pool.map(_chunk_worker, itertools.repeat(s), _chunks(sized, workers)):
            out.merge(part)
            if done is not None:
                done(part)
    return out
