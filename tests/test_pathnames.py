"""A file's name, suffix and folders from its path as text: what PurePosixPath says."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from deploysafe.pathnames import name_of, parent_names, suffix_of

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
