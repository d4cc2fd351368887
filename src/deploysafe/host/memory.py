"""Memory a process has freed, given back to the system. Python's allocator keeps what it
frees for reuse: after a phase that held a large tree's records for a while (discovery's
listing, the plan's paths), a long-running process would otherwise keep that peak for the
rest of its life, and each forked worker its own."""

from __future__ import annotations

import contextlib
import functools
import gc
import sys
from collections.abc import Callable, Iterator


@functools.cache
def _libc(name: str) -> Callable[..., int] | None:
    """A function of glibc (`malloc_trim`, `mallopt`), where the C library has it (not
    musl, macOS or Windows)."""
    if sys.platform != "linux":
        return None
    import ctypes

    try:  # the symbols the process has loaded, the C library's among them
        fn: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    return fn


def _trim() -> Callable[[int], int] | None:
    return _libc("malloc_trim")


# Files a phase handled past which what it freed is given back as it ends: a smaller tree's
# is a few MB, not worth a call.
LARGE = 20_000


def large_tree(files: int) -> bool:
    """Whether a tree of `files` files is large: its phases give back what they freed."""
    return files >= LARGE


def release_after(files: int) -> None:
    """`release`, once a phase that handled `files` files ends: only a large tree's pay."""
    if large_tree(files):
        release()


def release() -> None:
    """Return the free pages of the C heap to the system (a few ms on a large heap)."""
    trim = _trim()
    if trim is not None:
        trim(0)


# glibc's `mallopt` parameter: the size from which a block has a mapping of its own.
_M_MMAP_THRESHOLD = -3
# That size, glibc's default at start (128 KB).
MAPPED = 128 * 1024


def map_large_blocks() -> None:
    """Keep each block of `MAPPED` bytes or more in a mapping of its own, given back as it
    is freed, in this process and those it forks after. glibc starts so, but raises the
    size to that of each mapped block freed (a large file's text, one of its lines): the
    blocks of that size then come from the heap, and a process that reads many large
    files (a worker of a large tree's scan) keeps growing it, fragmented. Set, the size
    is no longer raised."""
    mallopt = _libc("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MAPPED)


@contextlib.contextmanager
def lasting() -> Iterator[None]:
    """Around imports, whose objects live as long as the process: the collector does not
    run while they are made, and they go to the oldest generation after, where only a full
    collection looks at them. Otherwise collections during a scan's imports traverse them
    over and over (15 ms of 250), and the first one after would traverse all of them at
    once (as long)."""
    enabled = gc.isenabled()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # then unfrozen: every object is moved to the oldest generation
        if frozen == 0:  # else the caller's freeze holds them
            gc.unfreeze()
        if enabled:
            gc.enable()
