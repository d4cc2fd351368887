"""Every keyword the secrets detector asks about, found in one pass over a file's text.

Two consumers: the token formats' prefilter (which keywords occur, and on which lines) and
the credential-settings pass (where a name keyword such as `pass` or `token` starts a key).
One DFA over both keyword sets reads the lowercased text at hundreds of MB/s, so a file
with no hit costs about one byte scan; a Python regex or a trie walked per character costs
several times that, and most of a repository's bytes (CRD schemas, dashboards) hold no hit.
"""

from __future__ import annotations

from typing import ClassVar

from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind

from deploysafe.frozen import record
from deploysafe.secrets.names import KEYWORD_LOWER, NAME_KEYWORDS

# Substrings the detector only asks whether a text holds: found in the same pass, where a
# `str.find` each would be one more scan of every byte (`:` is on every line of YAML).
# (`build-arg`: DS324 reads a text for build arguments only when it holds one.)
MARKERS = ("://", "encrypteddata:", "-----begin ", "build-arg")
_NOTHING: frozenset[str] = frozenset()
# A larger ASCII text is searched a piece of this many characters at a time: its encoded copy
# whole would be as large as the text (a CRD's MBs), in a worker that holds the text and its
# lowercase already. (Each piece's hits are made again at their place in the text, about a tenth
# of the search's instructions: only texts this large pay it.)
PIECE = 1 << 20


@record
class Keywords:
    """The keywords and markers one text holds, and where."""

    # token keyword -> offset of the last character of each occurrence (overlapping ones
    # included), ascending
    tokens: dict[str, list[int]]
    # (start, end) of the name keywords as `KEYWORD_LOWER.finditer` finds them: leftmost,
    # non-overlapping
    names: list[tuple[int, int]]
    # Every keyword and marker that occurs, overlapping ones included
    present: frozenset[str]


class KeywordIndex:
    """The automaton for one set of token keywords plus the name keywords (built once per
    process and keyword set)."""

    built: ClassVar[dict[tuple[tuple[str, ...], tuple[str, ...]], KeywordIndex]] = {}

    def __init__(self, keywords: tuple[str, ...], markers: tuple[str, ...] = ()) -> None:
        """`markers`: more lowercase substrings to tell the presence of, besides `MARKERS`."""
        tokens = frozenset(k for k in keywords if k)
        self.patterns = sorted(tokens | set(NAME_KEYWORDS) | set(MARKERS) | set(markers))
        self.token = [p in tokens for p in self.patterns]
        # The regex tries its alternatives in order: the rank decides a tie at one start.
        self.rank = [NAME_KEYWORDS.index(p) if p in NAME_KEYWORDS else -1 for p in self.patterns]
        # Over UTF-8 bytes: the library's own text search keeps an 8-byte offset per
        # character of the text, where the encoded copy costs one byte.
        self.auto = BytesAhoCorasick(
            [p.encode() for p in self.patterns], implementation=Implementation.DFA
        )
        self.longest = max(map(len, self.patterns))

    @classmethod
    def get(cls, keywords: tuple[str, ...], markers: tuple[str, ...] = ()) -> KeywordIndex:
        found = cls.built.get((keywords, markers))
        if found is None:
            found = cls.built[keywords, markers] = KeywordIndex(keywords, markers)
        return found

    def search(self, low: str) -> Keywords:
        """The keywords in `low` (text already lowercased; offsets are `low`'s)."""
        ascii = low.isascii()  # then byte offsets are character offsets
        if ascii and len(low) > PIECE:
            hits = self._pieces(low)
        else:
            data = low.encode("ascii") if ascii else low.encode("utf-8", "surrogatepass")
            hits = self.auto.find_matches_as_indexes(data, overlapping=True)
            if hits and not ascii:
                hits = _in_characters(data, hits)
        if not hits:
            return Keywords({}, [], _NOTHING)  # about half of all texts: no keyword at all
        tokens: dict[str, list[int]] = {}
        names: list[tuple[int, int, int]] = []
        patterns, token, rank = self.patterns, self.token, self.rank
        for i, start, end in hits:
            if token[i]:
                found = tokens.get(patterns[i])
                if found is None:
                    tokens[patterns[i]] = [end - 1]
                else:
                    found.append(end - 1)
            if rank[i] >= 0:
                names.append((start, rank[i], end))
        present = frozenset(map(patterns.__getitem__, {hit[0] for hit in hits}))
        return Keywords(tokens, _leftmost(names) if names else [], present)

    def _pieces(self, low: str) -> list[tuple[int, int, int]]:
        """The hits of an ASCII text searched `PIECE` characters at a time, each piece with
        as many more as a keyword can run past it: a hit is taken from the piece it starts
        in (so one keyword's hits still come in order)."""
        hits: list[tuple[int, int, int]] = []
        more = self.longest - 1
        find = self.auto.find_matches_as_indexes
        for at in range(0, len(low), PIECE):
            data = low[at : at + PIECE + more].encode("ascii")
            hits += [(i, at + a, at + b) for i, a, b in find(data, overlapping=True) if a < PIECE]
        return hits


# The name keywords alone, leftmost-first in their order (the regex alternation's
# semantics): so few patterns are searched with SIMD, where a regex tries every position.
_NAMES = BytesAhoCorasick([k.encode() for k in NAME_KEYWORDS], matchkind=MatchKind.LeftmostFirst)


def name_spans(low: str) -> list[tuple[int, int]]:
    """(start, end) of the name keywords in `low` (text already lowercased) as
    `KEYWORD_LOWER.finditer` finds them: for a text searched for nothing else."""
    if not low.isascii():  # byte offsets would not be character offsets
        return [m.span() for m in KEYWORD_LOWER.finditer(low)]
    return [(start, end) for _, start, end in _NAMES.find_matches_as_indexes(low.encode("ascii"))]


def _leftmost(hits: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(start, rank, end) hits reduced to what a regex scan finds: from left to right, the
    first alternative that matches at a start, then on from its end."""
    out: list[tuple[int, int]] = []
    last = 0
    for start, _, end in sorted(hits):
        if start >= last:
            out.append((start, end))
            last = end
    return out


def _in_characters(data: bytes, hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(pattern, start, end) in UTF-8 bytes to the same in characters. A match of a UTF-8
    pattern starts and ends on character boundaries, so the text between two of them decodes
    on its own; read once, in order."""
    at: dict[int, int] = {}
    pos = chars = 0
    for off in sorted({o for _, start, end in hits for o in (start, end)}):
        chars += len(data[pos:off].decode("utf-8", "surrogatepass"))
        at[off], pos = chars, off
    return [(i, at[start], at[end]) for i, start, end in hits]
