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
    if _Last.plain is None:
        _Last.plain = not any(c in text for c in _OTHER_BREAKS)
    if _Last.plain:
        return text[:-1] if text.endswith("\n") else text
    return "\n".join(lines)
