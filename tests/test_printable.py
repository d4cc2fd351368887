"""`printable` keeps text that Python calls printable as it is, after one pass in C: sound
only while every character it escapes is one that Python does not call printable."""

from __future__ import annotations

from deploysafe import printable as p


def test_every_character_escaped_is_one_python_does_not_call_printable() -> None:
    everything = "".join(map(chr, range(0x110000)))
    escaped = p._hostile().findall(everything)
    assert len(escaped) > 2000  # controls, surrogates, bidi and line separators
    assert not [c for c in escaped if c.isprintable()]


def test_text_is_kept_or_escaped_as_before() -> None:
    assert p.printable("name: web-01 ünïcødé ✓") == "name: web-01 ünïcødé ✓"
    assert p.printable("a\nb\x1b[31m\u202e\udcff") == "a\\nb\\x1b[31m\\u202e\\xff"
    assert p.printable("") == ""
