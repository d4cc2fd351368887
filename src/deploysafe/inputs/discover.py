"""Walk the scan paths: which files to read, which folders to render, what to skip."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploysafe.globs import any_match
from deploysafe.host.git import Git, GitError
from deploysafe.model import ScanError

YAML_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "__pycache__"})


@dataclass
class Inventory:
    """What discovery found: paths are shown relative to the scan root, `root`, and typed by
    their place in their repository (`place`), whichever folder of it was scanned."""

    root: Path
    # The repository's top level (the scan root outside a work tree), real and absolute.
    top: Path = field(default=Path("/"))
    in_repo: bool = False
    files: list[Path] = field(default_factory=list)  # real absolute paths
    charts: list[Path] = field(default_factory=list)  # top-level chart folders
    kustomizations: list[Path] = field(default_factory=list)  # every kustomization folder
    errors: list[ScanError] = field(default_factory=list)
    # Render roots found above a scanned path (a template or a folder inside a chart or a
    # kustomize folder): the scanned paths inside each one, real and absolute.
    focus: dict[Path, list[Path]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._prefix = str(self.root.resolve()).rstrip("/") + "/"
        self._top_prefix = str(self.top).rstrip("/") + "/"

    def display(self, path: Path) -> str:
        # Paths from the walk are already real: a string prefix saves a resolve() per file.
        text = str(path)
        if text.startswith(self._prefix):
            return text[len(self._prefix) :]
        return display_path(path, self.root)

    def place(self, path: Path) -> str:
        """A real path's place in its repository: the path from the top level, which tells a
        workflow (`.github/workflows/*.yml`) from any YAML file. Outside the scanned
        repository, its name as shown."""
        text = str(path)
        if text.startswith(self._top_prefix):
            return text[len(self._top_prefix) :]
        return self.display(path)


def display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def link_display(link: Path, root: Path) -> str:
    """A symlink's own repo-relative name (display_path names its target)."""
    parent = display_path(link.parent, root)
    return link.name if parent == "." else f"{parent}/{link.name}"


def repo_top(folder: Path) -> Path | None:
    """The real top level of the git work tree `folder` is in, or None outside one."""
    out = Git(folder).out("rev-parse", "--show-toplevel")
    return Path(out).resolve() if out else None


def base_of(root: Path) -> tuple[Path, bool]:
    """Where files are placed from: the top level of the work tree `root` is in (and True),
    or `root` itself outside one (and False)."""
    real = root.resolve()
    folder = real if real.is_dir() else real.parent
    top = repo_top(folder)
    return (top, True) if top is not None else (folder, False)


def _walk(top: Path) -> Iterator[tuple[Path, list[str], dict[str, bool], list[str]]]:
    """Like os.walk without following links: (folder, subfolders (prunable), files with
    whether each is a symlink, folder symlinks). One scandir per folder, no stat per file."""
    stack = [top]
    while stack:
        d = stack.pop()
        dirs: list[str] = []
        files: dict[str, bool] = {}
        links: list[str] = []
        try:
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_dir(follow_symlinks=False):
                            dirs.append(e.name)
                        elif e.is_symlink():
                            if e.is_dir():  # follows the link: where does it lead?
                                links.append(e.name)
                            else:
                                files[e.name] = True
                        else:
                            files[e.name] = False
                    except OSError:
                        files[e.name] = False  # the reader reports what is wrong with it
        except OSError:
            continue
        dirs.sort()
        yield d, dirs, dict(sorted(files.items())), links
        stack.extend(d / n for n in reversed(dirs))


def _git_visible(folder: Path) -> set[str] | None:
    """Files git does not ignore under `folder`, or None when it is not in a work tree."""
    git = Git(folder)
    try:
        listed = git.run("ls-files", "-z", "-c", "-o", "--exclude-standard")
        # A folder the user names explicitly is scanned even when git ignores it as a whole.
        if git.run("check-ignore", "-q", ".", check=False).ok:
            return None
    except GitError:
        return None
    base = str(folder.resolve())
    return {os.path.join(base, os.fsdecode(p)) for p in listed.stdout.split(b"\0") if p}


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Sequence[str] = (),
    *,
    every_file: bool = False,
) -> Inventory:
    """Files to scan: YAML/JSON only, or `every_file` when some rule reads any text file.
    Paths are shown relative to `root`, and placed relative to `base_of(root)`."""
    paths = list(paths)
    inv = Inventory(root, *base_of(root))
    seen: set[Path] = set()
    chart_dirs: set[Path] = set()
    for start in paths:
        if not start.exists() and not start.is_symlink():
            inv.errors.append(ScanError(start.as_posix(), None, "no such file or folder"))
            continue
        _render_roots_above(inv, start, chart_dirs)
        if not start.is_dir():  # a file, or a pipe/device the reader then reports
            _add_file(inv, start, start.resolve().parent, seen, exclude, every=True)
            continue
        tree = start.resolve()
        visible = _git_visible(tree)
        for d, dirnames, filenames, links in _walk(tree):
            rel_dir = inv.display(d)
            dirnames[:] = [
                n
                for n in dirnames
                if n not in SKIP_DIRS
                and not any_match(f"{rel_dir}/{n}".removeprefix("./"), exclude)
            ]
            for n in links:  # folder symlinks are not followed; say so when they leave
                _outside_link(inv, d / n, tree)
            if "Chart.yaml" in filenames:
                chart_dirs.add(d)
            if any(n in KUSTOMIZATION_NAMES for n in filenames):
                inv.kustomizations.append(d)
            for name, is_link in filenames.items():
                f = d / name
                if visible is not None and not is_link and str(f) not in visible:
                    continue
                _add_file(inv, f, tree, seen, exclude, every=every_file, is_link=is_link)
    # Only charts that are not inside another chart are rendered; subcharts come with them.
    for c in sorted(chart_dirs):
        if not any(p in chart_dirs for p in c.parents):
            inv.charts.append(c)
    inv.kustomizations = list(dict.fromkeys(inv.kustomizations))
    # A render root inside a scanned folder is scanned whole.
    walked = [s.resolve() for s in paths if s.is_dir()]
    inv.focus = {
        r: starts for r, starts in inv.focus.items() if not any(r.is_relative_to(w) for w in walked)
    }
    return inv


def _render_roots_above(inv: Inventory, start: Path, chart_dirs: set[Path]) -> None:
    """A path inside a chart or a kustomize folder is scanned through that render root, as
    the user deploys it: every chart above it (the outermost is rendered, subcharts come
    with it) and the nearest kustomization folder, up to the repository's top level (an
    unpacked chart outside a work tree: as far up as it goes)."""
    real = start.resolve()
    if inv.in_repo and not real.is_relative_to(inv.top):
        return
    folder = real if real.is_dir() else real.parent
    # A folder start finds its own Chart.yaml and kustomization in the walk.
    above = [folder, *folder.parents] if not real.is_dir() else list(folder.parents)
    kustomize_found = real.is_dir() and any((real / n).is_file() for n in KUSTOMIZATION_NAMES)
    for d in above:
        if inv.in_repo and not d.is_relative_to(inv.top):
            break
        if (d / "Chart.yaml").is_file():
            chart_dirs.add(d)
            inv.focus.setdefault(d, []).append(real)
        if not kustomize_found and any((d / n).is_file() for n in KUSTOMIZATION_NAMES):
            kustomize_found = True
            if d not in inv.kustomizations:
                inv.kustomizations.append(d)
            inv.focus.setdefault(d, []).append(real)


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
    is_link: bool | None = None,
) -> None:
    if not every and not f.name.endswith(YAML_SUFFIXES):
        return
    rel = inv.display(f)
    if any_match(rel, exclude):
        return
    if is_link is None:
        is_link = f.is_symlink()
    if is_link:
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
        real = f if f.is_absolute() else f.resolve()
    if real in seen:
        return
    seen.add(real)
    inv.files.append(real)
