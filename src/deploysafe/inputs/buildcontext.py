"""What a Dockerfile's build context sends to the builder: the credential files in it that
`.dockerignore` does not exclude.

Rules are pure functions of a Document, so these facts are gathered from disk when the
Dockerfile is loaded (`deploysafe.inputs.dockerfile.build`) and kept in the document's data. The
context is the Dockerfile's own directory (what `docker build .` next to it sends). The walk
is bounded and deterministic: entries in name order, at most MAX_ENTRIES of them; symlinks
are never followed (COPY copies a link, not its target); VCS folders, dependency folders
and virtualenvs are not entered; only the subtrees some COPY/ADD reads are walked.

`.dockerignore` follows moby/patternmatcher as BuildKit uses it: patterns are relative to
the context root (a leading `/` is dropped, paths are cleaned), `*` and `?` stop at `/`,
`**` spans folders, a pattern that matches a folder excludes everything below it, `!`
re-includes, the last matching line wins, `#` starts a comment. A `<Dockerfile>.dockerignore`
next to the Dockerfile takes the place of `.dockerignore`, as in BuildKit.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from deploysafe.frozen import record
from deploysafe.secrets.files import content_test, credential_file

MAX_ENTRIES = 20_000  # directory entries looked at per Dockerfile
MAX_LISTED = 50  # credential files kept in the document (a finding names a few)
_HEAD_BYTES = 64 * 1024  # read of a file whose name alone does not decide
_IGNORE_MAX_BYTES = 1024 * 1024
# Never entered: version control, installed dependencies, caches. (A virtualenv is also
# recognised by its pyvenv.cfg, whatever its name.)
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
_GLOB = re.compile(r"[*?\[]")


# ---------------------------------------------------------------- .dockerignore


@record
class _Pattern:
    """One line of an ignore file, as a regex over context-relative paths."""

    regex: re.Pattern[str]
    reinclude: bool  # a `!` line


def _clean(pattern: str) -> str:
    """Go's filepath.Clean, then a leading `/` dropped (ignorefile.ReadAll)."""
    p = posixpath.normpath(pattern)
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    return p[1:] if len(p) > 1 and p.startswith("/") else p


def _translate(pattern: str) -> str | None:
    """A cleaned pattern as a regex for re.fullmatch; None if it is malformed."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(?:.*/)?")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 < n:
                out.append(re.escape(pattern[i + 1]))
                i += 1
            else:
                out.append(r"\\")
        elif c == "[":
            end = pattern.find("]", i + 1)
            body = pattern[i + 1 : end] if end != -1 else ""
            negated = body.startswith("^")
            body = body[1:] if negated else body
            if not body:
                return None  # an unclosed or empty class: BuildKit rejects the pattern
            chars = "".join(ch if ch == "-" else re.escape(ch) for ch in body)
            out.append(f"[{'^' if negated else ''}{chars}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@record
class DockerIgnore:
    """A `.dockerignore` file's patterns, in order: the last that matches a path decides."""

    patterns: tuple[_Pattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        out = []
        for raw in text.removeprefix("\ufeff").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            reinclude = line.startswith("!")
            if reinclude:
                line = line[1:].strip()
                if not line:  # a lone `!`: BuildKit rejects the file; the line means nothing
                    continue
            regex = _translate(_clean(line))
            if regex is None:
                continue
            try:
                out.append(_Pattern(re.compile(regex, re.DOTALL), reinclude))
            except re.error:
                continue
        return cls(tuple(out))

    @property
    def reincludes(self) -> bool:
        return any(p.reinclude for p in self.patterns)

    def excluded(self, path: str) -> bool:
        """Is `path` (relative to the context root, `/`-separated) left out of the context?
        As MatchesOrParentMatches: a pattern hits the path or one of its parent folders."""
        parts = path.split("/")
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        excluded = False
        for p in self.patterns:
            if p.reinclude != excluded:
                continue  # only a `!` line can change an exclusion, and vice versa
            if p.regex.fullmatch(path) or any(p.regex.fullmatch(d) for d in parents):
                excluded = not p.reinclude
        return excluded


# ---------------------------------------------------------------- sources


def normalise_source(source: str) -> str | None:
    """A COPY/ADD source as a path relative to the context root ("" = the whole context),
    or None when it does not come from the context (a URL, a git repository)."""
    if "://" in source or source.startswith("git@"):
        return None
    # Sources cannot leave the context; a leading `/` means its root.
    return posixpath.normpath("/" + source).lstrip("/")


def walk_root(source: str) -> str:
    """The folder a (normalised) source reads below: its part before any wildcard."""
    parts = source.split("/") if source else []
    fixed = []
    for part in parts:
        if _GLOB.search(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def _roots(sources: Iterable[str]) -> list[str]:
    """The outermost folders to walk, sorted."""
    out: list[str] = []
    for root in sorted(set(sources)):
        if not any(root == r or root.startswith(r + "/") or r == "" for r in out):
            out.append(root)
    return out


# ---------------------------------------------------------------- the walk


@record
class Exposure:
    """The credential files a build context sends to the builder."""

    ignore_file: str | None  # the ignore file in force, by name
    credentials: tuple[str, ...]  # context-relative paths the context sends, sorted
    complete: bool  # False when the walk stopped at MAX_ENTRIES
    # Sources named like a credential file whose content holds none (a `*.pem` CA bundle)
    cleared: tuple[str, ...] = ()

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ignore": self.ignore_file,
            "credentials": list(self.credentials),
            "complete": self.complete,
        }
        if self.cleared:
            data["cleared"] = list(self.cleared)
        return data


# Paths below the context are joined as text: a Dockerfile's context is looked at a few
# times (its ignore files, each folder walked), and pathlib parses every path it makes.


def _ignore_file(context: str, dockerfile: str) -> tuple[str | None, DockerIgnore]:
    for name in (f"{dockerfile}.dockerignore", ".dockerignore"):
        path = os.path.join(context, name)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue
            with open(path, "rb") as fh:
                raw = fh.read(_IGNORE_MAX_BYTES)
        except OSError:
            continue
        return name, DockerIgnore.parse(raw.decode("utf-8", errors="replace"))
    return None, DockerIgnore()


def _real_dir(context: str, rel: str) -> bool:
    """Is `rel` a folder of the context, reached without a symlink?"""
    path = context
    for part in rel.split("/") if rel else []:
        path = os.path.join(path, part)
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                return False
        except OSError:
            return False
    return True


def _holds_credential(path: str, entry: os.DirEntry[str]) -> bool:
    if not credential_file(path):
        return False
    test = content_test(entry.name)
    if test is None:
        return True
    try:
        with open(entry.path, "rb") as fh:
            return test.search(fh.read(_HEAD_BYTES)) is not None
    except OSError:
        return False


def _cleared(context: str, source: str) -> bool:
    """A source file named like a credential file whose content shows it holds none."""
    name = source.rsplit("/", 1)[-1]
    test = content_test(name)
    if not source or test is None or not credential_file(source):
        return False
    path = os.path.join(context, source)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            return test.search(fh.read(_HEAD_BYTES)) is None
    except OSError:
        return False


def _entries(folder: str) -> list[os.DirEntry[str]] | None:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return None


def _walk(
    context: str, root: str, ignore: DockerIgnore, budget: list[int]
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(context-relative path, entry) of the regular files below `root` the context keeps,
    depth first in name order; spends `budget[0]` entries."""
    stack = [root]
    while stack:
        rel = stack.pop()
        entries = _entries(os.path.join(context, rel) if rel else context)
        if entries is None:
            continue
        if rel and any(e.name == "pyvenv.cfg" for e in entries):
            continue  # a virtualenv under another name
        folders = []
        for e in entries:
            budget[0] -= 1
            if budget[0] < 0:
                return
            path = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                if e.name in SKIP_DIRS:
                    continue
                if not ignore.reincludes and ignore.excluded(path):
                    continue  # nothing below can come back
                folders.append(path)
            elif e.is_file(follow_symlinks=False) and not ignore.excluded(path):
                yield path, e
        stack.extend(reversed(folders))


def exposure(context: Path, dockerfile: str, sources: Iterable[str]) -> Exposure:
    """The credential files below the given normalised COPY/ADD sources that the context
    (the folder `context`, with `dockerfile` in it) would send to the builder."""
    folder = os.fspath(context)
    ignore_name, ignore = _ignore_file(folder, dockerfile)
    budget = [MAX_ENTRIES]
    found: set[str] = set()
    for root in _roots(walk_root(s) for s in sources):
        if not _real_dir(folder, root):
            continue
        found.update(p for p, e in _walk(folder, root, ignore, budget) if _holds_credential(p, e))
        if budget[0] < 0:
            break
    listed = tuple(sorted(found)[:MAX_LISTED])
    cleared = tuple(sorted(s for s in set(sources) if _cleared(folder, s)))
    return Exposure(ignore_name, listed, budget[0] >= 0, cleared)
