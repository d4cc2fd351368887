"""A chart that draws random values when it renders (`randAlphaNum`, `uuidv4`, `genCA`, ...)
gives other output each time: other object names, so other fingerprints (a baseline, a pull
request's new findings and the render cache would each see new findings every run), and
values that look like committed secrets but are made at install time.

Such a chart is rendered twice and the two outputs compared line by line: what differs was
drawn, and is written as `x`s of the same length in both (a name stays a valid name, and
the same from run to run), and where on its line each drawn part starts, so that rules know
the value there is made at install time (not the others on that line). Outputs whose lines
do not pair up (a drawn value that changes how many lines a template writes) are kept as
the first render gave them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from deploysafe.model import KeyPath
from deploysafe.secrets.install import DRAWS

_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl", ".txt", ".json")

Sources = list[tuple[str, str]]  # (template, its rendered text), as the engine gives them


def draws(chart: Path) -> bool:
    """Whether a template of the chart (or of a subchart) calls a drawing function."""
    for folder, _, names in os.walk(chart):
        for name in names:
            if not name.endswith(_TEMPLATE_SUFFIXES):
                continue
            try:
                text = (Path(folder) / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            # Not `lookup`: offline it finds nothing, the same each time.
            if "{{" in text and DRAWS.search(text):
                return True
    return False


Drawn = dict[str, list[tuple[int, int]]]  # per template: (line, column) of each drawn part


def steady(first: Sources, second: Sources) -> tuple[Sources, Drawn]:
    """`first` with what differs from `second` written as `x`s, and per template the
    1-based line and column of its text where each difference starts."""
    if [name for name, _ in first] != [name for name, _ in second]:
        return first, {}
    out: Sources = []
    drawn: Drawn = {}
    for (name, a), (_, b) in zip(first, second, strict=True):
        if a == b:
            out.append((name, a))
            continue
        lines_a, lines_b = a.split("\n"), b.split("\n")
        if len(lines_a) != len(lines_b):
            out.append((name, a))
            continue
        lines = []
        for number, (x, y) in enumerate(zip(lines_a, lines_b, strict=True), 1):
            if x != y:
                x, at = _masked(x, y)
                drawn.setdefault(name, []).append((number, at + 1))
            lines.append(x)
        out.append((name, "\n".join(lines)))
    return out, drawn


def _masked(a: str, b: str) -> tuple[str, int]:
    """`a` with the part that differs from `b` as `x`s, and where that part starts: between
    their common ends, widened to the whole run of letters, digits and base64 signs around
    it (two draws may begin or end with the same character by chance, one in 36 for each
    end of a lowercase name: the mask must not depend on it)."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    while start > 0 and _DRAWN_CHARS.fullmatch(a[start - 1]):
        start -= 1
    while end > 0 and _DRAWN_CHARS.fullmatch(a[len(a) - end]):
        end -= 1
    return a[:start] + "x" * (len(a) - start - end) + a[len(a) - end :], start


_DRAWN_CHARS = re.compile(r"[A-Za-z0-9+/=]")


def generated(
    positions: Mapping[KeyPath, tuple[int, int]], drawn: Sequence[tuple[int, int]]
) -> frozenset[KeyPath]:
    """The key paths of a rendered document whose values hold a drawn part: on its line,
    the last key written before it. A flow mapping's other keys on that line hold what
    the chart wrote (a committed secret beside a drawn one is still reported)."""
    by_line: dict[int, list[tuple[int, int, KeyPath]]] = {}
    for path, (line, column) in positions.items():
        if path:
            by_line.setdefault(line, []).append((column, len(path), path))
    out = set()
    for line, at in drawn:
        before = [key for key in by_line.get(line, ()) if key[0] <= at]
        if before:
            out.add(max(before)[2])
    return frozenset(out)
