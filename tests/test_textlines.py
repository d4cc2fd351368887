"""A file's lines split once and its text given back without a join: always what
`str.splitlines` and `"\\n".join` give."""

from __future__ import annotations

import pytest

from deploysafe.textlines import joined, lines_of

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
