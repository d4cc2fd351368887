"""A file's lines split once and its text given back without a join: always what
`str.splitlines` and `"\\n".join` give."""

from __future__ import annotations

import pytest

from deploysafe.config import Config
from deploysafe.engine.check import Partial, check_all
from deploysafe.engine.settings import rules_of, settings_for
from deploysafe.engine.sources import load
from deploysafe.model import Target
from deploysafe.textlines import LazyLines, joined, lines_of, may_hold, newlines_only

TEXTS = [
    "",
    "\n",
    "\n\n",
    "a",
    "a\n",
    "a\n\n",
    "a\nb",
    "kind: Pod\nmetadata:\n  name: x\n",
    "windows\r\nlines\r\n",
    "old mac\rlines",
    "form\x0cfeed\x0bvertical\x1cfs\x1dgs\x1ers\x85nel\u2028ls\u2029ps\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_lines_and_text_as_the_standard_calls_give_them(text: str) -> None:
    lines = lines_of(text)
    assert lines == text.splitlines()
    assert lines_of(text) is lines
    assert joined(lines) == "\n".join(text.splitlines())


def test_lines_of_another_text_are_joined() -> None:
    first = lines_of("a\nb\n")
    lines_of("c\n")
    assert joined(first) == "a\nb"
    assert joined(["x", "y"]) == "x\ny"


ODD = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r\n"]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("shape", ["a{}", "a\nb{}", "a{}b\n", "{}", "a\n{}\n", "a{}\n"])
def test_a_text_with_any_other_break_is_joined_as_its_lines(shape: str, odd: str) -> None:
    """A break other than "\\n" at the end, in the middle, alone or beside "\\n"s: the
    text is not its lines joined."""
    text = shape.format(odd)
    lines = lines_of(text)
    assert not newlines_only(text)
    assert joined(lines) == "\n".join(text.splitlines())


@pytest.mark.parametrize("text", ["", "\n", "a", "a\nb", "a\nb\n", "\n\n\n", "a\n\nb\n\n"])
def test_a_text_with_newlines_only(text: str) -> None:
    lines = lines_of(text)
    assert newlines_only(text)
    assert joined(lines) == "\n".join(text.splitlines())
    assert newlines_only(text + "x") is True  # another text, searched as it is


@pytest.mark.parametrize("text", TEXTS + [f"a\n{odd}b\n" for odd in ODD])
def test_lines_split_when_read_are_the_lines(text: str) -> None:
    lazy = LazyLines(text)
    assert joined(lazy) == "\n".join(text.splitlines())
    assert lazy.split is not newlines_only(text)  # joined from the text when it can be
    assert list(lazy) == text.splitlines()
    assert (len(lazy), lazy[:1], lazy == text.splitlines()) == (
        len(text.splitlines()),
        text.splitlines()[:1],
        True,
    )
    assert lazy.split


def test_a_schema_without_secrets_is_never_split() -> None:
    """The text reading of a CRD: its secrets analysis, no object, no finding."""
    props = "".join(f"              field{n}:\n                type: string\n" for n in range(50))
    text = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.io\nspec:\n  versions:\n  - name: v1\n"
        "    schema:\n      openAPIV3Schema:\n        properties:\n          spec:\n"
        "            description: the tokens and secrets it reads.\n"
        "            properties:\n" + props
    )
    s = settings_for(Config(), {})
    result = load(text, "crds/widgets.yaml", s.targets, None)
    (doc,) = result.documents
    assert doc.type is Target.TEXT and isinstance(doc.lines, LazyLines)
    out = Partial()
    check_all(result.documents, s, rules_of(s), out)
    assert out.findings == [] and not doc.lines.split


def test_a_text_is_joined_once_for_all_its_readers() -> None:
    """The text rules of one file each ask for its joined text: one copy, not one each."""
    text = "kind: Pod\nmetadata:\n  name: x\n"
    lazy = LazyLines(text)
    first = joined(lazy)
    assert first == text[:-1]
    assert joined(lazy) is first
    assert joined(lines_of(text)) is first
    other = LazyLines("b\n")
    assert joined(other) == "b"
    assert joined(LazyLines(text)) == text[:-1]  # the last text is another now: anew


# An inline waiver's mark, joined at run time: this file holds none itself.
_MARK = "deploy" + "safe:"


@pytest.mark.parametrize("text", [*TEXTS, f"a\n# {_MARK} ignore[DS201] why\n", _MARK])
@pytest.mark.parametrize("needle", [_MARK, "a", "kind: Pod", "zz"])
def test_may_hold_says_no_only_where_no_line_holds_it(text: str, needle: str) -> None:
    """The text searched once for its lines (split, or not yet) answers as the lines do;
    lines whose text is not at hand may always hold it."""
    held = any(needle in line for line in text.splitlines())
    assert may_hold(lines_of(text), needle) is held
    assert may_hold(LazyLines(text + ""), needle) is held
    assert may_hold(list(text.splitlines()), needle) is True
