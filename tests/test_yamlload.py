"""yamlload.load_data keeps parse_all's caps: data that walks deep or wide is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploysafe import yamlload
from deploysafe.yamlload import (
    Parsed,
    TooDeep,
    TooLarge,
    YamlProblem,
    document_spans,
    first_node,
    load_data,
    parse_all,
    parsed_once,
    read_capped,
    top_level_kind,
)


def test_load_data_reads_plain_data_and_shared_aliases() -> None:
    assert load_data("a: &x [1, {b: 2}]\nc: *x\n") == {"a": [1, {"b": 2}], "c": [1, {"b": 2}]}
    assert load_data("") is None


def test_load_data_refuses_deep_nesting() -> None:
    with pytest.raises(TooDeep, match=r"^nesting deeper than 256 levels \(line 1\)$"):
        load_data("x: " + "[" * 990 + "]" * 990 + "\n")


def test_load_data_refuses_an_alias_bomb() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    with pytest.raises(TooDeep, match=r"^aliases expand to too many nodes \(an alias bomb\?\)$"):
        load_data("\n".join(lines) + "\n")


def test_read_capped_stops_at_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("x" * 101)
    assert read_capped(path, 101) == "x" * 101
    with pytest.raises(TooLarge, match=r"^larger than the 100-byte cap \(max_file_size\)$"):
        read_capped(path, 100)


STREAMS = [
    "",
    "\n \n",
    "a: 1\n",
    "---\na: 1\n--- \nb: 2\n---\n\n---\n",
    "a: 1\n---\n\u2028\n---\nb: 2",
    "---x\na: 1\n---\tc\n",
    "a: 1\n----\n---\r\nb: 2\n-----\n---",
]


@pytest.mark.parametrize("text", STREAMS)
def test_document_spans_are_the_non_blank_documents(text: str) -> None:
    """What splitting at `---` lines gives, without its blank documents (a text without
    one is one document, whatever it holds)."""
    import re

    parts = re.split(r"(?<=\n)(?=---(?:[ \t\r\n]|$))|^(?=---(?:[ \t\r\n]|$))", text)
    expected = [p for p in parts if p and not p.isspace()] if len(parts) > 1 else [text]
    assert [text[a:b] for a, b in document_spans(text)] == expected
    if text.isascii():  # searched in its bytes
        assert [text[a:b] for a, b in document_spans(text, text.encode())] == expected


def test_top_level_kind_of_one_document_in_a_stream() -> None:
    crd = "apiVersion: v1\nkind: CustomResourceDefinition\nspec: {}\n"
    text = f"kind: Pod\n---\n{crd}---\nkind: Service\n"
    (a, b), (c, d), (e, f) = document_spans(text)
    assert top_level_kind(text, a, b) == "Pod"
    assert top_level_kind(text, c, d) == "CustomResourceDefinition"
    assert top_level_kind(text, e, f) == "Service"
    # read as one document, the stream has two top-level `kind` keys
    assert top_level_kind(text) is None
    assert top_level_kind(f'"x": 1\n{crd}') is None


_CRD = "apiVersion: v1\nkind: CustomResourceDefinition\n"


@pytest.mark.parametrize(
    "later",
    [
        *("kind: Pod", "kinds: x", '"kind": Pod', "'kind': Pod", "? kind\n: Pod", "*k : Pod"),
        *("!!str kind: Pod", "&k kind: Pod", "{kind: Pod}", "[kind]: Pod"),
    ],
)
@pytest.mark.parametrize("before", ["", "description: naïve ✓ 𝄞 \udcff\n"])
@pytest.mark.parametrize("brk", ["\n", "\r\n"])
def test_a_later_line_that_may_hold_a_kind_key_leaves_the_kind_in_doubt(
    later: str, before: str, brk: str
) -> None:
    """Whatever the text before that line (not ASCII, a lone surrogate) and its breaks."""
    text = f"{_CRD}{before}spec:\n  names: {{}}\n{later}\n"
    # the same line indented, or the document's last line without a break, is no key
    indented = text.replace(later, " " + later.replace("\n", "\n "))
    last = f"{_CRD}{before}spec: {later.replace(chr(10), ' ')}"
    crd = "CustomResourceDefinition"
    for doc, kind in [(text, None), (indented, crd), (last, crd)]:
        doc = doc.replace("\n", brk)
        assert top_level_kind(doc) == kind
        if doc.isascii():  # searched in its bytes
            assert top_level_kind(doc, encoded=doc.encode()) == kind


@pytest.mark.parametrize("brk", ["\r", "\x85", "\u2028", "\u2029"])
def test_a_later_kind_key_after_a_rarer_line_break_leaves_the_kind_in_doubt(brk: str) -> None:
    assert top_level_kind(f"{_CRD}spec: {{}}{brk}kind: Pod\n") is None
    assert top_level_kind(f"{_CRD}spec: {{}}{brk}spec: Pod\n") == "CustomResourceDefinition"


def test_a_later_kind_key_past_the_document_s_end_is_not_read() -> None:
    text = f"{_CRD}spec: {{}}\n---\nkind: Pod\n"
    (a, b), _ = document_spans(text)
    assert top_level_kind(text, a, b, odd=False) == "CustomResourceDefinition"
    assert top_level_kind(text, a, b + 8, odd=False) is None


def test_a_text_parsed_to_its_end_is_not_parsed_again() -> None:
    """A kustomization file is read as itself and as Kubernetes objects: one parse."""
    text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a]\n"
    with parsed_once(text):
        first = list(parse_all(text))
        assert list(parse_all(text)) == first
        assert all(a is b for a, b in zip(parse_all(text), first, strict=True))
        assert next(iter(parse_all(text, 3))).line == 4  # another offset: parsed anew
    assert next(iter(parse_all(text))) is not first[0]  # nothing kept past it
    # stopped before its end, a parse is not kept
    other = "a: 1\n---\nb: 2\n"
    with parsed_once(other):
        next(iter(parse_all(other)))
        again = list(parse_all(other))
        assert [p.data for p in again if isinstance(p, Parsed)] == [{"a": 1}, {"b": 2}]
        assert next(iter(parse_all(other))) is again[0]


def test_plain_values_get_pyyaml_s_types_whatever_their_first_character() -> None:
    """Most values skip the resolvers by their first character; the types are PyYAML's."""
    values = [
        c + rest
        for c in map(chr, range(33, 127))
        if c not in "#,[]{}|>'\"%@`:?-&*!"
        for rest in ("", "1", "x", "rue", "ull", "es", "0", "1.5", "2024-01-01")
    ]
    # `=` alone is PyYAML's value tag, which no constructor of the safe loader makes.
    values = [v for v in values if v != "="] + ["-1", "-.inf", "~", "yes", "No", "<<x", "0x1F"]
    # Integers, booleans and nulls are made without the constructor where they can be.
    values += ["007", "1_000", "+5", "123456789012345678901234", "0", "OFF", "!!bool on"]
    values += ["!!int 0o17", "!!int 42", "!!null x", "null", "Null", "!!int ' 7'", "''"]
    text = "".join(f"k{i}: {v}\n" for i, v in enumerate(values))
    (doc,) = parse_all(text)
    assert isinstance(doc, Parsed)
    assert doc.data == yaml.safe_load(text)
    assert [type(v) for v in doc.data.values()] == [type(v) for v in yaml.safe_load(text).values()]


def test_a_local_tag_is_read_as_kubernetes_reads_it() -> None:
    """`!name` tags of other tools (CloudFormation's `!Ref`, mkdocs' `!ENV`): the value as
    written, a string, whatever it looks like; a collection as if untagged."""
    text = "a: !ENV SITE_URL\nb: !Ref 12\nc: !If [x, !Sub '${y}']\nd: !obj {k: !bool true}\n"
    (doc,) = parse_all(text)
    assert isinstance(doc, Parsed)
    assert doc.data == {"a": "SITE_URL", "b": "12", "c": ["x", "${y}"], "d": {"k": "true"}}


def test_a_bad_value_of_yaml_s_own_types_is_still_a_problem() -> None:
    for text, problem in [
        ("a: !!int twelve\n", "bad value: not a valid '!!int' value"),
        ("a: !!python/name:os.system\n", "could not determine a constructor for the tag"),
    ]:
        (doc,) = parse_all(text)
        assert isinstance(doc, YamlProblem)
        assert problem in str(doc)


def test_an_alias_repeats_its_data_but_not_its_positions() -> None:
    """An aliased node is placed once, where it is anchored; a text without `&` has no
    alias, and every node of it is placed."""
    text = "base: &b {x: 1}\nuse: *b\nmerged:\n  <<: *b\n  y: 2\nlist: [*b, q]\n"
    (doc,) = parse_all(text)
    assert isinstance(doc, Parsed)
    assert doc.data == yaml.safe_load(text)
    assert doc.positions == {
        (): (1, 1),
        ("base",): (1, 1),
        ("base", "x"): (1, 11),
        ("use",): (2, 1),
        ("merged",): (3, 1),
        ("merged", "y"): (5, 3),
        ("list",): (6, 1),
        ("list", 0): (1, 7),
        ("list", 1): (6, 12),
    }
    (plain,) = parse_all("a: {x: 1}\nb: [x, {y: 2}]\n")
    assert isinstance(plain, Parsed)
    assert plain.positions == {
        (): (1, 1),
        ("a",): (1, 1),
        ("a", "x"): (1, 5),
        ("b",): (2, 1),
        ("b", 0): (2, 5),
        ("b", 1): (2, 8),
        ("b", 1, "y"): (2, 9),
    }
    (bad,) = parse_all("a: *nowhere\n")  # an alias with no anchor is the parser's error
    assert isinstance(bad, YamlProblem)


@pytest.mark.parametrize(
    "keys",
    [
        ["a", "b", "a"],
        ["a", "a", "a", "b"],
        ["x", "'x'", '"x"', "y"],
        ["a", "'1'", "2", "'2'", "b", "a"],
        ["a", "true", "'true'", "1", "'1'", "1.0", "null", "'null'", "b"],
    ],
)
def test_a_mapping_of_string_keys_reads_as_the_general_case_reads_it(keys: list[str]) -> None:
    """A mapping's keys are checked for repeats without a table of fields until one is not
    a string; a non-string key first sends every key to the general case."""
    fast = "m:\n" + "".join(f"  {k}: {i}\n" for i, k in enumerate(keys))
    general = "m:\n  7: first\n" + "".join(f"  {k}: {i}\n" for i, k in enumerate(keys))
    (a,), (b,) = parse_all(fast), parse_all(general)
    assert isinstance(a, Parsed) and isinstance(b, Parsed)
    assert {k: v for k, v in b.data["m"].items() if k != 7} == a.data["m"]
    assert list(b.data["m"])[1:] == list(a.data["m"])
    assert [(ln - 1, msg) for ln, msg in b.warnings] == list(a.warnings)
    under = {p: (ln - 1, c) for p, (ln, c) in b.positions.items() if len(p) == 2 and p[1] != 7}
    assert under == {p: pos for p, pos in a.positions.items() if len(p) == 2}


def test_a_kept_tree_is_the_one_the_parse_composed() -> None:
    """A workflow's YAML 1.2 reading walks the nodes its Kubernetes reading composed."""
    text = "on: push\njobs:\n  a: {runs-on: x}\n"
    with parsed_once(text, keep_tree=True):
        assert first_node(text) is not first_node(text)  # not parsed yet: composed each time
        list(parse_all(text))
        node = first_node(text)
        assert node is first_node(text)
        assert node is not None and node.start_mark.line == 0
        assert first_node(text[:8]) is not None  # another text: composed anew
    with parsed_once(text):  # not asked to keep it
        list(parse_all(text))
        assert first_node(text) is not first_node(text)
    assert not yamlload._Shared.first  # nothing kept past it
    for empty in ("", "# a comment\n"):
        with parsed_once(empty, keep_tree=True):
            list(parse_all(empty))
            assert yamlload._Shared.first == (None,)
            assert first_node(empty) is None


def test_a_kept_tree_has_the_tags_and_marks_of_a_tree_composed_alone() -> None:
    text = "base: &b {x: 1, 'y': yes}\nother:\n  <<: *b\n  z: !custom [1.5, ~, on]\n"
    with parsed_once(text, keep_tree=True):
        list(parse_all(text))
        kept = first_node(text)
    alone = yaml.compose(text, Loader=yaml.CSafeLoader)  # what CI files were read with
    assert _shape(kept) == _shape(alone)


def _shape(node: Any) -> Any:
    marks = (node.tag, node.start_mark.index, node.end_mark.index, getattr(node, "style", None))
    if isinstance(node, yaml.MappingNode):
        return marks, [(_shape(k), _shape(v)) for k, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return marks, [_shape(v) for v in node.value]
    return marks, node.value
