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
def _trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, where the C library has it (not musl, macOS or Windows)."""
    if sys.platform != "linux":
        return None
    import ctypes

    try:  # the symbols the process has loaded, the C library's among them
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return fn


# Files a phase handled past which what it freed is given back as it ends: a smaller tree's
# is a few MB, not worth a call.
LARGE = 20_000


def release_after(files: int) -> None:
    """`release`, once a phase that handled `files` files ends: only a large tree's pay."""
    if files >= LARGE:
        release()


def release() -> None:
    """Return the free pages of the C heap to the system (a few ms on a large heap)."""
    trim = _trim()
    if trim is not None:
        trim(0)


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
