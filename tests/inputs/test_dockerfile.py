"""Which files are Dockerfiles; how their instructions read, hostile ones included."""

from __future__ import annotations

import random
import shlex
from pathlib import Path

import pytest

from deploysafe.inputs.dockerfile import is_dockerfile, operands, shell_words
from tests.support.scantools import scan_tree, write_tree
from tests.support.secretgen import fake_github_token


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dockerfile", True),
        ("svc/Containerfile", True),
        ("Dockerfile.dev", True),
        ("dockerfile.prod", True),
        ("api.Dockerfile", True),
        ("src/app/inputs/dockerfile.py", False),  # code about Dockerfiles
        ("Dockerfile.md", False),
        ("dockerfile.json", False),
        ("Dockerfiles/readme", False),
    ],
)
def test_is_dockerfile(name: str, expected: bool) -> None:
    assert is_dockerfile(name) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('["a.txt", "b/", "/dst/"]', (["a.txt", "b/"], "/dst/")),
        # Not an exec form Docker accepts: read as the shell form, as Docker reads it.
        ("[" * 100_000, ([], "[" * 100_000)),
        ("[[" + "]" * 2 + " /dst/", (["[[]]"], "/dst/")),
        ('["a", ' + "[" * 100 + "]" * 100 + "]", (["[a,"], "[" * 100 + "]" * 101)),
    ],
    ids=["exec-form", "deep-unclosed", "nested-shell", "deep-closed"],
)
def test_operands(args: str, expected: tuple[list[str], str]) -> None:
    assert operands(args) == expected


def test_a_deep_copy_line_does_not_hide_the_next_line(tmp_path: Path) -> None:
    token = fake_github_token()
    write_tree(
        tmp_path,
        {"Dockerfile": f"FROM alpine:3.20\nCOPY {'[' * 100_000}\nENV TOKEN={token}\n"},
    )
    report = scan_tree(tmp_path)
    assert report.errors == ()
    assert ("DS301", "Dockerfile", 3) in {(f.rule_id, f.file, f.line) for f in report.findings}


def _shlex_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def test_shell_words_are_shlex_s_words() -> None:
    """Text split without shlex is split as shlex splits it, whatever its characters."""
    rng = random.Random(20)
    alphabet = [*"ab=-./*$ {}", " ", "\t", "\r", "\n", *map(chr, range(9)), "\x0b", "\x0c"]
    alphabet += ["\x1c", "\x1f", "\x7f", "'", '"', "\\", "\x85", "\xa0", "\u2028", "é"]
    texts = ["", " ", "--chown=1:1 src/ /app/", 'a "b c" d', "a\\ b", "COPY ['x', 'y'] /"]
    texts += ["".join(rng.choices(alphabet, k=rng.randrange(12))) for _ in range(5000)]
    for text in texts:
        assert shell_words(text) == _shlex_words(text), repr(text)
