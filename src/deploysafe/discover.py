"""Walk the scan paths: which files to read, which folders to render, what to skip."""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploysafe.model import ScanError

YAML_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__"})


@dataclass(slots=True)
class Inventory:
    """What discovery found, relative to the scan root."""

    root: Path
    files: list[Path] = field(default_factory=list)  # absolute paths
    charts: list[Path] = field(default_factory=list)  # top-level chart folders
    kustomizations: list[Path] = field(default_factory=list)  # every kustomization folder
    errors: list[ScanError] = field(default_factory=list)

    def display(self, path: Path) -> str:
        return display_path(path, self.root)


def display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def link_display(link: Path, root: Path) -> str:
    """A symlink's own repo-relative name (display_path names its target)."""
    parent = display_path(link.parent, root)
    return link.name if parent == "." else f"{parent}/{link.name}"


def _git_visible(folder: Path) -> set[Path] | None:
    """Files git does not ignore under `folder`, or None when it is not in a work tree."""
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    base = folder.resolve()
    return {base / os.fsdecode(p) for p in out.stdout.split(b"\0") if p}


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    for pat in patterns:
        p = pat.rstrip("/")
        if fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p + "/*"):
            return True
        # A bare name ("vendor") matches that folder or file anywhere.
        if "/" not in p and any(fnmatch.fnmatchcase(part, p) for part in rel.split("/")):
            return True
    return False


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Sequence[str] = (),
    *,
    every_file: bool = False,
) -> Inventory:
    """Files to scan: YAML/JSON only, or `every_file` when some rule reads any text file."""
    inv = Inventory(root)
    seen: set[Path] = set()
    chart_dirs: set[Path] = set()
    for start in paths:
        if not start.exists() and not start.is_symlink():
            inv.errors.append(ScanError(start.as_posix(), None, "no such file or folder"))
            continue
        if not start.is_dir():  # a file, or a pipe/device the reader then reports
            _add_file(inv, start, start.resolve().parent, seen, exclude, every=True)
            continue
        tree = start.resolve()
        visible = _git_visible(start)
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            d = Path(dirpath)
            rel_dir = inv.display(d)
            dirnames[:] = sorted(
                n
                for n in dirnames
                if n not in SKIP_DIRS and not _excluded(f"{rel_dir}/{n}".lstrip("./"), exclude)
            )
            for n in dirnames:  # not followed (followlinks=False); say so when they leave
                _outside_link(inv, d / n, tree)
            if "Chart.yaml" in filenames:
                chart_dirs.add(d.resolve())
            if any(n in KUSTOMIZATION_NAMES for n in filenames):
                inv.kustomizations.append(d)
            for name in sorted(filenames):
                f = d / name
                if visible is not None and f.resolve() not in visible and not f.is_symlink():
                    continue
                _add_file(inv, f, tree, seen, exclude, every=every_file)
    # Only charts that are not inside another chart are rendered; subcharts come with them.
    for c in sorted(chart_dirs):
        if not any(p in chart_dirs for p in c.parents):
            inv.charts.append(c)
    return inv


def _outside_link(inv: Inventory, link: Path, tree: Path) -> None:
    """Report a folder symlink that leaves the scanned tree (os.walk does not follow it)."""
    if not link.is_symlink():
        return
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        return
    if not target.is_relative_to(tree):
        inv.errors.append(
            ScanError(
                link_display(link, inv.root),
                None,
                f"symlink points outside the scanned tree ({target}); skipped",
            )
        )


def _add_file(
    inv: Inventory,
    f: Path,
    tree: Path,
    seen: set[Path],
    exclude: Sequence[str],
    *,
    every: bool,
) -> None:
    if not every and not f.name.endswith(YAML_SUFFIXES):
        return
    rel = inv.display(f)
    if _excluded(rel, exclude):
        return
    if f.is_symlink():
        name = link_display(f, inv.root)
        try:
            target = f.resolve(strict=True)
        except (OSError, RuntimeError):
            inv.errors.append(ScanError(name, None, "broken symlink"))
            return
        if not target.is_relative_to(tree):
            inv.errors.append(
                ScanError(
                    name, None, f"symlink points outside the scanned tree ({target}); skipped"
                )
            )
            return
        real = target
    else:
        real = f.resolve()
    if real in seen:
        return
    seen.add(real)
    inv.files.append(f)
