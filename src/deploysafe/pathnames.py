"""A file's name and suffix from its path as text, the answers `PurePosixPath` gives: asked
several times for every file of a tree, where building a path object costs more than the
question."""

from __future__ import annotations

from pathlib import PurePosixPath


def name_of(path: str) -> str:
    """`PurePosixPath(path).name`."""
    if _odd(path):
        return PurePosixPath(path).name
    return path.rpartition("/")[2]


def _odd(path: str) -> bool:
    """A path that pathlib normalises before naming its parts (`a//b`, `./a`, `a/`)."""
    return (
        path.endswith(("/", "/.")) or "//" in path or "/./" in path or path.startswith("./")
    ) or path in (".", "")


def suffix_of(name: str) -> str:
    """`PurePosixPath(name).suffix` of a file name (no folder): from its last dot, unless
    the dot starts or ends the name."""
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def parent_names(path: str, n: int) -> tuple[str, ...]:
    """The names of the `n` folders above the file, nearest first ("" past the top):
    `PurePosixPath(path).parent.name`, `.parent.parent.name`..."""
    if _odd(path):
        p = PurePosixPath(path)
        return tuple(p.parents[i].name if i < len(p.parents) else "" for i in range(n))
    parts = path.split("/")[-n - 1 : -1]
    return tuple(reversed(parts)) + ("",) * (n - len(parts))
