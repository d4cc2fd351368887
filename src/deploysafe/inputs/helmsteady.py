"""A chart that draws random values when it renders (`randAlphaNum`, `uuidv4`, `genCA`, ...)
gives other output each time: other object names, so other fingerprints (a baseline, a pull
request's new findings and the render cache would each see new findings every run), and
values that look like committed secrets but are made at install time.

Such a chart is rendered twice and the two outputs compared line by line: what differs was
drawn, and is written as `x`s of the same length in both (a name stays a valid name, and
the same from run to run), its lines reported so that rules know the values there are made
at install time. Outputs whose lines do not pair up (a drawn value that changes how many
lines a template writes) are kept as the first render gave them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from deploysafe.model import KeyPath

# Sprig's functions that draw anew at each render (not `lookup`: offline it finds nothing).
DRAWS = re.compile(
    r"\b(?:randAlphaNum|randAlpha|randNumeric|randAscii|randBytes|randInt|uuidv4|"
    r"genPrivateKey|genCA|genCAWithKey|genSelfSignedCert|genSelfSignedCertWithKey|"
    r"genSignedCert|genSignedCertWithKey)\b"
)
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
            if "{{" in text and DRAWS.search(text):
                return True
    return False


def steady(first: Sources, second: Sources) -> tuple[Sources, dict[str, list[int]]]:
    """`first` with what differs from `second` written as `x`s, and per template the
    1-based lines of its text where it did."""
    if [name for name, _ in first] != [name for name, _ in second]:
        return first, {}
    out: Sources = []
    drawn: dict[str, list[int]] = {}
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
                x = _masked(x, y)
                drawn.setdefault(name, []).append(number)
            lines.append(x)
        out.append((name, "\n".join(lines)))
    return out, drawn


def _masked(a: str, b: str) -> str:
    """`a` with the part that differs from `b` (between their common ends) as `x`s."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return a[:start] + "x" * (len(a) - start - end) + a[len(a) - end :]


def generated(
    positions: Mapping[KeyPath, tuple[int, int]], lines: Sequence[int]
) -> frozenset[KeyPath]:
    """The key paths of a rendered document whose values are on drawn lines."""
    drawn = set(lines)
    return frozenset(path for path, (line, _) in positions.items() if path and line in drawn)
