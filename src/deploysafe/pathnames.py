"""A file's name and suffix from its path as text, the answers `PurePosixPath` gives: asked
several times for every file of a tree, where building a path object costs more than the
question. And many paths held as a few objects (`Texts`)."""

from __future__ import annotations

import bisect
import heapq
import marshal
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any, overload


def name_of(path: str) -> str:
    """`PurePosixPath(path).name`."""
    if _odd(path):
        return PurePosixPath(path).name
    return path.rpartition("/")[2]


def _odd(path: str) -> bool:
    """A path that pathlib normalises before naming its parts (`a//b`, `./a`, `a/`)."""
    return (
        path.endswith(("/", "/.")) or "//" in path or "/./" in path or path.startswith("./")
    ) or path in (".", "")


def suffix_of(name: str) -> str:
    """`PurePosixPath(name).suffix` of a file name (no folder): from its last dot, unless
    the dot starts or ends the name."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def parent_names(path: str, n: int) -> tuple[str, ...]:
    """The names of the `n` folders above the file, nearest first ("" past the top):
    `PurePosixPath(path).parent.name`, `.parent.parent.name`..."""
    if _odd(path):
        p = PurePosixPath(path)
        return tuple(p.parents[i].name if i < len(p.parents) else "" for i in range(n))
    parts = path.split("/")[-n - 1 : -1]
    return tuple(reversed(parts)) + ("",) * (n - len(parts))


class Texts(Sequence[str]):
    """Strings held as a few objects rather than one each: a large tree's paths are
    hundreds of thousands of strings, the most of a scan's memory and, freed among the
    objects that outlive them, memory the allocator cannot give back. They are kept in
    blocks of `BLOCK`, each marshalled and compressed once full (paths from one tree share
    most of their text: a tenth of their size); the block last read is kept unpacked, so
    reading in order unpacks each block once. Up to `LOOSE` full blocks are kept as they
    are, and packed once there are more: a small tree's strings are a few hundred KB, where
    packing and unpacking them costs more time than the memory is worth."""

    __slots__ = ("_blocks", "_firsts", "_open", "_read")
    BLOCK = 1024
    LOOSE = 8

    def __init__(self, items: Iterable[str] = ()) -> None:
        # Each full block: packed, or, while there are at most `LOOSE`, its strings.
        self._blocks: list[bytes | list[str]] = []
        self._firsts: list[str] = []  # each full block's first string
        self._open: list[str] = []  # the last block, until it is full
        # The block last read, with its number: one object, replaced whole, so threads
        # that read the same texts never see one block's number with another's strings.
        self._read: tuple[int, list[str]] = (-1, [])
        for s in items:
            self.append(s)

    def append(self, s: str) -> None:
        self._open.append(s)
        if len(self._open) == self.BLOCK:
            self._firsts.append(self._open[0])
            self._blocks.append(self._open)
            self._open = []
            if len(self._blocks) > self.LOOSE:
                self._blocks = [b if isinstance(b, bytes) else packed(b) for b in self._blocks]

    def extend(self, items: Iterable[str]) -> None:
        for s in items:
            self.append(s)

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK + len(self._open)

    def _block(self, b: int) -> list[str]:
        if b == len(self._blocks):
            return self._open
        block = self._blocks[b]
        if not isinstance(block, bytes):
            return block
        at, read = self._read
        if at != b:
            read = unpacked(block)
            self._read = (b, read)
        return read

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            out: list[str] = []
            while start < stop:  # a block at a time
                b, at = divmod(start, self.BLOCK)
                part = self._block(b)[at : at + stop - start]
                out += part
                start += len(part)
            return out
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("Texts index out of range")
        return self._block(index // self.BLOCK)[index % self.BLOCK]

    def __iter__(self) -> Iterator[str]:
        for block in self._blocks:
            yield from unpacked(block) if isinstance(block, bytes) else block
        yield from list(self._open)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} texts>"

    def __reduce__(self) -> tuple[Any, ...]:
        return list, (list(self),)  # another process gets the strings themselves

    def find(self, s: str) -> int:
        """Where `s` is in strings appended in sorted order (a bisection of the blocks'
        first strings, then of one block), or -1."""
        b = bisect.bisect_right(self._firsts, s) - 1
        if self._open and s >= self._open[0]:
            b = len(self._blocks)
        if b < 0:
            return -1
        block = self._block(b)
        at = bisect.bisect_left(block, s)
        return b * self.BLOCK + at if at < len(block) and block[at] == s else -1


def packed(texts: list[str]) -> bytes:
    """Strings as one compressed object (any text: a NUL too)."""
    return zlib.compress(marshal.dumps(texts), 1)


def unpacked(data: bytes) -> list[str]:
    texts: list[str] = marshal.loads(zlib.decompress(data))
    return texts


def sorted_texts(items: Iterable[str], *, unique: bool = False) -> Texts:
    """`items` in sorted order (each once, `unique`), sorted a run of `RUN` at a time and
    merged: never more than a run's strings at once."""
    runs: list[Texts] = []
    run: list[str] = []
    for s in items:
        run.append(s)
        if len(run) == _RUN:
            run.sort()
            runs.append(Texts(run))
            run = []
    run.sort()
    merged: Iterable[str] = heapq.merge(*runs, run) if runs else run
    out = Texts()
    last = None
    for s in merged:
        if not (unique and s == last):
            out.append(s)
        last = s
    return out


def grouped(texts: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
    """Texts of a key, a NUL and a value, sorted (a key sorts before any longer one it
    starts, as the NUL is the least character): each key once, with its values in order."""
    key: str | None = None
    values: list[str] = []
    for text in texts:
        k, _, value = text.rpartition("\0")
        if k != key:
            if key is not None:
                yield key, values
            key, values = k, []
        values.append(value)
    if key is not None:
        yield key, values


# Strings sorted at once by `sorted_texts` (a few MB of them).
_RUN = 1 << 15
