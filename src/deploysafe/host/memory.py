"""Memory a process has freed, given back to the system. Python's allocator keeps what it
frees for reuse: after a phase that held a large tree's records for a while (discovery's
listing, the plan's paths), a long-running process would otherwise keep that peak for the
rest of its life, and each forked worker its own."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


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


def release() -> None:
    """Return the free pages of the C heap to the system (a few ms on a large heap)."""
    trim = _trim()
    if trim is not None:
        trim(0)
