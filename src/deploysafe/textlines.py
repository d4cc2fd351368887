"""A file's lines, split once: its text reading and its Kubernetes reading share them, and
the secrets rules get the text back without joining the lines again (each is a pass over
every byte of the tree)."""

from __future__ import annotations

from collections.abc import Sequence

# Where str.splitlines breaks a line besides "\n".
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


class _Last:
    """The last text split here and its lines (one slot per process: a file's readings
    are built one after another)."""

    text: str | None = None
    lines: list[str] | None = None
    plain: bool | None = None  # whether `text` breaks lines with "\n" only (found once)


def lines_of(text: str) -> list[str]:
    """`text.splitlines()`: the same list for the same text object as the last call."""
    if _Last.text is not text or _Last.lines is None:
        _Last.text, _Last.lines, _Last.plain = text, text.splitlines(), None
    return _Last.lines


def joined(lines: Sequence[str]) -> str:
    """`"\\n".join(lines)`; for the lines of the last text split here, that text itself
    (less a final newline) when it breaks lines with "\\n" only."""
    text = _Last.text
    if lines is not _Last.lines or text is None:
        return "\n".join(lines)
    if newlines_only(text):
        return text[:-1] if text.endswith("\n") else text
    return "\n".join(lines)


def newlines_only(text: str) -> bool:
    """Whether `text` breaks its lines with "\\n" alone, of all the breaks splitlines knows."""
    lines = _Last.lines
    if _Last.text is not text or lines is None:
        return not any(c in text for c in _OTHER_BREAKS)
    if _Last.plain is None:
        # Two passes over the text rather than one per kind of break: its "\n"s are all
        # its breaks when they are as many as the lines split from it say.
        ends = text.endswith("\n")
        _Last.plain = not text or (
            (ends or text[-1] not in _OTHER_BREAKS)
            and "\r" not in text
            and text.count("\n") == len(lines) - (0 if ends else 1)
        )
    return _Last.plain
