"""Path globs of the policy file: `exclude`, `secrets.exclude` and `exceptions[].file`.

One meaning everywhere, on repository-relative paths with `/` between folders:

- `*` and `?` stay inside one path segment; `[abc]` is a character class;
- `**` as a whole segment is any number of segments, none included (`charts/**/tests`);
- a pattern names a file or a folder, and a folder takes everything below it along
  (`docs/samples` or `docs/samples/` or `docs/*` cover `docs/samples/a/b.yaml`);
- a pattern without `/` is a bare name and matches at any depth (`vendor`, `*.md`).

    matches("charts/web/tests/t.yaml", "charts/*/tests")  -> True
    matches("charts/web/x/tests/t.yaml", "charts/*/tests")  -> False
    matches("charts/web/x/tests/t.yaml", "charts/**/tests")  -> True

Other globs mean something else on purpose and use fnmatch: ref patterns
(`refs/tags/v*` allows `refs/tags/v1/rc`, as git's own ref globs do), namespace globs,
resource globs over `Kind/namespace/name`, `.dockerignore` (Docker's own rules).
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable


def matches(path: str, pattern: str) -> bool:
    """Whether `path` is, or lies below, what `pattern` names."""
    return _compile(pattern).match(path) is not None


def from_base(base: str, path: str) -> str:
    """A path shown from the scan root, named from the policy file's folder (`base`: the
    scan root's path from there, "" when they are one) as the policy's globs name it."""
    return posixpath.normpath(f"{base}/{path}") if base else path


def any_match(path: str, patterns: Iterable[str]) -> bool:
    return any(_compile(p).match(path) is not None for p in patterns)


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    p = pattern.strip().removeprefix("./").strip("/")
    segments = [s for s in p.split("/") if s]
    while segments and segments[-1] == "**":
        segments.pop()  # `docs/**` is `docs`: a folder takes what is below it anyway
    if not segments:
        return re.compile(r"(?s:.*)\Z")  # `**` or `/`: everything
    below = r"(?:/.*)?\Z"
    if len(segments) == 1:
        return re.compile(r"(?s:(?:.*/)?" + _segment(segments[0]) + below + ")")
    parts = []
    for i, s in enumerate(segments):
        last = i == len(segments) - 1
        if s == "**":
            parts.append(r"(?:[^/]+/)*")
        else:
            parts.append(_segment(s) + ("" if last else "/"))
    return re.compile(r"(?s:" + "".join(parts) + below + ")")


def _segment(glob: str) -> str:
    """One path segment's glob as a regex that never crosses `/`."""
    out = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            while i < n and glob[i] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1 if i < n and glob[i] in "!^" else i
            j = j + 1 if j < n and glob[j] == "]" else j
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(r"\[")  # no closing bracket: a literal `[`
                continue
            body = glob[i:j].replace("\\", "\\\\")
            i = j + 1
            if body[:1] in ("!", "^"):
                body = "^/" + body[1:]  # a negated class never matches `/` either
            out.append(f"[{body}]")
        else:
            out.append(re.escape(c))
    return "".join(out)
