"""`toJSON(secrets)`: every secret of the repository handed to one step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from deploysafe.ci import expressions
from deploysafe.ci.yamlci import CiDocument
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k != "if":  # a condition reads secrets, it hands none out
                yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    if not isinstance(doc, CiDocument):
        return
    for path, text in _strings(doc.data, ()):
        for expr in expressions.find(text):
            try:
                tree = expressions.parse(expr.body)
            except expressions.ExpressionError:
                continue
            for node in expressions.walk(tree):
                if (
                    isinstance(node, expressions.Call)
                    and node.name == "tojson"
                    and len(node.args) == 1
                    and isinstance(node.args[0], expressions.Context)
                    and node.args[0].path == ("secrets",)
                ):
                    where = "/".join(str(p) for p in path)
                    yield Violation(
                        path,
                        f"`{where}` expands `toJSON(secrets)`: every secret of the repository "
                        "and organisation reaches this place",
                        offset=doc.source_offset(path, text, expr.start),
                    )
                    break


RULE = Rule(
    id="DS116",
    title="Workflows must not hand every secret to a step (`toJSON(secrets)`)",
    practice=Practice.TRIGGERS,
    severity=Severity.MEDIUM,
    target=Target.GITHUB_WORKFLOW,
    why=(
        "`toJSON(secrets)` serialises every secret the workflow can read (the repository's, "
        "the organisation's, the environment's) into one value. The step, action or reusable "
        "workflow that receives it gets credentials it never needed, and one leak (a log "
        "line, a compromised action) gives all of them away at once."
    ),
    fix="Pass each secret the step needs by name: `env: {NPM_TOKEN: ${{ secrets.NPM_TOKEN }}}`.",
    bad="""\
on: push
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: ./release.sh
        env:
          SECRETS: ${{ toJSON(secrets) }}
""",
    good="""\
on: push
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: ./release.sh
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
""",
    not_reported=(
        "`toJSON(secrets)` inside an `if:` condition (it hands nothing to the step); "
        "`secrets: inherit` for reusable workflows is DS110."
    ),
    references=("zizmor overprovisioned-secrets",),
    check=check,
)
