import gc
import subprocess
import sys
from pathlib import Path

import pytest

from deploysafe.host import memory


def _resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


@pytest.mark.skipif(memory._trim() is None, reason="no malloc_trim in this C library")
def test_release_gives_back_the_free_pages_between_blocks_still_held() -> None:
    # 2 KB objects come from the C heap; every 64th kept pins the heap's top, so the
    # pages freed below it stay the process's until released.
    blocks = [bytes(2048) + bytes([i % 256]) for i in range(32_768)]
    kept = blocks[::64]
    del blocks
    before = _resident_mb()
    memory.release()
    assert _resident_mb() < before - 32
    memory.release()  # nothing more to give: no error
    assert len(kept) == 512


def test_release_is_a_no_op_where_the_c_library_cannot_trim() -> None:
    if sys.platform != "linux":
        assert memory._trim() is None
    memory.release()


# In a process of its own: glibc has raised its threshold there (an 8 MB block freed),
# then 1 MB blocks are made, each followed by one that stays.
_LARGE_BLOCKS = """
from pathlib import Path
from deploysafe.host import memory

def resident():
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

memory.map_large_blocks()
big = bytearray(8 << 20)
del big
blocks, kept = [], []
for _ in range(48):
    blocks.append(bytearray(1 << 20))
    kept.append(bytearray(2048))
before = resident()
del blocks
print(before - resident())
"""


@pytest.mark.skipif(memory._libc("mallopt") is None, reason="no mallopt in this C library")
def test_large_blocks_mapped_are_given_back_as_they_are_freed() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LARGE_BLOCKS], capture_output=True, text=True, check=True
    )
    # 48 MB freed among blocks still held (glibc's own way keeps them all in the heap)
    assert float(out.stdout) > 40


def test_what_is_made_lasting_goes_to_the_oldest_generation_uncollected() -> None:
    assert gc.get_freeze_count() == 0
    collections = gc.get_stats()
    try:
        with memory.lasting():
            assert not gc.isenabled()
            made = [[n] for n in range(10_000)]  # young enough for 14 collections
        assert gc.get_stats() == collections
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0 and gc.get_count()[0] < 100  # none left young
        assert gc.is_tracked(made[0]) and len(made) == 10_000
        gc.freeze()  # a caller's freeze holds what is made meanwhile
        with memory.lasting():
            more = [[n] for n in range(1000)]
        assert gc.get_freeze_count() >= len(made) + len(more)
        gc.unfreeze()
        gc.disable()  # a caller that turned the collector off keeps it off
        with memory.lasting():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
