"""`${{ }}` expressions nested past GitHub's limit: a parse error for the rules, an input
error naming the file and line for the user; the rest of the workflow is still judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.ci import expressions
from tests.support.scantools import scan_tree, write_tree

DEPTH = 50


def nested(depth: int, inner: str = "github.event.issue.title") -> str:
    return "(" * depth + inner + ")" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(DEPTH),
        "!" * (DEPTH - 1) + "x",
        "fromJSON(" * (DEPTH - 1) + "x" + ")" * (DEPTH - 1),
        " || ".join(["x"] * DEPTH),
        "x" + ".a" * 1_000 + "[0]" * 1_000,
    ],
    ids=["parentheses", "negations", "calls", "chain", "properties"],
)
def test_fifty_levels_parse(body: str) -> None:
    tree = expressions.parse(body)
    assert sum(1 for _ in expressions.walk(tree)) >= 1


@pytest.mark.parametrize(
    "body",
    [
        nested(DEPTH + 1),
        nested(1_000),
        "!" * 1_000 + "x",
        "fromJSON(" * 1_000 + "x" + ")" * 1_000,
        " || ".join(["x"] * 5_000),
        " && ".join(["x"] * (DEPTH + 1)),
        "fromJSON(x)" + ".a" * 1_000,
        "a[" * 1_000 + "0" + "]" * 1_000,
    ],
    ids=[
        "parentheses-51",
        "parentheses",
        "negations",
        "calls",
        "or-chain",
        "and-chain-51",
        "access",
        "nested-index",
    ],
)
def test_deeper_is_a_parse_error(body: str) -> None:
    with pytest.raises(expressions.ExpressionTooDeep) as raised:
        expressions.parse(body)
    assert str(raised.value) == "nested deeper than 50 levels"


def test_a_deep_expression_is_an_input_error_and_the_rest_is_judged(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".github/workflows/w.yml": (
                "on: issues\n"
                "permissions: {}\n"
                "jobs:\n"
                "  a:\n"
                "    runs-on: ubuntu-latest\n"
                "    steps:\n"
                f"      - run: echo ${{{{ {nested(1_000)} }}}}\n"
                "      - run: echo ${{ github.event.issue.body }}\n"
            )
        },
    )
    report = scan_tree(tmp_path)
    assert [(e.file, e.line, e.kind, e.message) for e in report.errors] == [
        (
            ".github/workflows/w.yml",
            7,
            "input",
            "expression nested deeper than 50 levels: GitHub refuses it, and deploysafe "
            "cannot judge it",
        )
    ]
    assert [(f.rule_id, f.line) for f in report.findings] == [("DS102", 8)]
