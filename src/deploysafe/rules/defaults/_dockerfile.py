"""What the Dockerfile defaults rules share: stages, and ARG defaults substituted into
FROM and USER the way BuildKit does (`${NAME}`, `$NAME`, `${NAME:-default}`)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from deploysafe.frozen import record
from deploysafe.inputs.dockerfile import shell_words
from deploysafe.model import Document

_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-+])(?P<word>[^}]*))?\}|(?P<bare>[A-Za-z_]\w*))"
)


def instructions(doc: Document) -> Iterator[tuple[int, Mapping[str, Any]]]:
    items = doc.data.get("instructions")
    for i, x in enumerate(items if isinstance(items, list) else []):
        if isinstance(x, dict):
            yield i, x


def defaults(cmd: str, args: str) -> dict[str, str]:
    """The values an ARG or ENV instruction sets (`ARG A=1 B`, `ENV A=1`, `ENV A 1`)."""
    words = shell_words(args)
    if cmd == "ENV" and words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return {k: v for k, sep, v in (w.partition("=") for w in words) if sep}


@record
class Stage:
    """A build stage of a Dockerfile: its index, name, base as written, and whether it
    ships (the last stage, and the stages it is built `FROM` in turn)."""

    index: int
    name: str | None
    base: str  # as written
    ships: bool


def stages(doc: Document) -> list[Stage]:
    raw = doc.data.get("stages")
    out = []
    for i, s in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(s, dict):
            name = s.get("name")
            out.append(
                Stage(i, str(name) if name else None, str(s.get("base", "")), bool(s.get("ships")))
            )
    return out


def global_args(doc: Document) -> dict[str, str]:
    """ARGs declared before the first FROM with a default: what FROM lines may use."""
    out: dict[str, str] = {}
    for _, inst in instructions(doc):
        if inst.get("cmd") == "FROM":
            break
        if inst.get("cmd") == "ARG":
            out.update(defaults("ARG", str(inst.get("args", ""))))
    return out


def substitute(text: str, args: Mapping[str, str]) -> str | None:
    """`text` with its variables replaced; None when one has no known value."""
    unknown = False

    def value(m: re.Match[str]) -> str:
        nonlocal unknown
        name, op, word = m.group("braced") or m.group("bare"), m.group("op"), m.group("word")
        if op is not None and op.endswith("+"):
            return word if args.get(name) else ""
        if args.get(name):
            return args[name]
        if op is not None:
            return str(word)
        if name in args:
            return ""
        unknown = True
        return ""

    out = _VAR.sub(value, text)
    return None if unknown else out


def stage_instructions(doc: Document, stage: int) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, inst in instructions(doc):
        if inst.get("stage") == stage:
            yield i, inst
