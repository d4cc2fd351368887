"""Line edits: the text path of a fix, for files that are not edited as YAML nodes
(Dockerfiles) and for the text inside a YAML scalar (a `run:` script).

Each edit names a line and the text the fix read there; it is applied only where the line
still reads that, with the line's own ending kept, so a file is either edited exactly as
planned or refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from deploysafe.fix.yamledit import EditRefused
from deploysafe.rules.base import LineEdit


def apply_lines(text: str, edits: Iterable[LineEdit]) -> str:
    """`text` (without a byte-order mark) with `edits` applied; EditRefused when a line no
    longer reads what its edit expects or two edits want different things of one line."""
    by_line: dict[int, LineEdit] = {}
    for edit in edits:
        known = by_line.setdefault(edit.line, edit)
        if known != edit:
            raise EditRefused(f"has two different fixes for line {edit.line}")
    if not by_line:
        return text
    lines = text.splitlines(keepends=True)
    for number in sorted(by_line, reverse=True):  # from the end, so numbers stay valid
        edit = by_line[number]
        if not 1 <= number <= len(lines):
            raise EditRefused(f"has no line {number}")
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        if body != edit.old:
            raise EditRefused(f"line {number} changed since it was read")
        if edit.new is None:
            del lines[number - 1]
        else:
            lines[number - 1] = edit.new + line[len(body) :]
    return "".join(lines)
