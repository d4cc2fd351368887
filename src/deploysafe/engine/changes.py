"""`scan --changed-since REF` (pull request mode): the files a change touched, and which
findings it made.

A finding is the change's when it is on a line the change added or rewrote, when a Helm
values line that sets its value is, or when it is in an object that lost lines (a removed
`runAsNonRoot: true` makes a finding on a line nobody touched). A render in which a changed
file shapes every object (values, helpers, Chart.yaml, a kustomization, a patch) may have
changed any of them: all of its findings are the change's.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import field
from pathlib import Path

from deploysafe.config.render import ChartSettings
from deploysafe.errors import UsageError
from deploysafe.frozen import record
from deploysafe.host.git import FileChange, changes_since
from deploysafe.inputs.discover import repo_top
from deploysafe.model import Finding


@record
class Changes:
    """The files changed since `ref` in the work tree at `top`, by real absolute path."""

    ref: str
    base: str  # the commit id of the merge base of `ref` and HEAD
    top: Path
    files: Mapping[Path, FileChange] = field(default_factory=dict)

    def paths(
        self, under: Sequence[Path], charts: Mapping[Path, ChartSettings] | None = None
    ) -> list[Path]:
        """What a scan of the changes inside the paths `under` (files or folders) starts
        from: the changed files, and the charts (by folder) whose values files the policy
        names (`charts`: `render.charts`) when one of those changed."""
        starts = {u.resolve() for u in under}

        def inside(p: Path) -> bool:
            return p in starts or any(d in starts for d in p.parents)

        fed = [
            chart
            for chart, settings in (charts or {}).items()
            if chart.is_dir() and any(v.path in self.files for v in settings.values)
        ]
        return [p for p in sorted(self.files) + sorted(fed) if inside(p)]

    def made(self, root: Path, whole: Collection[str]) -> Callable[[Finding], bool]:
        """Whether a finding (its files shown from `root`) is the change's; `whole` names
        the renders whose every object may have changed."""
        real = root.resolve()

        @functools.cache  # per scan: the files may change between scans
        def touched(path: Path) -> tuple[tuple[int, int], ...]:
            """The line spans of the file's objects that lost lines."""
            c = self.files.get(path)
            removed = sorted(c.removed) if c is not None else []
            return tuple(
                (lo, hi)
                for lo, hi in _objects(path)
                if bisect.bisect_right(removed, hi) > bisect.bisect_left(removed, lo)
            )

        def change_of(shown: str) -> FileChange | None:
            return self.files.get((real / shown).resolve())

        def made(f: Finding) -> bool:
            if any(r in whole for r in f.renders):
                return True
            if any(
                (c := change_of(s.file)) is not None and (c.whole or s.line in c.lines)
                for s in f.set_by
            ):
                return True
            c = change_of(f.file)
            if c is None:
                return False
            if c.whole or f.line < 1 or f.line in c.lines:
                return True
            return bool(c.removed) and any(
                lo <= f.line <= hi for lo, hi in touched((real / f.file).resolve())
            )

        return made


def changed_since(folder: Path, ref: str) -> Changes:
    """The changes of the work tree `folder` is in since `ref` (UsageError outside one, or
    when `ref` is not a commit of it)."""
    start = folder if folder.is_dir() else folder.parent
    top = repo_top(start)
    if top is None:
        raise UsageError(
            f"--changed-since needs a git work tree: {folder.as_posix()} is not in one"
        )
    base, changed = changes_since(top, ref)
    return Changes(ref, base, top, {(top / c.path).resolve(): c for c in changed})


def _objects(path: Path) -> tuple[tuple[int, int], ...]:
    """The line spans of a YAML stream's documents; the whole file for anything else (a
    Helm template, a Dockerfile, a file that does not parse)."""
    import yaml

    whole = ((1, 1 << 30),)
    try:
        text = path.read_text(encoding="utf-8-sig")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spans = []
        for node in yaml.compose_all(text, Loader=loader):
            if node is None:
                continue
            end = node.end_mark.line + (0 if node.end_mark.column == 0 else 1)
            spans.append((node.start_mark.line + 1, max(end, node.start_mark.line + 1)))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return whole
    return tuple(spans) or whole
