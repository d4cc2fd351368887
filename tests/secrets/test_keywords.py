"""The one keyword pass of the secrets detector: what each consumer needs, exactly."""

from __future__ import annotations

import pytest

from deploysafe.secrets import keywords as keywords_module
from deploysafe.secrets.keywords import MARKERS, KeywordIndex, name_spans
from deploysafe.secrets.names import KEYWORD_LOWER, NAME_KEYWORDS

TEXTS = [
    "",
    "nothing to see here\n",
    # overlapping token keywords: `api-` and `-us`, `hvs.` and `s.`
    "region: api-us-east\ntoken: hvs.abc\n",
    # a keyword that ends with a line break, and one at the very end of the text
    "kind: config\nusers: []\nxoxb-",
    # credential-name keywords overlapping inside one long key
    "secretoken_" + "a" * 120 + "secretokenpasswd: x\n",
    "authkeycredpwdpassecret tokentoken keykey\n",
]


def _all_ends(low: str, keyword: str) -> list[int]:
    """Every occurrence, overlapping ones too, by the offset of its last character."""
    out, at = [], low.find(keyword)
    while at >= 0:
        out.append(at + len(keyword) - 1)
        at = low.find(keyword, at + 1)
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_token_keywords_every_occurrence(text: str) -> None:
    keywords = ("api-", "-us", "hvs.", "s.", "kind: config\n", "xoxb-", "absent")
    found = KeywordIndex.get(keywords).search(text.lower())
    expected = {k: _all_ends(text, k) for k in keywords if _all_ends(text, k)}
    assert found.tokens == expected


@pytest.mark.parametrize("text", TEXTS)
def test_name_keywords_as_the_regex_finds_them(text: str) -> None:
    """Leftmost, non-overlapping: the spans `KEYWORD_LOWER.finditer` gives."""
    found = KeywordIndex.get(("token:", "s.")).search(text.lower())
    assert found.names == [m.span() for m in KEYWORD_LOWER.finditer(text.lower())]


def test_one_index_per_keyword_set() -> None:
    keywords = ("ghp_", "token:")
    assert KeywordIndex.get(keywords) is KeywordIndex.get(keywords)


def test_offsets_are_characters_in_text_that_is_not_ascii() -> None:
    text = "naïve: é\npassword: s.x\nΩ api-us \udcff token:"
    found = KeywordIndex.get(("s.", "api-", "-us", "token:")).search(text.lower())
    low = text.lower()
    assert found.tokens == {k: _all_ends(low, k) for k in ("s.", "api-", "-us", "token:")}
    assert found.names == [m.span() for m in KEYWORD_LOWER.finditer(low)]


@pytest.mark.parametrize(
    "text",
    [*TEXTS, "url: https://x\nencryptedData:\n", "naïve ://é encrypteddata: ü"],
)
def test_present_is_what_the_text_holds(text: str) -> None:
    """Every keyword and marker the text holds, as a substring search finds them."""
    keywords = ("api-", "-us", "s.", "absent")
    index = KeywordIndex.get(keywords)
    low = text.lower()
    found = index.search(low)
    assert found.present == {p for p in (*keywords, *NAME_KEYWORDS, *MARKERS) if p in low}


@pytest.mark.parametrize("text", ['{"auths": {}}', "AUTH: -----BEGIN x", "nothing"])
def test_markers_asked_for_are_present_as_markers_are(text: str) -> None:
    markers = ('"auth', "ωmega")
    low = text.lower()
    found = KeywordIndex.get((), markers).search(low)
    assert found.present == {p for p in (*NAME_KEYWORDS, *MARKERS, *markers) if p in low}


@pytest.mark.parametrize(
    "text",
    [
        *TEXTS,
        "naïve: é\npassword: s.x\nΩ token:",
        "\u212aey: x\nkey: y",
        "tokenizer keyed passauth",
    ],
)
def test_name_spans_as_the_regex_finds_them(text: str) -> None:
    """The name keywords alone (ASCII or not, a Kelvin sign lowered to `k`): the spans
    `KEYWORD_LOWER.finditer` gives."""
    low = text.lower()
    assert name_spans(low) == [m.span() for m in KEYWORD_LOWER.finditer(low)]


@pytest.mark.parametrize("piece", [1, 3, 5, 16, 64])
def test_a_large_text_searched_in_pieces_finds_what_one_pass_finds(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `PIECE` characters an ASCII text is searched a piece at a time: keywords that
    cross a piece's end, overlap each other or end the text are each found once, in order."""
    text = "".join(TEXTS[2:]) + "password: s.api-us-east\n" * 7 + "tokentoken"
    keywords = ("api-", "-us", "hvs.", "s.", "kind: config\n", "xoxb-", "absent")
    index = KeywordIndex.get(keywords)
    whole = index.search(text.lower())
    monkeypatch.setattr(keywords_module, "PIECE", piece)
    assert len(text) > piece
    assert index.search(text.lower()) == whole
    assert whole.tokens and whole.names
