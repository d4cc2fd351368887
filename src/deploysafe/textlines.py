"""A file's lines, split once: its text reading and its Kubernetes reading share them, and
the secrets rules get the text back without joining the lines again (each is a pass over
every byte of the tree)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

# Where str.splitlines breaks a line besides "\n".
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_ASCII_BREAKS = _OTHER_BREAKS[:6]  # those an ASCII text can hold (each `in` is a pass)


class _Last:
    """The last text split here and its lines (one slot per process: a file's readings
    are built one after another)."""

    text: str | None = None
    lines: list[str] | None = None
    plain: bool | None = None  # whether `text` breaks lines with "\n" only (found once)
    # `text` less its final newline: a copy of the file, which its text rules all ask for
    joined: str | None = None
    held: tuple[str, bool] | None = None  # a string `may_hold` looked for, and if it is there


def _current(text: str) -> None:
    if _Last.text is not text:
        _Last.text, _Last.lines, _Last.plain, _Last.joined = text, None, None, None
        _Last.held = None


def lines_of(text: str) -> list[str]:
    """`text.splitlines()`: the same list for the same text object as the last call."""
    _current(text)
    if _Last.lines is None:
        _Last.lines = text.splitlines()
    return _Last.lines


def lazy_lines_of(text: str) -> Sequence[str]:
    """`lines_of(text)`, split when first read: the text reading of a file whose lines
    nothing asks for (a CRD's schema, where no secret was found) never splits them."""
    _current(text)
    return _Last.lines if _Last.lines is not None else LazyLines(text)


class LazyLines(Sequence[str]):
    """A text's lines, split (by `lines_of`) when first read."""

    __slots__ = ("_lines", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None

    @property
    def split(self) -> bool:
        """Whether the lines were read (and so split)."""
        return self._lines is not None

    def _split(self) -> list[str]:
        if self._lines is None:
            self._lines = lines_of(self.text)
        return self._lines

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        return self._split()[i]

    def __len__(self) -> int:
        return len(self._split())

    def __iter__(self) -> Iterator[str]:
        return iter(self._split())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyLines):
            return self._split() == other._split()
        return self._split() == other

    __hash__ = None  # type: ignore[assignment]  # as a list: compared by its lines


def joined(lines: Sequence[str]) -> str:
    """`"\\n".join(lines)`; for the lines of the last text split here (or lines not split
    yet), that text itself (less a final newline) when it breaks lines with "\\n" only."""
    if isinstance(lines, LazyLines):
        text: str | None = lines.text
    else:
        text = _Last.text if lines is _Last.lines else None
    if text is not None and newlines_only(text):  # `text` is now the last text
        if not text.endswith("\n"):
            return text
        if _Last.joined is None:
            _Last.joined = text[:-1]
        return _Last.joined
    return "\n".join(lines)


def may_hold(lines: Sequence[str], needle: str) -> bool:
    """Whether a line of `lines` may hold `needle` (which holds no line break): False only
    for the lines of the last text split here (or lines not split yet) when that text does
    not hold it (searched once for all its documents)."""
    if isinstance(lines, LazyLines):
        text: str | None = lines.text
    else:
        text = _Last.text if lines is _Last.lines else None
    if text is None:
        return True
    _current(text)
    held = _Last.held
    if held is None or held[0] != needle:
        held = _Last.held = (needle, needle in text)
    return held[1]


def newlines_only(text: str) -> bool:
    """Whether `text` breaks its lines with "\\n" alone, of all the breaks splitlines knows
    (found once per text: its kind search and its joined text both ask)."""
    _current(text)
    if _Last.plain is None:
        breaks = _ASCII_BREAKS if text.isascii() else _OTHER_BREAKS
        _Last.plain = not any(c in text for c in breaks)
    return _Last.plain
