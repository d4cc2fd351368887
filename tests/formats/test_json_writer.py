"""The JSON writers' fast paths write what the standard encoder writes of the printable form:
`json.dumps(printable_json(x), indent=2, ensure_ascii=False)`, for text of every kind."""

from __future__ import annotations

import enum
import json
from dataclasses import replace
from typing import Any

import pytest

from deploysafe.formats import Quoted, dump_printable, printable_json, quote, stream_json
from deploysafe.formats.jsonfmt import finding_dict, finding_json
from deploysafe.model import (
    Finding,
    Level,
    Practice,
    PssRef,
    Resource,
    SetBy,
    Severity,
    Suppression,
)

# Every character JSON escapes (C0 controls, quote, backslash), DEL and C1 controls, lone
# surrogates (a byte that was not UTF-8 held by surrogateescape, and one no file name holds),
# bidi and line separators, the non-characters XML forbids, text kept though Python does not
# call it printable (a no-break space, an unassigned code point), and plain non-ASCII.
TEXTS = [
    "",
    "plain text, 'quoted'",
    "".join(chr(c) for c in range(0x20)),
    '"\\/',
    "\x7f\x80\x85\x9f",
    "bad\udcff\udc80name.yaml",
    "\ud800\udfff",
    "\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069",
    "\ufffe\uffff",
    "no-break\xa0space \u0378",
    "café ünïcode 日本 😀",
    "tab\tnew\nline\rreturn\x1b[31m",
]


def _standard(value: Any, indent: str) -> str:
    text = json.dumps(printable_json(value), indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + indent)


def _finding(text: str, **changes: Any) -> Finding:
    f = Finding(
        rule_id="DS201",
        title=f"title {text}",
        practice=Practice.ENVIRONMENT,
        severity=Severity.HIGH,
        file=f"dir/{text}.yaml",
        line=3,
        column=7,
        pointer=f"/spec/{text}",
        resource=Resource(f"Kind{text}", f"ns{text}", f"name{text}"),
        message=f"message {text}",
        fix=f"fix {text}",
    )
    return replace(f, **changes)


def _variants(text: str) -> list[Finding]:
    return [
        _finding(text),
        _finding(text, resource=None, suppressed=Suppression("config", f"why {text}", text)),
        _finding(text, resource=Resource(text, None, None), suppressed=Suppression(text, text)),
        _finding(
            text,
            pss=PssRef(Level.BASELINE, f"check{text}"),
            set_by=(SetBy(f"values{text}.yaml", 4, 5, f"key.{text}"), SetBy("v.yaml", 1, 1, "")),
            renders=(f"helm {text}", "kustomize overlays/prod"),
            also=("DS509", text),
            occurrence=2,
            severity=Severity.CRITICAL,
        ),
    ]


@pytest.mark.parametrize("text", TEXTS)
def test_quote_is_the_standard_encoders_printable_string(text: str) -> None:
    assert quote(text) == _standard(text, "")
    assert Quoted()[text] == quote(text)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("indent", ["", "    "])
def test_a_finding_is_written_as_its_dict_is(text: str, indent: str) -> None:
    quoted = Quoted()
    for f in _variants(text):
        expected = _standard(finding_dict(f), indent)
        assert dump_printable(finding_dict(f), indent) == expected
        assert finding_json(f, indent) == expected
        # again, from the texts the first call quoted
        assert finding_json(f, indent, quoted) == expected


def test_quoted_texts_start_again_past_their_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Quoted, "KEEP", 2)
    quoted = Quoted()
    assert [quoted[t] for t in ("a", "b", "c\n", "a")] == ['"a"', '"b"', r'"c\\n"', '"a"']
    assert len(quoted) <= 2


class _Text(str):
    pass


class _Number(enum.IntEnum):
    SEVEN = 7


@pytest.mark.parametrize(
    "value",
    [
        {"s": _Text("sub\nclass"), "n": _Number.SEVEN, "b": True, "f": False, "x": None},
        [_Text("a"), _Number.SEVEN, 1.0, -0.0, float("nan"), True, None, (), {}],
        {_Text("k\x00"): {"": [["\udcff"]]}, "": ""},
        {text: [text, {text: text}] for text in TEXTS},
    ],
)
def test_the_generic_writer_takes_subclasses_and_every_text(value: Any) -> None:
    assert dump_printable(value, "") == _standard(value, "")
    assert dump_printable(value, "  ") == _standard(value, "  ")


def test_what_json_cannot_write_is_refused() -> None:
    with pytest.raises(TypeError):
        dump_printable({"a": {1, 2}}, "")
    with pytest.raises(TypeError):
        dump_printable({(1, 2): 1}, "")


def test_streamed_items_sharing_keys_are_written_as_one_dump() -> None:
    items = [{text: {"k": text, text: [text]}, "k": 1} for text in TEXTS] * 2
    doc: dict[str, Any] = {"a\n": None, "items": None}
    out = "".join(stream_json(doc, doc, "items", iter(items)))
    doc["items"] = items
    assert out == _standard(doc, "") + "\n"


@pytest.mark.parametrize("wide", [(), (0,), (63,), (64, 65), (0, 127, 128, 199)])
@pytest.mark.parametrize("count", [1, 63, 64, 65, 200])
def test_streamed_items_written_in_batches_are_one_dump(count: int, wide: tuple[int, ...]) -> None:
    """Past a batch of items, and with items of wide characters (written apart) anywhere."""
    items = [{"n": n, "text": "caf\xe9 \u2028" if n in wide else "plain"} for n in range(count)]
    doc: dict[str, Any] = {"items": None, "after": 1}
    parts = list(stream_json(doc, doc, "items", iter(items)))
    doc["items"] = items
    assert "".join(parts) == _standard(doc, "") + "\n"
    assert len(parts) <= 3 + 2 * len(wide) + count // 64  # not a write an item


@pytest.mark.parametrize(
    ("first", "second"),
    [([], []), ([{"a": 1}], []), ([], ["x\u2028", {"b": [1, None]}]), ([1, 2], [{"k\x07": "v"}])],
)
def test_several_lists_streamed_are_the_document_dumped_at_once(
    first: list[Any], second: list[Any]
) -> None:
    """Lists streamed wherever they sit (one before the other, one nested deeper) make
    the text of the whole document."""
    inner: dict[str, Any] = {"before": "b", "list": None, "after": [3]}
    doc: dict[str, Any] = {"early": None, "run": inner, "late": {"n": 1}}
    whole = {"early": second, "run": {**inner, "list": first}, "late": {"n": 1}}
    text = "".join(
        stream_json(doc, inner, "list", iter(first), more=[(doc, "early", iter(second))])
    )
    assert text == json.dumps(printable_json(whole), indent=2, ensure_ascii=False) + "\n"
