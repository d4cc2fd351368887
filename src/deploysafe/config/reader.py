"""Typed reads from the parsed policy file, each problem recorded with file, line and key.

A section parser reads values through a `Reader`. A wrong value raises `Invalid` (from
`Reader.fail`), which abandons the item being read; `Reader.item()` catches it, records the
problem and lets the parser go on with the next item, so one load reports every problem of
the file. Unknown keys are recorded without abandoning anything.

A problem never quotes a secret: the file may hold a credential pasted under the wrong key.
Values are quoted with `quoted` (short, not secret- or random-looking, else described by
type and length), key names the same way, and every message is redacted as findings are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from deploysafe.errors import ConfigError
from deploysafe.frozen import record
from deploysafe.model import KeyPath
from deploysafe.secrets.redact import quotable, quoted, redacted

__all__ = ["Invalid", "Problem", "Reader", "did_you_mean", "quotable", "quoted", "type_name"]

T = TypeVar("T")


@record
class Problem:
    file: str
    line: int
    key: str  # dotted, e.g. environments.prod.render
    message: str
    column: int = 1  # orders problems that share a line

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class Invalid(Exception):
    """Raised by `Reader.fail`: the item being read cannot be used."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def did_you_mean(word: str, known: Collection[str]) -> str:
    """`; did you mean `x`?` when a known word is close to `word` (ignoring case), else ''."""
    import difflib  # for a wrong key only: every command reads the policy file

    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), sorted(by_lower), n=1)
    return f"; did you mean `{by_lower[close[0]]}`?" if close else ""


class Reader:
    """Reads typed values out of the parsed file and collects what is wrong with them."""

    def __init__(self, file: str, positions: Mapping[KeyPath, tuple[int, int]]) -> None:
        self.file = file
        self.positions = positions
        self.problems: list[Problem] = []

    def where(self, path: KeyPath) -> tuple[int, int]:
        """(line, column) of `path`, or of its nearest parent the file spells out."""
        p = path
        while p and p not in self.positions:
            p = p[:-1]
        return self.positions.get(p, (1, 1))

    def line(self, path: KeyPath) -> int:
        return self.where(path)[0]

    def problem(self, path: KeyPath, message: str) -> Problem:
        key = ".".join(_key_part(x) for x in path) or "<top level>"
        line, column = self.where(path)
        return Problem(self.file, line, key, redacted(message), column)

    def fail(self, path: KeyPath, message: str) -> Invalid:
        """The problem as an exception: raise it to abandon the current item."""
        return Invalid(self.problem(path, message))

    def note(self, path: KeyPath, message: str) -> None:
        """Record a problem and go on."""
        self.problems.append(self.problem(path, message))

    @contextmanager
    def item(self) -> Iterator[None]:
        """Read one item: a problem raised inside is recorded, and reading goes on after."""
        try:
            yield
        except Invalid as exc:
            self.problems.append(exc.problem)

    def error(self) -> ConfigError | None:
        """Every recorded problem, in file order, as one error (None when there is none)."""
        if not self.problems:
            return None
        ordered = sorted(dict.fromkeys(self.problems), key=lambda p: (p.line, p.column))
        return ConfigError("\n".join(str(p) for p in ordered))

    # ------------------------------------------------------------ values

    def mapping(
        self, value: Any, path: KeyPath, allowed: Collection[str] | None = None
    ) -> dict[str, Any]:
        """A mapping (nothing reads as empty). Unknown keys are recorded and left out."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type_name(value)}")
        if allowed is None:
            return value
        out = {}
        for k, v in value.items():
            if k in allowed:
                out[k] = v
                continue
            known = ", ".join(sorted(allowed))
            self.note(
                (*path, str(k)), f"unknown key (known keys: {known}){did_you_mean(str(k), allowed)}"
            )
        return out

    def string(self, value: Any, path: KeyPath) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {type_name(value)}")
        return value

    def strings(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {type_name(value)}")
        return tuple(self.string(v, (*path, i)) for i, v in enumerate(value))

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {type_name(value)}")
        return value

    def date(self, value: Any, path: KeyPath) -> dt.date:
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(path, "expected a date YYYY-MM-DD")

    def convert(self, fn: Callable[[Any], T], value: Any, path: KeyPath) -> T:
        try:
            return fn(value)
        except (ValueError, TypeError, KeyError) as exc:
            message = str(exc)
            if isinstance(value, str) and value and not quotable(value):
                shown = quoted(value)
                message = message.replace(repr(value), shown).replace(value, shown)
            raise self.fail(path, message) from None


def _key_part(part: str | int) -> str:
    text = str(part)
    return text if isinstance(part, int) or quotable(text) else quoted(text)


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
