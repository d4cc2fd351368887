"""Report formats: pure functions of a report that yield text in chunks.

Chunks let the CLI write a report of any size without holding it whole in memory.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring as _encode
from typing import Any, TypeVar

from deploysafe.printable import printable

_MARK = "__deploysafe_stream_here__"
T = TypeVar("T")


def rule_url(rule_id: str) -> str:
    """A rule's page in the repository: where a report that leaves the clone links to."""
    return f"https://github.com/deploysafe/deploysafe/blob/main/docs/rules/{rule_id}.md"


def stream_json(
    doc: Any,
    holder: dict[str, Any],
    key: str,
    items: Iterable[T],
    dump: Callable[[T, str], str] | None = None,
    more: Sequence[tuple[dict[str, Any], str, Iterable[Any]]] = (),
) -> Iterator[str]:
    """`json.dumps(printable_json(doc), indent=2, ensure_ascii=False)` where `holder[key]`
    is the list `items`, each written by `dump(item, indent)` (default `dump_printable`; a
    writer of the same text for one shape is faster), one item at a time; the text is the
    same as dumping the whole document at once. `more`: other lists of the document,
    (holder, key, items), streamed the same way with the default writer."""
    default = functools.partial(dump_printable, keys=Quoted())
    streams: list[tuple[str, Iterable[Any], Callable[[Any, str], str]]] = []
    for n, (where, name, values, write) in enumerate(
        [(holder, key, items, dump or default), *((h, k, v, default) for h, k, v in more)]
    ):
        where[name] = f"{_MARK}{n}"
        streams.append((json.dumps(f"{_MARK}{n}"), values, write))
    text = json.dumps(printable_json(doc), indent=2, ensure_ascii=False)
    at = 0
    for pos, mark, values, write in sorted(
        ((text.index(m), m, v, w) for m, v, w in streams), key=lambda s: s[0]
    ):
        line = text[text.rfind("\n", 0, pos) + 1 : pos]
        ws = line[: len(line) - len(line.lstrip())]
        inner = ws + "  "
        yield text[at:pos] + "["
        # The items' texts are written a batch at a time: a write of each costs more than
        # the text (a report's findings are thousands).
        parts: list[str] = []
        sep, following = "\n" + inner, ",\n" + inner
        for item in values:
            written = write(item, inner)
            if not written.isascii():
                # Apart: in a batch, its wide characters would make the whole batch's
                # text wide, slower to join and to encode.
                yield "".join(parts) + sep
                yield written
                parts = []
            else:
                parts += (sep, written)
            sep = following
            if len(parts) >= _BATCH:
                yield "".join(parts)
                parts = []
        parts.append("]" if sep is not following else "\n" + ws + "]")
        yield "".join(parts)
        at = pos + len(mark)
    yield text[at:] + "\n"


_BATCH = 128  # texts (half of them separators) of the items `stream_json` writes at once


def printable_json(value: Any) -> Any:
    """`value` with every string, keys included, in its printable form: JSON could carry
    controls, but not a file name that is not UTF-8, and every format shows a name alike."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {
            printable(k) if isinstance(k, str) else k: printable_json(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [printable_json(v) for v in value]
    return value


def dump_printable(value: Any, indent: str, keys: Quoted | None = None) -> str:
    """`json.dumps(printable_json(value), indent=2, ensure_ascii=False)` with `indent` before
    every line but the first, in one walk: the standard encoder's indented form runs in
    Python, a generator per level, and printable_json is a second walk; this is what a
    report of many findings spends its output time on. `keys` holds the quoted mapping keys
    from one call to the next (the items of a report share theirs)."""
    return _dump(value, indent, Quoted() if keys is None else keys)


def _dump(value: Any, indent: str, keys: Quoted) -> str:
    kind = type(value)
    if kind is str:
        return quote(value)
    if kind is dict:
        return _object(value, indent, keys)
    if kind is list:
        return _array(value, indent, keys)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return _object(value, indent, keys)
    if isinstance(value, list | tuple):
        return _array(value, indent, keys)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def quote(text: str) -> str:
    """`json.dumps(printable(text), ensure_ascii=False)`: most text is printable and kept
    whole, so it goes straight to the C encoder."""
    out = _encode(text)
    # ASCII text the encoder escaped nothing in holds no control character but DEL: it is
    # printable, known without a second pass over it.
    if len(out) == len(text) + 2 and text.isascii() and "\x7f" not in text:
        return out
    return out if text.isprintable() else _encode(printable(text))


class Quoted(dict[str, str]):
    """`quote` of texts a report repeats (rule titles and fixes, kinds, files): `quoted[text]`
    quotes each once. It starts again past `KEEP` texts, so a large report's unique texts
    are not all held."""

    __slots__ = ()
    KEEP = 4096

    def __missing__(self, text: str) -> str:
        if len(self) >= self.KEEP:
            self.clear()
        out = self[text] = quote(text)
        return out


def _object(value: dict[Any, Any], indent: str, keys: Quoted) -> str:
    if not value:
        return "{}"
    inner = indent + "  "
    parts = []
    for key, item in value.items():
        # The common values inline: this loop is most of a report's output time.
        kind = type(item)
        if kind is str:
            text = quote(item)
        elif kind is int:
            text = int.__repr__(item)
        elif item is None:
            text = "null"
        else:
            text = _dump(item, inner, keys)
        parts.append(f"{keys[key] if type(key) is str else _key(key)}: {text}")
    return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"


def _array(value: list[Any] | tuple[Any, ...], indent: str, keys: Quoted) -> str:
    if not value:
        return "[]"
    inner = indent + "  "
    return (
        "[\n"
        + inner
        + (",\n" + inner).join([_dump(v, inner, keys) for v in value])
        + ("\n" + indent + "]")
    )


def _key(key: Any) -> str:
    """A mapping key as the standard encoder writes it (made printable only when text)."""
    if isinstance(key, str):
        return quote(key)
    if isinstance(key, float):
        return _encode(_float(key))
    if key is True or key is False or key is None:
        return _encode({True: "true", False: "false", None: "null"}[key])
    if isinstance(key, int):
        return _encode(int.__repr__(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)
