"""Dockerfile helpers the secrets rules share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.inputs.dockerfile import shell_words
from deploysafe.model import Document


def instructions(doc: Document) -> Iterator[tuple[int, dict[str, Any]]]:
    items = doc.data.get("instructions")
    if isinstance(items, list):
        yield from ((i, x) for i, x in enumerate(items) if isinstance(x, dict))


def shipping(doc: Document) -> set[int]:
    st = doc.data.get("stages")
    if not isinstance(st, list):
        return set()
    return {i for i, s in enumerate(st) if isinstance(s, dict) and s.get("ships")}


def pairs(cmd: str, args: str) -> list[tuple[str, str | None]]:
    """ARG/ENV declarations as (name, value or None)."""
    words = shell_words(args)
    if not words:
        return []
    if cmd == "ENV" and "=" not in words[0]:
        # Legacy form: ENV NAME the rest is the value
        rest = args.split(None, 1)
        return [(words[0], rest[1].strip().strip("\"'") if len(rest) > 1 else "")]
    out: list[tuple[str, str | None]] = []
    for w in words:
        name, sep, value = w.partition("=")
        out.append((name, value if sep else None))
    return out
