"""The one printable form of text from the repository: file names, keys, values, lines.

A file name is bytes on Linux: Python holds bytes that are not UTF-8 as lone surrogates
(surrogateescape), which no UTF-8 output can encode, and a name or a value may hold a
newline (a forged report line), an escape sequence (it drives the terminal), or a character
XML cannot carry. Every output shows such text through `printable`: those characters become
backslash escapes, everything else is kept as it is.
"""

from __future__ import annotations

import re

from deploysafe.lazy import on_first_use

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


_hostile = on_first_use(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape held it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` safe to print, to write as UTF-8, JSON or XML, on one line: a newline is `\\n`,
    a tab `\\t`, a byte that was not UTF-8 `\\xff`, another control `\\x1b`, a bidi or line
    separator `\\u202e`. A backslash is kept as it is: the form is for reading, not for
    naming the file again (fingerprints are taken from the name itself)."""
    # Every character escaped is one Python does not call printable: most text is kept
    # whole after one pass in C.
    if text.isprintable():
        return text
    return _hostile().sub(_escape, text)
