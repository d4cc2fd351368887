"""A file's name, suffix and folders from its path as text: what PurePosixPath says. Many
paths held packed: read back as the list they were."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import PurePosixPath

import pytest

from deploysafe import pathnames
from deploysafe.pathnames import Texts, name_of, parent_names, sorted_texts, suffix_of

PATHS = [
    "a/b.yaml",
    "b",
    "a/",
    "a/.",
    "./a/b",
    "a/./b",
    ".env",
    "a//b",
    "/",
    "",
    ".",
    "..",
    "a/..",
    "x.tar.gz",
    "x.",
    "..x",
    ".a.b",
    "a/b/../c",
    "dir/.hidden",
    ".github/workflows/ci.yml",
    "/repo/.github/workflows/ci.yml",
    "/ci.yml",
    "workflows/ci.yml",
    "a/b/c/d",
    "a\\b.yaml",
]


@pytest.mark.parametrize("path", PATHS)
def test_as_pathlib_says(path: str) -> None:
    p = PurePosixPath(path)
    assert name_of(path) == p.name
    assert suffix_of(p.name) == p.suffix
    assert parent_names(path, 2) == tuple(
        p.parents[i].name if i < len(p.parents) else "" for i in range(2)
    )


def _paths(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"repo-{rng.randrange(40):02d}/charts/app{rng.randrange(300)}/templates/{i}-ü.yaml"
        for i in range(n)
    ]


_PACKED = (Texts.LOOSE + 2) * Texts.BLOCK + 17  # enough full blocks to be packed


@pytest.mark.parametrize("n", [0, 1, Texts.BLOCK - 1, Texts.BLOCK, 3 * Texts.BLOCK + 17, _PACKED])
def test_texts_read_back_as_the_list_they_hold(n: int) -> None:
    items = _paths(n)
    texts = Texts(items)
    assert len(texts) == n
    assert texts == items
    assert list(texts) == items
    assert [texts[i] for i in range(n)] == items
    assert [texts[i] for i in reversed(range(n))] == items[::-1]  # out of order too
    for a, b in ((0, n), (5, n - 3), (Texts.BLOCK - 2, 2 * Texts.BLOCK + 3), (n, n + 5)):
        assert texts[a:b] == items[a:b]
    assert texts[::7] == items[::7]
    if n:
        assert texts[-1] == items[-1]
    with pytest.raises(IndexError):
        texts[n]
    assert pickle.loads(pickle.dumps(texts)) == items


def test_texts_keep_a_name_that_is_not_utf8() -> None:
    name = os.fsdecode(b"odd-\xff.yaml")  # as a walk gives it
    texts = Texts([name] * _PACKED)
    assert texts[0] == texts[Texts.BLOCK] == texts[-1] == name


def test_texts_pack_their_blocks_once_they_are_more_than_a_few() -> None:
    texts = Texts(_paths(Texts.LOOSE * Texts.BLOCK))
    assert not any(isinstance(b, bytes) for b in texts._blocks)  # a small tree's: as they are
    texts.extend(_paths(Texts.BLOCK))
    assert all(isinstance(b, bytes) for b in texts._blocks)


def test_sorted_texts_merge_runs_and_find_each(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _paths(5000)
    for run in (100_000, 300):  # one run, and many merged
        monkeypatch.setattr(pathnames, "_RUN", run)
        texts = sorted_texts(items + items[:50], unique=True)
        assert texts == sorted(set(items))
        assert all(texts[texts.find(s)] == s for s in items[::13])
        assert texts.find("") == texts.find("zzz") == texts.find(items[0] + "x") == -1
    assert sorted_texts(["b", "a", "b"]) == ["a", "b", "b"]
