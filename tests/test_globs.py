"""Path globs of the policy file: one meaning for `exclude`, `secrets.exclude` and
`exceptions[].file`."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.config import Exception_
from deploysafe.config.secrets import SecretsPolicy
from deploysafe.engine.suppress import config_waiver
from deploysafe.globs import any_match, matches
from deploysafe.inputs.discover import discover


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # a bare name: that file or folder at any depth, and what is below it
        ("vendor", "vendor", True),
        ("vendor", "vendor/lib/a.yaml", True),
        ("vendor", "app/vendor/lib/a.yaml", True),
        ("vendor", "vendors/a.yaml", False),
        ("vendor/", "app/vendor/a.yaml", True),
        ("*.md", "README.md", True),
        ("*.md", "docs/guide/intro.md", True),
        ("*.md", "docs/guide.md.yaml", False),
        ("*", "any/thing.yaml", True),
        # with a slash: anchored at the root; `*` stays inside one segment
        ("docs/samples", "docs/samples/a/b.yaml", True),
        ("docs/samples", "x/docs/samples/a.yaml", False),
        ("docs/*", "docs/a.yaml", True),
        ("docs/*", "docs/deep/er/a.yaml", True),  # docs/deep is a folder: all below it
        ("docs/*.yaml", "docs/a.yaml", True),
        ("docs/*.yaml", "docs/deep/a.yaml", False),
        ("charts/*/tests", "charts/web/tests/t.yaml", True),
        ("charts/*/tests", "charts/web/sub/tests/t.yaml", False),
        ("./charts/*/tests", "charts/web/tests/t.yaml", True),
        # `**` is any number of segments, none included
        ("charts/**/tests", "charts/tests/t.yaml", True),
        ("charts/**/tests", "charts/web/sub/tests/t.yaml", True),
        ("charts/**/tests", "charts/web/sub/testsuite/t.yaml", False),
        ("**/secret.yaml", "secret.yaml", True),
        ("**/secret.yaml", "a/b/secret.yaml", True),
        ("docs/**", "docs/a/b.yaml", True),
        ("docs/**", "docsite/a.yaml", False),
        ("**", "a/b/c", True),
        # ? and classes never match the separator
        ("a?b/x", "a/b/x", False),
        ("a?b/x", "acb/x", True),
        ("k8s/[!a]*.yaml", "k8s/b.yaml", True),
        ("k8s/[!a]*.yaml", "k8s/a.yaml", False),
        ("k8s/[ab].yaml", "k8s/b.yaml", True),
        ("k8s/[ab.yaml", "k8s/[ab.yaml", True),  # no closing bracket: a literal `[`
        # regex characters are literal
        ("a+b/(x)", "a+b/(x)/c.yaml", True),
        ("a.b", "axb", False),
    ],
)
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


def test_any_match() -> None:
    assert any_match("app/vendor/a.yaml", ["docs/*", "vendor"]) is True
    assert any_match("app/a.yaml", ["docs/*", "vendor"]) is False
    assert any_match("app/a.yaml", []) is False


PATHS = [
    "charts/web/tests/t.yaml",
    "charts/web/sub/tests/t.yaml",
    "app/vendor/lib.yaml",
    "docs/guide/a.yaml",
    "k8s/deploy.yaml",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("charts/*/tests", ["charts/web/tests/t.yaml"]),
        ("charts/**/tests", ["charts/web/tests/t.yaml", "charts/web/sub/tests/t.yaml"]),
        ("vendor", ["app/vendor/lib.yaml"]),
        ("docs/*", ["docs/guide/a.yaml"]),
    ],
)
def test_exclude_secrets_exclude_and_exceptions_agree(
    tmp_path: Path, pattern: str, expected: list[str]
) -> None:
    for rel in PATHS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("a: 1\n")
    inv = discover([tmp_path], tmp_path, (pattern,))
    kept = sorted(inv.display(f) for f in inv.files)
    assert kept == sorted(set(PATHS) - set(expected))
    policy = SecretsPolicy(exclude=(pattern,))
    assert [p for p in PATHS if policy.excluded(p)] == expected
    exception = Exception_(rule="DS201", reason="reviewed", file=pattern)
    waived = [p for p in PATHS if config_waiver([exception], "DS201", p, "Pod/shop/web")]
    assert waived == expected
